package io.hashkernel.bench;

import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.prefetch.Prefetchers;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The memory limit under JMH: random 64-byte lines read from a region far above the cache, 64 at
 * a time, with plain loads or after prefetching the batch (the prefetch strategy in use). The
 * figure to hold a batched lookup against. Throughput in lines per microsecond.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JmhMaps.NATIVE_ACCESS})
public class LimitBench {
    static final int LINES = RandomLines.LINES;

    /** Region size in MiB. */
    @Param({"1024"})
    public long mib;

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

    /** 64 random lines with plain loads (the CPU overlaps the independent misses it can). */
    @Benchmark
    @OperationsPerInvocation(LINES)
    public long plainLines() {
        random.draw();
        return random.read();
    }

    /** 64 random lines, prefetched in one call first. */
    @Benchmark
    @OperationsPerInvocation(LINES)
    public long prefetchedLines() {
        random.draw();
        prefetch.prefetch(random.segment, random.offsets, random.offsetsView, LINES);
        return random.read();
    }
}
