package io.hashkernel.bench;

/**
 * One implementation under test, seen through the two calls the workloads make. htbench runs each
 * implementation in its own JVM, where these calls are monomorphic and inline as in user code.
 */
interface Subject extends AutoCloseable {
    /** The value of {@code key}, or {@link Keys#MISSING}. */
    long get(long key);

    /** Maps {@code key} to {@code value}. */
    void put(long key, long value);

    /** Whether {@link #getAll}/{@link #putAll} overlap their keys (the workloads then call them). */
    default boolean batched() {
        return false;
    }

    /** {@code values[i] = get(keys[i])} for {@code i < n}. */
    default void getAll(long[] keys, long[] values, int n) {
        for (int i = 0; i < n; i++) {
            values[i] = get(keys[i]);
        }
    }

    /** {@code put(keys[i], values[i])} for {@code i < n}. */
    default void putAll(long[] keys, long[] values, int n) {
        for (int i = 0; i < n; i++) {
            put(keys[i], values[i]);
        }
    }

    /**
     * Waits until this thread's writes are applied (a map that applies writes later, such as the
     * partitioned table, needs it; others return at once). Each worker calls it after its writes.
     */
    default void sync() {
    }

    /** Number of entries it holds now. */
    long size();

    /** Off-heap bytes held, or -1 where the memory is heap (measured as heap growth). */
    long offHeapBytes();

    /** Bytes of its memory backed by huge pages now, or -1 where unknown (heap maps). */
    default long hugePageBytes() {
        return -1;
    }

    /**
     * The memory its lookups read, for the memory-limit probe beside a workload (random lines of
     * the very pages the map uses), or null where the map has no one region (heap maps, maps of
     * several tables).
     */
    default java.lang.foreign.MemorySegment limitRegion() {
        return null;
    }

    /** Where the memory lives, for the report. */
    String memory();

    @Override
    void close();
}
