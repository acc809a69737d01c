package io.hashkernel.bench;

import io.hashkernel.numa.Memory;
import io.hashkernel.numa.Region;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A region far above the cache and rounds of random 64-byte lines of it, for the JMH benchmarks of
 * the memory itself ({@link LimitBench}, {@link OverlapBench}). Not thread-safe: one per thread.
 */
final class RandomLines implements AutoCloseable {
    /** Lines per round. */
    static final int LINES = 64;

    private final Region region;
    /** The region's memory, every word written (so every page is backed). */
    final MemorySegment segment;
    /** The byte offsets of the current round's lines. */
    final long[] offsets = new long[LINES];
    /** {@code MemorySegment.ofArray(offsets)}, made once for the prefetch downcall. */
    final MemorySegment offsetsView = MemorySegment.ofArray(offsets);
    private final long lines;
    private long state = 42;

    /** Maps {@code mib} MiB on huge pages where it can and writes it. */
    RandomLines(long mib) {
        region = Memory.allocate(mib << 20, Memory.HUGE_PAGE_SIZE);
        segment = region.segment();
        MemoryLimitProbe.prepare(segment);
        lines = segment.byteSize() >>> 6;
    }

    /** Draws the next round's lines into {@link #offsets} (xorshift and multiply-high). */
    void draw() {
        long s = state;
        for (int i = 0; i < LINES; i++) {
            s = Keys.next(s);
            offsets[i] = Keys.below(s, lines) << 6;
        }
        state = s;
    }

    /** Reads a word of each of the round's lines (plain loads, independent). */
    long read() {
        return readAt(0);
    }

    /**
     * As {@link #read()}, but not before {@code result} is known: the offsets get a term that
     * depends on it and is always zero ({@code result} is never the arbitrary constant tested),
     * which the JIT cannot fold, so the loads cannot be moved before the computation of it.
     *
     * @return {@code result} plus the words read
     */
    long readAfter(long result) {
        // Were the constant ever met, the term would be one word further into the same line.
        return result + readAt(result == 0x6A09E667F3BCC908L ? Long.BYTES : 0);
    }

    private long readAt(long extra) {
        long sum = 0;
        for (int i = 0; i < LINES; i++) {
            sum += segment.get(ValueLayout.JAVA_LONG, offsets[i] + extra);
        }
        return sum;
    }

    /** The random state after the last round (a value the JIT cannot fold). */
    long state() {
        return state;
    }

    /** Frees the region. */
    @Override
    public void close() {
        region.close();
    }
}
