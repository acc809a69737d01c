package io.hashkernel.prefetch;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The memory limit: how many random 64-byte lines per second this JVM can read from a region
 * far larger than the last-level cache, with the best memory-level parallelism a strategy gives.
 * Each thread generates batch i+1 of random line offsets (xorshift, multiply-high: no division),
 * prefetches it, then reads every line of batch i, so a batch's misses overlap the previous
 * batch's reads. A hash table whose lookup is one miss cannot beat this figure.
 */
public final class MemoryLimitProbe {

    /**
     * A measurement.
     *
     * @param mops     million lines read per second, all threads together
     * @param strategy the prefetch strategy used
     * @param threads  reading threads
     * @param batch    lines per batch
     * @param seconds  measured time
     */
    public record Result(double mops, String strategy, int threads, int batch, double seconds) {
    }

    private MemoryLimitProbe() {
    }

    /**
     * Reads random lines of {@code region} on {@code threads} threads for about {@code seconds}.
     *
     * @throws IllegalArgumentException if the region is smaller than one line, or threads, batch or
     *                                  seconds are not positive
     */
    public static Result measure(MemorySegment region, int threads, int batch, double seconds,
                                 PrefetchStrategy strategy) throws InterruptedException {
        long lines = region.byteSize() >>> 6;
        if (lines < 1 || threads < 1 || batch < 1 || !(seconds > 0)) {
            throw new IllegalArgumentException("need a region of at least one 64-byte line and positive threads,"
                    + " batch and seconds; got " + region.byteSize() + " bytes, " + threads + " threads, batch "
                    + batch + ", " + seconds + " s");
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
                    counts[id] = read(region, lines, batch, deadline, strategy, 0x9E3779B97F4A7C15L * (id + 1));
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
        return new Result(total / elapsed / 1e6, strategy.name(), threads, batch, elapsed);
    }

    private static long read(MemorySegment region, long lines, int batch, long deadline,
                             PrefetchStrategy strategy, long state) {
        long[] current = new long[batch];
        long[] next = new long[batch];
        state = fill(current, lines, state);
        strategy.prefetch(region, current, batch);
        long read = 0;
        long sum = 0;
        do {
            for (int round = 0; round < 64; round++) {
                state = fill(next, lines, state);
                strategy.prefetch(region, next, batch);
                for (int i = 0; i < batch; i++) {
                    sum += region.get(ValueLayout.JAVA_LONG_UNALIGNED, current[i]);
                }
                long[] swap = current;
                current = next;
                next = swap;
            }
            read += 64L * batch;
        } while (System.nanoTime() < deadline);
        return sum == 0x5EED ? read + 1 : read;
    }

    private static long fill(long[] offsets, long lines, long state) {
        for (int i = 0; i < offsets.length; i++) {
            state ^= state >>> 12;
            state ^= state << 25;
            state ^= state >>> 27;
            offsets[i] = Math.unsignedMultiplyHigh(state * 0x2545F4914F6CDD1DL, lines) << 6;
        }
        return state;
    }
}
