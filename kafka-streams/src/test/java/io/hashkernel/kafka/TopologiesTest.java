package io.hashkernel.kafka;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three topologies (a word count, a windowless aggregation, a table-table join) run with
 * {@link TopologyTestDriver} on the same input with HashKernel's two stores (in memory, durable) and with Kafka's own
 * in-memory and RocksDB stores: the outputs and the stores' final contents must be identical.
 */
class TopologiesTest {
    @TempDir
    Path stateDir;

    enum Store {
        HASHKERNEL, HASHKERNEL_PERSISTENT, KAFKA_IN_MEMORY, ROCKSDB;

        KeyValueBytesStoreSupplier supplier(String name) {
            return switch (this) {
                case HASHKERNEL -> HashKernelStores.inMemoryKeyValueStore(name);
                case HASHKERNEL_PERSISTENT -> HashKernelStores.persistentKeyValueStore(name);
                case KAFKA_IN_MEMORY -> Stores.inMemoryKeyValueStore(name);
                case ROCKSDB -> Stores.persistentKeyValueStore(name);
            };
        }
    }

    private Properties config(Store store) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "topologies-" + store);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(store.name()).toString());
        p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
        // No record cache: every update reaches the output, so the outputs compare record by record.
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        return p;
    }

    /** What one run gives: the output records in order and the final contents of the named store. */
    record Run(List<KeyValue<String, String>> output, Map<String, String> finalState) {
    }

    private Run run(Store store, Function<Store, Topology> topology, String storeName,
                    java.util.function.Consumer<TopologyTestDriver> feed) {
        try (TopologyTestDriver driver = new TopologyTestDriver(topology.apply(store), config(store))) {
            feed.accept(driver);
            TestOutputTopic<String, String> out = driver.createOutputTopic("out", new StringDeserializer(), new StringDeserializer());
            List<KeyValue<String, String>> output = out.readKeyValuesToList();
            KeyValueStore<Object, Object> s = driver.getKeyValueStore(storeName);
            Map<String, String> state = new TreeMap<>();
            try (var it = s.all()) {
                it.forEachRemaining(kv -> state.put(String.valueOf(kv.key), String.valueOf(
                        kv.value instanceof org.apache.kafka.streams.state.ValueAndTimestamp<?> vt ? vt.value() : kv.value)));
            }
            return new Run(output, state);
        }
    }

    private void assertSameEverywhere(Function<Store, Topology> topology, String storeName,
                                      java.util.function.Consumer<TopologyTestDriver> feed) {
        Run hashKernel = run(Store.HASHKERNEL, topology, storeName, feed);
        assertFalse(hashKernel.output().isEmpty());
        assertFalse(hashKernel.finalState().isEmpty());
        for (Store other : new Store[]{Store.HASHKERNEL_PERSISTENT, Store.KAFKA_IN_MEMORY, Store.ROCKSDB}) {
            Run r = run(other, topology, storeName, feed);
            assertEquals(r.output(), hashKernel.output(), "output against " + other);
            assertEquals(r.finalState(), hashKernel.finalState(), "final state against " + other);
        }
    }

    private static final String[] WORDS = ("the quick brown fox jumps over the lazy dog while a swift hare"
            + " naps under an old oak tree near the river bank").split(" ");

    @Test
    void wordCount() {
        assertSameEverywhere(store -> {
            StreamsBuilder b = new StreamsBuilder();
            b.stream("lines", Consumed.with(Serdes.String(), Serdes.String()))
                    .flatMapValues(line -> Arrays.asList(line.split(" ")))
                    .groupBy((key, word) -> word)
                    .count(Materialized.<String, Long>as(store.supplier("counts"))
                            .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
                    .toStream()
                    .mapValues(String::valueOf)
                    .to("out", Produced.with(Serdes.String(), Serdes.String()));
            return b.build();
        }, "counts", driver -> {
            TestInputTopic<String, String> in = driver.createInputTopic("lines", new StringSerializer(), new StringSerializer());
            SplittableRandom r = new SplittableRandom(7);
            for (int i = 0; i < 2000; i++) {
                StringBuilder line = new StringBuilder();
                for (int w = 0; w < 1 + r.nextInt(8); w++) {
                    line.append(w == 0 ? "" : " ").append(WORDS[r.nextInt(WORDS.length)]);
                }
                in.pipeInput("line" + i, line.toString());
            }
        });
    }

    @Test
    void windowlessAggregation() {
        assertSameEverywhere(store -> {
            StreamsBuilder b = new StreamsBuilder();
            b.stream("payments", Consumed.with(Serdes.String(), Serdes.String()))
                    .groupByKey()
                    .aggregate(() -> "0|0",
                            (account, amount, agg) -> {
                                String[] parts = agg.split("\\|");
                                long sum = Long.parseLong(parts[0]) + Long.parseLong(amount);
                                long max = Math.max(Long.parseLong(parts[1]), Long.parseLong(amount));
                                return sum + "|" + max;
                            },
                            Materialized.<String, String>as(store.supplier("totals"))
                                    .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
                    .toStream()
                    .to("out", Produced.with(Serdes.String(), Serdes.String()));
            return b.build();
        }, "totals", driver -> {
            TestInputTopic<String, String> in = driver.createInputTopic("payments", new StringSerializer(), new StringSerializer());
            SplittableRandom r = new SplittableRandom(11);
            for (int i = 0; i < 3000; i++) {
                in.pipeInput("account-" + r.nextInt(300), String.valueOf(r.nextInt(1000)));
            }
        });
    }

    @Test
    void tableTableJoin() {
        assertSameEverywhere(store -> {
            StreamsBuilder b = new StreamsBuilder();
            KTable<String, String> users = b.table("users", Consumed.with(Serdes.String(), Serdes.String()),
                    Materialized.<String, String>as(store.supplier("users"))
                            .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()));
            KTable<String, String> regions = b.table("regions", Consumed.with(Serdes.String(), Serdes.String()),
                    Materialized.<String, String>as(store.supplier("regions"))
                            .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()));
            users.join(regions, (user, region) -> user + "@" + region,
                            Materialized.<String, String>as(store.supplier("joined"))
                                    .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
                    .toStream()
                    .to("out", Produced.with(Serdes.String(), Serdes.String()));
            return b.build();
        }, "joined", driver -> {
            TestInputTopic<String, String> users = driver.createInputTopic("users", new StringSerializer(), new StringSerializer());
            TestInputTopic<String, String> regions = driver.createInputTopic("regions", new StringSerializer(), new StringSerializer());
            SplittableRandom r = new SplittableRandom(13);
            for (int i = 0; i < 2000; i++) {
                String id = "id-" + r.nextInt(200);
                switch (r.nextInt(5)) {
                    case 0, 1 -> users.pipeInput(id, "user" + i);
                    case 2, 3 -> regions.pipeInput(id, "region" + i);
                    default -> (r.nextBoolean() ? users : regions).pipeInput(id, (String) null); // tombstones
                }
            }
        });
    }

    @Test
    void theStoreIsNotPersistentAndItsSupplierNamesIt() {
        KeyValueBytesStoreSupplier s = HashKernelStores.inMemoryKeyValueStore("counts");
        assertEquals("counts", s.name());
        assertEquals("hashkernel-in-memory", s.metricsScope());
        KeyValueStore<Bytes, byte[]> store = s.get();
        assertFalse(store.persistent());
        assertFalse(store.isOpen());
        assertTrue(store != s.get(), "a new store for each task");
    }
}
