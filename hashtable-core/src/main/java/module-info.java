/**
 * The HashKernel table: an off-heap, lock-free, DRAMHiT-style hash map from {@code long} keys to
 * {@code long} values, and the SPI through which it receives its memory.
 */
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"}) // Agrona has no module-info; its IdleStrategy is in the partitioned table API
module io.hashkernel.table {
    requires transitive io.hashkernel.numa;
    requires transitive io.hashkernel.prefetch;
    requires transitive org.agrona;
    // Optional at run time: the vector line compare runs only where the module is loaded.
    requires static jdk.incubator.vector;

    exports io.hashkernel.table;
    exports io.hashkernel.table.spi;
}
