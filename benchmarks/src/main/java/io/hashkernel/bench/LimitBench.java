package io.hashkernel.bench;

import io.hashkernel.numa.Memory;
import io.hashkernel.prefetch.MemoryLimitProbe;
import io.hashkernel.numa.Region;
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

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
    static final int LINES = 64;

    /** Region size in MiB. */
    @Param({"1024"})
    public long mib;

    private Region region;
    private MemorySegment segment;
    private PrefetchStrategy prefetch;
    private long lines;
    private long state = 42;
    private final long[] offsets = new long[LINES];

    /** Maps and writes the region (so every page is backed). */
    @Setup(Level.Trial)
    public void setUp() {
        region = Memory.allocate(mib << 20, Memory.HUGE_PAGE_SIZE);
        segment = region.segment();
        MemoryLimitProbe.prepare(segment);
        lines = segment.byteSize() >>> 6;
        prefetch = Prefetchers.selected();
    }

    /** Frees the region. */
    @TearDown(Level.Trial)
    public void tearDown() {
        region.close();
    }

    private void draw() {
        long s = state;
        for (int i = 0; i < LINES; i++) {
            s = Keys.next(s);
            offsets[i] = Keys.below(s, lines) << 6;
        }
        state = s;
    }

    /** 64 random lines with plain loads (the CPU overlaps the independent misses it can). */
    @Benchmark
    @OperationsPerInvocation(LINES)
    public long plainLines() {
        draw();
        long sum = 0;
        for (int i = 0; i < LINES; i++) {
            sum += segment.get(ValueLayout.JAVA_LONG, offsets[i]);
        }
        return sum;
    }

    /** 64 random lines, prefetched in one call first. */
    @Benchmark
    @OperationsPerInvocation(LINES)
    public long prefetchedLines() {
        draw();
        prefetch.prefetch(segment, offsets, LINES);
        long sum = 0;
        for (int i = 0; i < LINES; i++) {
            sum += segment.get(ValueLayout.JAVA_LONG, offsets[i]);
        }
        return sum;
    }
}
