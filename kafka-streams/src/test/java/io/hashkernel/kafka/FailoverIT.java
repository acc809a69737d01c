package io.hashkernel.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real broker (KRaft, one combined node, started in-process by Kafka's test kit) and two
 * Kafka Streams instances of one word-count application sharing the input's four partitions,
 * their counts in HashKernel stores, exactly-once. One instance is stopped mid-run; the other
 * takes over its partitions, restores their counts from the changelog into new HashKernel stores
 * (in memory, then durable), and goes on: the final counts, read from the output topic and from
 * the survivor's store, are exact. And an instance with durable stores, stopped and restarted on
 * its state directory, reads its counts from its stores' files and restores from the changelog
 * only what they lack.
 *
 * <p>Tagged {@code integration}: {@code ./mvnw -pl kafka-streams -am verify -Pkafka-it} runs it
 * (about a minute here), the default build does not.
 */
@Tag("integration")
class FailoverIT {
    private static final int PARTITIONS = 4;
    private static final int WORDS = 500;

    @TempDir
    Path dirs;

    /** A started one-node cluster with the input and output topics. */
    private static KafkaClusterTestKit cluster() throws Exception {
        KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .build();
        cluster.format();
        cluster.startup();
        cluster.waitForReadyBrokers();
        try (Admin admin = cluster.admin()) {
            admin.createTopics(List.of(new NewTopic("words", PARTITIONS, (short) 1),
                    new NewTopic("counts", PARTITIONS, (short) 1))).all().get();
            // Produce only once every partition has a leader: a producer that meets a partition
            // without one retries, and its idempotent retries can then fail for good.
            await(() -> {
                try {
                    return admin.describeTopics(List.of("words", "counts")).allTopicNames().get().values().stream()
                            .allMatch(t -> t.partitions().size() == PARTITIONS
                                    && t.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
                } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                    return false;
                }
            }, "the topics' partitions have leaders");
        }
        return cluster;
    }

    @ParameterizedTest(name = "durable store: {0}")
    @ValueSource(booleans = {false, true})
    void theSurvivorRestoresTheStoppedInstancesCountsAndTheyAreExact(boolean durable) throws Exception {
        try (KafkaClusterTestKit cluster = cluster()) {
            Map<String, Long> expected = new HashMap<>();
            produce(cluster.bootstrapServers(), 0, 20_000, expected);

            AtomicLong restored = new AtomicLong();
            KafkaStreams a = start(cluster.bootstrapServers(), "a", restored, durable);
            KafkaStreams b = start(cluster.bootstrapServers(), "b", new AtomicLong(), durable);
            try {
                await(() -> a.state() == KafkaStreams.State.RUNNING && b.state() == KafkaStreams.State.RUNNING, "both running");
                await(() -> !b.metadataForLocalThreads().iterator().next().activeTasks().isEmpty(), "b owns tasks");
                // Let both count part of the input, then stop b in the middle of it.
                await(() -> committedOutput(cluster.bootstrapServers()) > 0, "some counts committed");
                produce(cluster.bootstrapServers(), 20_000, 40_000, expected);
                b.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                        .withTimeout(Duration.ofSeconds(30)));
                produce(cluster.bootstrapServers(), 40_000, 60_000, expected);

                await(() -> a.state() == KafkaStreams.State.RUNNING
                        && a.metadataForLocalThreads().iterator().next().activeTasks().size() == PARTITIONS, "a owns every task");
                Map<String, Long> output = new HashMap<>();
                await(() -> {
                    readOutput(cluster.bootstrapServers(), output);
                    return output.equals(expected);
                }, "the output's last count of every word equals the input's");
                ReadOnlyKeyValueStore<String, Long> store = a.store(StoreQueryParameters.fromNameAndType("counts",
                        QueryableStoreTypes.keyValueStore()));
                Map<String, Long> state = new HashMap<>();
                try (var it = store.all()) {
                    it.forEachRemaining(kv -> state.put(kv.key, kv.value));
                }
                assertEquals(expected, state, "the survivor's stores hold every count");
                assertTrue(restored.get() > 0, "the survivor restored the stopped instance's counts from the changelog");
            } finally {
                a.close(Duration.ofSeconds(30));
                b.close(Duration.ofSeconds(30));
            }
        }
    }

    @Test
    void aRestartedInstanceReadsItsDurableStoreAndRestoresOnlyWhatItLacks() throws Exception {
        try (KafkaClusterTestKit cluster = cluster()) {
            Map<String, Long> expected = new HashMap<>();
            produce(cluster.bootstrapServers(), 0, 20_000, expected);
            KafkaStreams a = start(cluster.bootstrapServers(), "a", new AtomicLong(), true);
            Map<String, Long> output = new HashMap<>();
            try {
                await(() -> {
                    readOutput(cluster.bootstrapServers(), output);
                    return output.equals(expected);
                }, "every word counted");
            } finally {
                // Leaving the group lets the restarted instance take its tasks at once.
                a.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                        .withTimeout(Duration.ofSeconds(30)));
            }
            long changelog = endOffsets(cluster.bootstrapServers(), "failover-word-count-counts-changelog");
            produce(cluster.bootstrapServers(), 20_000, 30_000, expected);
            AtomicLong restored = new AtomicLong();
            KafkaStreams again = start(cluster.bootstrapServers(), "a", restored, true);
            try {
                await(() -> {
                    readOutput(cluster.bootstrapServers(), output);
                    return output.equals(expected);
                }, "every word counted after the restart");
                ReadOnlyKeyValueStore<String, Long> store = again.store(StoreQueryParameters.fromNameAndType("counts",
                        QueryableStoreTypes.keyValueStore()));
                Map<String, Long> state = new HashMap<>();
                try (var it = store.all()) {
                    it.forEachRemaining(kv -> state.put(kv.key, kv.value));
                }
                assertEquals(expected, state, "the restarted instance's stores hold every count");
                System.out.printf("restart: %d of %d changelog records restored%n", restored.get(), changelog);
                assertTrue(changelog > 1000, "the changelog holds " + changelog + " records");
                assertTrue(restored.get() * 100 < changelog, "the restart restored " + restored.get() + " of the "
                        + changelog + " changelog records: the rest came from the store's own files");
            } finally {
                again.close(Duration.ofSeconds(30));
            }
        }
    }

    private static long endOffsets(String bootstrap, String topic) {
        try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(consumerConfig(bootstrap), new StringDeserializer(), new LongDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            return c.endOffsets(parts).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private KafkaStreams start(String bootstrap, String instance, AtomicLong restored, boolean durable) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream("words", Consumed.with(Serdes.String(), Serdes.String()))
                .groupBy((key, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long>as(durable ? HashKernelStores.persistentKeyValueStore("counts")
                                : HashKernelStores.inMemoryKeyValueStore("counts"))
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
                .toStream()
                .to("counts", Produced.with(Serdes.String(), Serdes.Long()));
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "failover-word-count");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.STATE_DIR_CONFIG, dirs.resolve(instance).toString());
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 200);
        KafkaStreams streams = new KafkaStreams(builder.build(), p);
        streams.setGlobalStateRestoreListener(new StateRestoreListener() {
            @Override
            public void onRestoreStart(TopicPartition partition, String store, long start, long end) {
            }

            @Override
            public void onBatchRestored(TopicPartition partition, String store, long batchEnd, long count) {
                restored.addAndGet(count);
            }

            @Override
            public void onRestoreEnd(TopicPartition partition, String store, long total) {
            }
        });
        streams.start();
        return streams;
    }

    private static void produce(String bootstrap, int from, int to, Map<String, Long> expected) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        SplittableRandom r = new SplittableRandom(from);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            for (int i = from; i < to; i++) {
                String word = "word-" + r.nextInt(WORDS);
                producer.send(new ProducerRecord<>("words", "line-" + i, word));
                expected.merge(word, 1L, Long::sum);
            }
            producer.flush();
        }
    }

    private static Properties consumerConfig(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return p;
    }

    private static long committedOutput(String bootstrap) {
        return endOffsets(bootstrap, "counts");
    }

    /** The last committed count of every word in the output topic, read from its start. */
    private static void readOutput(String bootstrap, Map<String, Long> into) {
        try (KafkaConsumer<String, Long> c = new KafkaConsumer<>(consumerConfig(bootstrap), new StringDeserializer(), new LongDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor("counts").stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            into.clear();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, Long> rec : c.poll(Duration.ofMillis(200))) {
                    into.put(rec.key(), rec.value());
                }
            }
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(200);
        }
    }
}
