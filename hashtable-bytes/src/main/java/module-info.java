/**
 * A concurrent map from byte strings to byte strings ({@link io.hashkernel.bytes.ConcurrentBytesMap}):
 * records in off-heap slabs, a HashKernel {@code long → long} table as the index from a seeded
 * 64-bit hash of the key to the record.
 *
 * <p>No restricted FFM calls.
 */
module io.hashkernel.bytes {
    requires transitive io.hashkernel.table;

    exports io.hashkernel.bytes;
}
