package io.hashkernel.bench;

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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Single-key calls on a loaded map, HashKernel beside its peers: a lookup of a present key, of an
 * absent key, and a put that overwrites a present key (the map's size stays put). Throughput in
 * operations per microsecond; run with {@code -t N} for N threads (single-writer peers only for
 * {@code get} and {@code getAbsent} then).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JmhMaps.NATIVE_ACCESS, JmhMaps.UNSAFE_QUIET, JmhMaps.VECTOR})
public class MapBench {
    /** Which map ({@code hashkernel-unbatched} is HashKernel's single-key API). */
    @Param({"hashkernel-unbatched", "chm", "nbhml", "agrona", "fastutil", "eclipse"})
    public String impl;

    /** Entries loaded (1 M: 21 MiB for HashKernel, above most caches of one core). */
    @Param({"1000000"})
    public long entries;

    private Subject map;

    /** Builds and loads the map. */
    @Setup(Level.Trial)
    public void setUp() {
        map = JmhMaps.loaded(impl, entries, io.hashkernel.table.ConcurrentLongLongTable.DEFAULT_BATCH);
    }

    /** Frees the map. */
    @TearDown(Level.Trial)
    public void tearDown() {
        map.close();
    }

    /** One thread's random stream. */
    @State(Scope.Thread)
    public static class Rng {
        long state;

        /** Seeds the stream from the thread's identity. */
        @Setup(Level.Trial)
        public void seed() {
            state = Keys.seed(7, (int) Thread.currentThread().threadId());
        }

        long next() {
            return state = Keys.next(state);
        }
    }

    /** A lookup of a present key. */
    @Benchmark
    public long get(Rng rng) {
        return map.get(Keys.key(Keys.below(rng.next(), entries)));
    }

    /** A lookup of a key that is not there (ends at the first free slot). */
    @Benchmark
    public long getAbsent(Rng rng) {
        return map.get(Keys.key(entries + Keys.below(rng.next(), entries)));
    }

    /** A put over a present key, with its own value. */
    @Benchmark
    @Threads(1)
    public void put(Rng rng) {
        long i = Keys.below(rng.next(), entries);
        map.put(Keys.key(i), Keys.value(i));
    }
}
