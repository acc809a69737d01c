package io.hashkernel.kafka;

import io.hashkernel.bytes.ConcurrentBytesMap;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * Kafka Streams state stores backed by HashKernel, for {@code Stores.keyValueStoreBuilder} and
 * for the DSL through {@code Materialized.as(supplier)}, in place of {@code
 * Stores.inMemoryKeyValueStore} or {@code Stores.persistentKeyValueStore}.
 *
 * <pre>{@code
 * KTable<String, Long> counts = builder.stream("words", Consumed.with(Serdes.String(), Serdes.String()))
 *         .groupBy((key, word) -> word)
 *         .count(Materialized.<String, Long>as(HashKernelStores.inMemoryKeyValueStore("counts"))
 *                 .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()));
 * }</pre>
 *
 * <p>Each task of the application gets its own store (one map per input partition); Kafka
 * Streams spreads the tasks over the application's instances and, when an instance stops,
 * restores its tasks' stores on the others from their changelog topics.
 */
public final class HashKernelStores {

    private HashKernelStores() {
    }

    /**
     * An in-memory store: the state lives off the Java heap in a {@link ConcurrentBytesMap} and is
     * restored from the changelog after a restart, as Kafka's own in-memory store is.
     *
     * @throws NullPointerException if {@code name} is null
     */
    public static KeyValueBytesStoreSupplier inMemoryKeyValueStore(String name) {
        return inMemoryKeyValueStore(name, b -> { });
    }

    /**
     * As {@link #inMemoryKeyValueStore(String)}, each store's map built with {@code options}
     * applied to a fresh builder (for instance {@code b -> b.maxBytes(1L << 30)}).
     *
     * @throws NullPointerException if an argument is null
     */
    public static KeyValueBytesStoreSupplier inMemoryKeyValueStore(String name, Consumer<ConcurrentBytesMap.Builder> options) {
        Objects.requireNonNull(name, "name cannot be null");
        Objects.requireNonNull(options, "options cannot be null");
        return new KeyValueBytesStoreSupplier() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public KeyValueStore<Bytes, byte[]> get() {
                return new HashKernelKeyValueStore(name, options);
            }

            @Override
            public String metricsScope() {
                return "hashkernel-in-memory";
            }

            @Override
            public String toString() {
                return "HashKernelStores.inMemoryKeyValueStore(" + name + ")";
            }
        };
    }
}
