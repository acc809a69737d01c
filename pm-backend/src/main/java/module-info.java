/**
 * Durable HashKernel tables: a {@code long → long} table mapped from a file, whose acknowledged
 * writes survive a process crash and, in the durable modes, a power cut
 * ({@link io.hashkernel.pm.PersistentLongLongTable}); and the drills that check it
 * ({@link io.hashkernel.pm.PowerCutDrill}, {@link io.hashkernel.pm.KillDrill}).
 *
 * <p>The table is HashKernel's own ({@code io.hashkernel.table}): this module adds the file,
 * the commit protocol and recovery, not a second table. No restricted FFM calls.
 */
module io.hashkernel.pm {
    requires transitive io.hashkernel.table;
    requires jdk.nio.mapmode;

    exports io.hashkernel.pm;
}
