package io.hashkernel.prefetch;

import java.lang.foreign.MemorySegment;

/**
 * Starts loading a batch of cache lines of one region so that their misses overlap.
 *
 * <p>Guarantees: {@link #prefetch} has no effect a program can observe except time: it never
 * changes memory and never faults, whatever the offsets. It throws {@link IllegalStateException}
 * if the region's arena is closed, and {@link IndexOutOfBoundsException} if {@code count} exceeds
 * the array. Thread-safe.
 */
public interface PrefetchStrategy {

    /**
     * Hints that the lines holding {@code region + offsets[i]}, for {@code i < count}, will be read
     * soon. Offsets outside the region are ignored.
     */
    void prefetch(MemorySegment region, long[] offsets, int count);

    /** {@code native-x86_64} or {@code touch}: which strategy this is. */
    String name();
}
