package io.hashkernel.bench;

import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.prefetch.Prefetchers;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Whether this machine overlaps a batch's prefetches with computation, the premise of a batched
 * table. One round draws 64 random lines of a region, then, by benchmark:
 * <ul>
 *   <li>{@link #work}: {@code work} steps of a dependent multiply-xorshift chain, nothing else;</li>
 *   <li>{@link #prefetchWork}: prefetches the 64 lines (one call), then the work;</li>
 *   <li>{@link #prefetchWorkRead}: prefetches, works, then reads a word of each line;</li>
 *   <li>{@link #workRead}: works, then reads the lines cold (no prefetch).</li>
 * </ul>
 * The reads wait for the work: their offsets depend on its result (by a term that is always
 * zero, which the JIT cannot know), so the JIT cannot move them before it. Where prefetches
 * complete while the core computes, {@code prefetchWorkRead} takes about the time of {@code work}
 * (the lines arrive while it runs); where they complete only once the core waits for memory, it
 * takes about {@code work} plus the time of the 64 misses, as {@code workRead} does. This VM is
 * the second kind, although the prefetched lines do arrive and stay (ARCHITECTURE.md, "Why CPU
 * work per lookup matters"). Average time per round.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JmhMaps.NATIVE_ACCESS})
public class OverlapBench {
    static final int LINES = RandomLines.LINES;

    /** Region size in MiB. */
    @Param({"64", "2048"})
    public long mib;

    /** Steps of computation per round (a step is a multiply, a shift and two xors, dependent). */
    @Param({"1000"})
    public int work;

    private RandomLines random;
    private PrefetchStrategy prefetch;

    /** Maps and writes the region (so every page is backed). */
    @Setup(Level.Trial)
    public void setUp() {
        random = new RandomLines(mib);
        prefetch = Prefetchers.selected();
    }

    /** Frees the region. */
    @TearDown(Level.Trial)
    public void tearDown() {
        random.close();
    }

    private static long compute(long x, int steps) {
        for (int i = 0; i < steps; i++) {
            x = x * 0x9E3779B97F4A7C15L + 1;
            x ^= x >>> 29;
        }
        return x;
    }

    private void prefetch() {
        prefetch.prefetch(random.segment, random.offsets, random.offsetsView, LINES);
    }

    /** The work alone. */
    @Benchmark
    public long work() {
        random.draw();
        return compute(random.state(), work);
    }

    /** Prefetch the round's lines, then the work. */
    @Benchmark
    public long prefetchWork() {
        random.draw();
        prefetch();
        return compute(random.state(), work);
    }

    /** Prefetch, work, then read the lines. */
    @Benchmark
    public long prefetchWorkRead() {
        random.draw();
        prefetch();
        return random.readAfter(compute(random.state(), work));
    }

    /** Work, then read the lines without having prefetched them. */
    @Benchmark
    public long workRead() {
        random.draw();
        return random.readAfter(compute(random.state(), work));
    }
}
