/**
 * The HashKernel tables: off-heap, DRAMHiT-style concurrent hash maps from {@code long} keys to
 * {@code long} values ({@code io.hashkernel.table}), and the SPI through which a table receives
 * its memory ({@code io.hashkernel.table.spi}).
 *
 * <p>The API names one type of another HashKernel module, {@code PrefetchStrategy} (a table's
 * prefetch option), so that module is read transitively; the memory, NUMA and idling machinery
 * underneath is not part of the API.
 */
// requires-automatic: Agrona has no module-info and is used inside only; module: the qualified
// export names io.hashkernel.pm, which is built after this module.
@SuppressWarnings({"requires-automatic", "module"})
module io.hashkernel.table {
    requires io.hashkernel.numa;
    requires transitive io.hashkernel.prefetch;
    requires org.agrona;
    // Optional at run time: the vector line compare runs only where the module is loaded.
    requires static jdk.incubator.vector;

    exports io.hashkernel.table;
    exports io.hashkernel.table.spi;
    // Layout, adoption of existing memory and slot offsets, for the persistent backend only.
    exports io.hashkernel.table.internal to io.hashkernel.pm;
}
