/**
 * The HashKernel kernel substrate: physical memory as 4 KiB frames and 2 MiB superpages, a tree
 * of containers with quotas, and isolation domains whose memory is revoked when they fail and
 * which restart. Every map the kernel keeps is a HashKernel table.
 *
 * <p>The substrate hands domains segments of its frame pool re-scoped to the domain's own arena
 * ({@code MemorySegment.reinterpret}, a restricted method): on the module path pass
 * {@code --enable-native-access=io.hashkernel.kernel}, on the class path
 * {@code --enable-native-access=ALL-UNNAMED}.
 */
// requires-automatic: Agrona and JCTools have no module-info; they are used inside only.
@SuppressWarnings("requires-automatic")
module io.hashkernel.kernel {
    requires transitive io.hashkernel.table;
    requires io.hashkernel.numa;
    requires org.agrona;
    requires org.jctools.core;
    requires io.hashkernel.pm;

    exports io.hashkernel.kernel;
    exports io.hashkernel.kernel.kv;
}
