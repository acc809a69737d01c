package io.hashkernel.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
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
 * Readers and writers on one map at once ({@code @Group}): {@code readMostly} runs three reader
 * threads beside one writer, {@code writeHeavy} one reader beside one writer. Writers overwrite
 * present keys. Only maps that allow concurrent writers and readers take part.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JmhMaps.NATIVE_ACCESS, JmhMaps.UNSAFE_QUIET, JmhMaps.VECTOR})
public class MixedBench {
    /** Which map (concurrent ones only). */
    @Param({"hashkernel-unbatched", "chm", "nbhml"})
    public String impl;

    /** Entries loaded. */
    @Param({"1000000"})
    public long entries;

    private Subject map;

    /** Builds and loads the map. */
    @Setup(Level.Trial)
    public void setUp() {
        if (Impl.parse(impl).contract != Impl.Contract.CONCURRENT) {
            throw new IllegalArgumentException(impl + " is a single-writer map: readers beside a writer break its"
                    + " contract; choose a concurrent one");
        }
        map = JmhMaps.loaded(impl, entries, io.hashkernel.table.ConcurrentLongLongTable.DEFAULT_BATCH);
    }

    /** Frees the map. */
    @TearDown(Level.Trial)
    public void tearDown() {
        map.close();
    }

    /** A lookup in the read-mostly group. */
    @Benchmark
    @Group("readMostly")
    @GroupThreads(3)
    public long readMostlyGet(MapBench.Rng rng) {
        return get(rng);
    }

    /** A put in the read-mostly group. */
    @Benchmark
    @Group("readMostly")
    @GroupThreads(1)
    public void readMostlyPut(MapBench.Rng rng) {
        put(rng);
    }

    /** A lookup in the write-heavy group. */
    @Benchmark
    @Group("writeHeavy")
    @GroupThreads(1)
    public long writeHeavyGet(MapBench.Rng rng) {
        return get(rng);
    }

    /** A put in the write-heavy group. */
    @Benchmark
    @Group("writeHeavy")
    @GroupThreads(1)
    public void writeHeavyPut(MapBench.Rng rng) {
        put(rng);
    }

    private long get(MapBench.Rng rng) {
        return map.get(Keys.key(Keys.below(rng.next(), entries)));
    }

    private void put(MapBench.Rng rng) {
        long i = Keys.below(rng.next(), entries);
        map.put(Keys.key(i), Keys.value(i));
    }
}
