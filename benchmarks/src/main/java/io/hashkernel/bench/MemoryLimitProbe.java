package io.hashkernel.bench;

import io.hashkernel.prefetch.PrefetchStrategy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The memory limit: how many random 64-byte lines per second this JVM can read from a region
 * far larger than the last-level cache, with the best memory-level parallelism it reaches.
 * Random line offsets come from xorshift and multiply-high (no division, no array of addresses).
 * Two shapes of reading are measured and the better one is the limit
 * ({@link #measureBest}):
 * <ul>
 *   <li>{@link Shape#LOADS}: batches of independent plain loads, which the CPU overlaps as far as
 *       its out-of-order window reaches;</li>
 *   <li>{@link Shape#PREFETCH}: each thread generates batch i+1 of offsets, prefetches it with the
 *       strategy, then reads every line of batch i, so a batch's misses overlap the previous
 *       batch's reads (the shape of the table's batched calls).</li>
 * </ul>
 * A hash table whose lookup is one miss cannot beat this figure.
 *
 * <p>A third shape, {@link Shape#CLAIMS}, is not a read limit and never the best: the two locked
 * instructions a put of a new key needs (a compare-and-exchange and an exchange) on every line of
 * batches prefetched for writing. A locked instruction waits for its line and holds back the
 * accesses behind it, so fewer misses overlap than for reads: it is the limit of an insert.
 */
public final class MemoryLimitProbe {

    /**
     * A measurement.
     *
     * @param mops     million lines read (or claimed) per second, all threads together
     * @param strategy how the lines were touched: {@code plain loads}, {@code prefetch <strategy>} or
     *                 {@code claims: ...}
     * @param shape    the shape of reading, to measure it again
     * @param threads  reading threads
     * @param batch    lines per batch
     * @param seconds  measured time
     */
    public record Result(double mops, String strategy, Shape shape, int threads, int batch, double seconds) {
        /** One line for reports. */
        public String describe() {
            return String.format(Locale.ROOT, "%.1f M lines/s (%s, batch %d, %d threads)",
                    mops, strategy, batch, threads);
        }
    }

    /** How the lines are touched. */
    public enum Shape {
        /** Independent plain loads, no prefetch instruction. */
        LOADS,
        /** Double-buffered batches: prefetch batch i+1, then read batch i. */
        PREFETCH,
        /**
         * Double-buffered batches prefetched for writing; on every line of batch i a
         * compare-and-exchange of its first word and an exchange of its second (a put's claim of
         * a free slot and its value's write). Needs a native region: it writes the lines.
         */
        CLAIMS
    }

    private static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();

    /**
     * The best of {@link Shape#LOADS} and {@link Shape#PREFETCH} (batches of 16 and 64 lines) with
     * {@code strategy}, each measured for {@code seconds}.
     *
     * @return every measurement, best first
     */
    public static List<Result> measureBest(MemorySegment region, int threads, double seconds,
                                                     PrefetchStrategy strategy) throws InterruptedException {
        List<Result> all = new ArrayList<>();
        all.add(measure(region, threads, 16, seconds, Shape.LOADS, strategy));
        all.add(measure(region, threads, 16, seconds, Shape.PREFETCH, strategy));
        all.add(measure(region, threads, 64, seconds, Shape.PREFETCH, strategy));
        all.sort(Comparator.comparingDouble(Result::mops).reversed());
        return all;
    }

    private MemoryLimitProbe() {
    }

    /**
     * Writes every 8-byte word of {@code region} with its own offset, before measuring: every page
     * is then backed (reads of untouched anonymous memory all hit one zero page), and no two
     * pages are alike, as in a real table (a hypervisor that merges identical pages could serve
     * a region of one repeated byte from a few physical pages; here such a region read up to 1.2x
     * faster than one of distinct words in the same run).
     */
    public static void prepare(MemorySegment region) {
        long words = region.byteSize() >>> 3;
        for (long i = 0; i < words; i++) {
            region.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, i << 3);
        }
    }

    /**
     * Reads random lines of {@code region} on {@code threads} threads for about {@code seconds}.
     *
     * @throws IllegalArgumentException if the region is smaller than one line, or threads, batch or
     *                                  seconds are not positive
     */
    public static Result measure(MemorySegment region, int threads, int batch, double seconds,
                                 PrefetchStrategy strategy) throws InterruptedException {
        return measure(region, threads, batch, seconds, Shape.PREFETCH, strategy);
    }

    /**
     * Reads (or, {@link Shape#CLAIMS}, claims) random lines of {@code region} in the given shape
     * on {@code threads} threads for about {@code seconds}.
     *
     * @throws IllegalArgumentException if the region is smaller than one line, or threads, batch or
     *                                  seconds are not positive, or the shape is {@link Shape#CLAIMS}
     *                                  and the region is not native, is read-only or does not
     *                                  start on an 8-byte boundary
     */
    public static Result measure(MemorySegment region, int threads, int batch, double seconds, Shape shape,
                                 PrefetchStrategy strategy) throws InterruptedException {
        long lines = region.byteSize() >>> 6;
        if (lines < 1 || threads < 1 || batch < 1 || !(seconds > 0)) {
            throw new IllegalArgumentException("need a region of at least one 64-byte line and positive threads,"
                    + " batch and seconds; got " + region.byteSize() + " bytes, " + threads + " threads, batch "
                    + batch + ", " + seconds + " s");
        }
        if (shape == Shape.CLAIMS && (!region.isNative() || region.isReadOnly() || region.address() % 8 != 0)) {
            throw new IllegalArgumentException("the claims shape writes with atomic instructions: it needs a"
                    + " writable native region that starts on an 8-byte boundary; got " + region);
        }
        long[] counts = new long[threads];
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        CyclicBarrier start = new CyclicBarrier(threads);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers[t] = Thread.ofPlatform().name("limit-probe-" + t).start(() -> {
                try {
                    start.await();
                    long seed = 0x9E3779B97F4A7C15L * (id + 1);
                    counts[id] = switch (shape) {
                        case LOADS -> load(region, lines, batch, deadline, seed);
                        case PREFETCH -> readBatches(region, lines, batch, deadline, strategy, seed);
                        case CLAIMS -> claimBatches(region, lines, batch, deadline, strategy, seed);
                    };
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
        }
        long begin = System.nanoTime();
        for (Thread w : workers) {
            w.join();
        }
        double elapsed = (System.nanoTime() - begin) / 1e9;
        if (failure.get() != null) {
            throw new IllegalStateException("memory-limit probe failed", failure.get());
        }
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        String how = switch (shape) {
            case LOADS -> "plain loads";
            case PREFETCH -> "prefetch " + strategy.name();
            case CLAIMS -> "claims: CAS and exchange a line, prefetch for writing " + strategy.name();
        };
        return new Result(total / elapsed / 1e6, how, shape, threads, batch, elapsed);
    }

    /**
     * Double-buffered batches: fill and prefetch batch i+1, then read every line of batch i.
     * {@link #claimBatches} is its twin for the claims: one loop for both, with a flag, would be
     * compiled for the shape measured first and trap on the other when its measurement starts,
     * which runs its first moments in the interpreter.
     */
    private static long readBatches(MemorySegment region, long lines, int batch, long deadline,
                                    PrefetchStrategy strategy, long state) {
        long[] current = new long[batch];
        long[] next = new long[batch];
        // Views made once, as the table's pipeline does: one per call would allocate.
        MemorySegment currentView = MemorySegment.ofArray(current);
        MemorySegment nextView = MemorySegment.ofArray(next);
        state = fill(current, lines, state);
        strategy.prefetch(region, current, currentView, batch);
        long done = 0;
        long sum = 0;
        do {
            for (int round = 0; round < 64; round++) {
                state = fill(next, lines, state);
                strategy.prefetch(region, next, nextView, batch);
                sum += read(region, current);
                long[] swap = current;
                current = next;
                next = swap;
                MemorySegment swapView = currentView;
                currentView = nextView;
                nextView = swapView;
            }
            done += 64L * batch;
        } while (System.nanoTime() < deadline);
        return sum == 0x5EED ? done + 1 : done;
    }

    /** As {@link #readBatches}, the batches prefetched for writing and every line claimed. */
    private static long claimBatches(MemorySegment region, long lines, int batch, long deadline,
                                     PrefetchStrategy strategy, long state) {
        long[] current = new long[batch];
        long[] next = new long[batch];
        MemorySegment currentView = MemorySegment.ofArray(current);
        MemorySegment nextView = MemorySegment.ofArray(next);
        state = fill(current, lines, state);
        strategy.prefetchForWrite(region, current, currentView, batch);
        long done = 0;
        long sum = 0;
        do {
            for (int round = 0; round < 64; round++) {
                state = fill(next, lines, state);
                strategy.prefetchForWrite(region, next, nextView, batch);
                sum += claim(region, current, state);
                long[] swap = current;
                current = next;
                next = swap;
                MemorySegment swapView = currentView;
                currentView = nextView;
                nextView = swapView;
            }
            done += 64L * batch;
        } while (System.nanoTime() < deadline);
        return sum == 0x5EED ? done + 1 : done;
    }

    /** One load from each line. */
    private static long read(MemorySegment region, long[] offsets) {
        long sum = 0;
        for (long line : offsets) {
            sum += region.get(ValueLayout.JAVA_LONG_UNALIGNED, line);
        }
        return sum;
    }

    /** A put's two locked instructions on each line: a compare-and-exchange of its first word, an exchange of its second. */
    private static long claim(MemorySegment region, long[] offsets, long value) {
        long sum = 0;
        for (long line : offsets) {
            // The first word holds its own offset (prepare) or a value written here, never 0 past
            // the first line: the CAS mostly fails, which locks the line all the same.
            sum += (long) WORD.compareAndExchange(region, line, 0L, line | 1);
            sum += (long) WORD.getAndSet(region, line + 8, value++);
        }
        return sum;
    }

    private static long load(MemorySegment region, long lines, int batch, long deadline, long state) {
        long[] current = new long[batch];
        long read = 0;
        long sum = 0;
        do {
            for (int round = 0; round < 64; round++) {
                state = fill(current, lines, state);
                for (int i = 0; i < batch; i++) {
                    sum += region.get(ValueLayout.JAVA_LONG_UNALIGNED, current[i]);
                }
            }
            read += 64L * batch;
        } while (System.nanoTime() < deadline);
        return sum == 0x5EED ? read + 1 : read;
    }

    /** Random line offsets in {@code [0, lines)} into {@code offsets}: xorshift and multiply-high. */
    static long fill(long[] offsets, long lines, long state) {
        for (int i = 0; i < offsets.length; i++) {
            state ^= state >>> 12;
            state ^= state << 25;
            state ^= state >>> 27;
            offsets[i] = Math.unsignedMultiplyHigh(state * 0x2545F4914F6CDD1DL, lines) << 6;
        }
        return state;
    }
}
