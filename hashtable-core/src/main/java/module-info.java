/**
 * The HashKernel table: an off-heap, lock-free, DRAMHiT-style hash map from {@code long} keys to
 * {@code long} values, and the SPI through which it receives its memory.
 */
module io.hashkernel.table {
    requires transitive io.hashkernel.numa;
    requires transitive io.hashkernel.prefetch;

    exports io.hashkernel.table;
    exports io.hashkernel.table.spi;
}
