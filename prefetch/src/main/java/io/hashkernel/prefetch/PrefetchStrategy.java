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

    /**
     * As {@link #prefetch(MemorySegment, long[], int)}, for a caller that made
     * {@code offsetsView = MemorySegment.ofArray(offsets)} once and calls again and again: a
     * native strategy passes the view to its routine instead of making one per call (an
     * allocation of a segment and its session per call, a noticeable part of a lookup's CPU time
     * in the cache).
     *
     * @throws IllegalArgumentException if {@code offsetsView} is not a view of {@code offsets}
     */
    default void prefetch(MemorySegment region, long[] offsets, MemorySegment offsetsView, int count) {
        prefetch(region, offsets, count);
    }

    /**
     * As {@link #prefetch(MemorySegment, long[], MemorySegment, int)}, for lines that will be
     * written soon: a strategy that can ask for them in a writable state does (x86's {@code
     * PREFETCHW}); by default they are prefetched as for reading.
     */
    default void prefetchForWrite(MemorySegment region, long[] offsets, MemorySegment offsetsView, int count) {
        prefetch(region, offsets, offsetsView, count);
    }

    /** {@code native-x86_64} or {@code touch}: which strategy this is. */
    String name();
}
