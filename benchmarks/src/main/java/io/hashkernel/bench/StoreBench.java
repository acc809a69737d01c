package io.hashkernel.bench;

import io.hashkernel.kafka.HashKernelStores;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Kafka Streams key-value stores through the one interface a topology uses,
 * {@code KeyValueStore<Bytes, byte[]>}: HashKernel's two ({@link HashKernelStores#inMemoryKeyValueStore},
 * {@link HashKernelStores#persistentKeyValueStore}), Kafka's in-memory store and Kafka's RocksDB
 * store, each the bare store a supplier gives (no
 * caching, logging or metering layer), loaded with {@code entries} 16-byte keys and 100-byte
 * values, then read ({@code get}) or overwritten ({@code put}) at keys drawn uniformly or by
 * Zipf's law. One thread, as a Streams task uses its store. Throughput in operations per
 * microsecond.
 *
 * <p>Run: {@code java -jar benchmarks/target/benchmarks.jar StoreBench} (10 M entries: loading
 * each store takes from seconds to a minute; the heap must hold Kafka's in-memory store, about
 * 3 GiB; the durable stores write about 1.3 GiB to a temporary directory). No Kafka commit
 * happens during a run, as none would in a Streams task between two commits: RocksDB's store
 * writes to its memtable, HashKernel's durable one to the page cache.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JmhMaps.NATIVE_ACCESS, JmhMaps.UNSAFE_QUIET, "-Xmx12g"})
public class StoreBench {
    /** Which store. */
    @Param({"hashkernel", "hashkernel-persistent", "kafka-in-memory", "rocksdb"})
    public String store;

    /** Key distribution: {@code uniform} or {@code zipf:S}. */
    @Param({"uniform", "zipf:1.09"})
    public String dist;

    /** Entries loaded. */
    @Param({"10000000"})
    public long entries;

    static final int VALUE_BYTES = 100;

    private KeyValueStore<Bytes, byte[]> kv;
    private Path stateDir;
    /** Present for a Zipf distribution: rank r is entry r (the keys' bytes scatter the ranks). */
    Zipf zipf;

    /** Builds the store and loads it, in key order scattered by {@link Keys#key}. */
    @Setup(Level.Trial)
    public void setUp() throws IOException {
        stateDir = Files.createTempDirectory("storebench");
        KeyValueBytesStoreSupplier supplier = switch (store) {
            case "hashkernel" -> HashKernelStores.inMemoryKeyValueStore("bench", b -> b.expectedEntries(entries));
            case "hashkernel-persistent" -> HashKernelStores.persistentKeyValueStore("bench",
                    b -> b.map(m -> m.expectedEntries(entries)));
            case "kafka-in-memory" -> Stores.inMemoryKeyValueStore("bench");
            case "rocksdb" -> Stores.persistentKeyValueStore("bench");
            default -> throw new IllegalArgumentException(
                    "store must be hashkernel, hashkernel-persistent, kafka-in-memory or rocksdb, was " + store);
        };
        double s = Workload.zipfExponent(dist);
        zipf = s > 0 ? new Zipf(entries, s) : null;
        Properties config = new Properties();
        config.put(StreamsConfig.APPLICATION_ID_CONFIG, "storebench");
        config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        MockProcessorContext<Object, Object> context = new MockProcessorContext<>(config,
                new org.apache.kafka.streams.processor.TaskId(0, 0), stateDir.toFile());
        kv = supplier.get();
        kv.init(context.getStateStoreContext(), kv);
        for (long i = 0; i < entries; i++) {
            kv.put(key(i), value(i));
        }
    }

    /** Closes the store and deletes its files. */
    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        kv.close();
        try (Stream<Path> files = Files.walk(stateDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /** Entry {@code i}'s 16-byte key: its scattered index, then the index (unique, patternless order). */
    static Bytes key(long i) {
        byte[] k = new byte[16];
        long a = Keys.key(i);
        long b = i;
        for (int j = 0; j < 8; j++) {
            k[j] = (byte) (a >>> (56 - 8 * j));
            k[8 + j] = (byte) (b >>> (56 - 8 * j));
        }
        return Bytes.wrap(k);
    }

    /** A fresh 100-byte value naming entry {@code i} (Kafka's in-memory store keeps the array it is given). */
    static byte[] value(long i) {
        byte[] v = new byte[VALUE_BYTES];
        for (int j = 0; j < 8; j++) {
            v[j] = (byte) (i >>> (8 * j));
        }
        return v;
    }

    /** One thread's random stream. */
    @State(Scope.Thread)
    public static class Draws {
        final long[] state = new long[1];

        /** Seeds the stream from the thread's identity. */
        @Setup(Level.Trial)
        public void seed() {
            state[0] = Keys.seed(11, (int) Thread.currentThread().threadId());
        }

        long next(StoreBench b) {
            if (b.zipf != null) {
                return b.zipf.next(state);
            }
            return Keys.below(state[0] = Keys.next(state[0]), b.entries);
        }
    }

    /** A lookup of a present key. */
    @Benchmark
    public byte[] get(Draws s) {
        return kv.get(key(s.next(this)));
    }

    /** An overwrite of a present key with a new 100-byte value. */
    @Benchmark
    public void put(Draws s) {
        long i = s.next(this);
        kv.put(key(i), value(i));
    }
}
