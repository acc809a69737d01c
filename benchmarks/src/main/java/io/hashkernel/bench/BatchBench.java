package io.hashkernel.bench;

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
 * Bulk calls of 1024 random keys on a loaded map: {@code getAll} and {@code putAll}. For
 * {@code hashkernel} they are the prefetched batches; for the others the loop of single calls.
 * Throughput in keys per microsecond.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JmhMaps.NATIVE_ACCESS, JmhMaps.UNSAFE_QUIET, JmhMaps.VECTOR})
public class BatchBench {
    static final int KEYS = 1024;

    /** Which map. */
    @Param({"hashkernel", "hashkernel-unbatched", "chm"})
    public String impl;

    /** Entries loaded (16 M: 341 MiB for HashKernel, far above the cache). */
    @Param({"16000000"})
    public long entries;

    /** HashKernel's batch (prefetch window). */
    @Param({"64"})
    public int batch;

    private Subject map;
    private final long[] keys = new long[KEYS];
    private final long[] values = new long[KEYS];
    private long state = 42;

    /** Builds and loads the map. */
    @Setup(Level.Trial)
    public void setUp() {
        map = JmhMaps.loaded(impl, entries, batch);
    }

    /** Frees the map. */
    @TearDown(Level.Trial)
    public void tearDown() {
        map.close();
    }

    private void draw() {
        long s = state;
        for (int i = 0; i < KEYS; i++) {
            s = Keys.next(s);
            long index = Keys.below(s, entries);
            keys[i] = Keys.key(index);
            values[i] = Keys.value(index);
        }
        state = s;
    }

    /** 1024 lookups of present keys in one call. */
    @Benchmark
    @OperationsPerInvocation(KEYS)
    public long[] getAll() {
        draw();
        map.getAll(keys, values, KEYS);
        return values;
    }

    /** 1024 puts over present keys in one call. */
    @Benchmark
    @OperationsPerInvocation(KEYS)
    public void putAll() {
        draw();
        map.putAll(keys, values, KEYS);
    }
}
