package io.hashkernel.kafka;

import io.hashkernel.bytes.ConcurrentBytesMap;
import io.hashkernel.pm.Durability;
import io.hashkernel.pm.PersistentBytesMap;
import io.hashkernel.table.TableFullException;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Kafka Streams state stores backed by HashKernel, for {@code Stores.keyValueStoreBuilder} and
 * for the DSL through {@code Materialized.as(supplier)}, in place of {@code
 * Stores.inMemoryKeyValueStore} or {@code Stores.persistentKeyValueStore} (RocksDB).
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
        return supplier(name, false, "inMemoryKeyValueStore", (context, storeName) -> {
            ConcurrentBytesMap.Builder builder = ConcurrentBytesMap.builder();
            options.accept(builder);
            return builder.build();
        });
    }

    /**
     * A durable store: the state lives off the Java heap in a {@link PersistentBytesMap} in the
     * task's state directory ({@code <state.dir>/<application>/<task>/hashkernel/<name>}), with
     * durability {@link Durability#NONE}, {@linkplain PersistentBytesMap.Builder#writeBehind write
     * behind}: each Kafka commit forces the map's log, so what Kafka's checkpoint file records is
     * on disk, and the writes between two commits cost no system call (a crash may lose them; Kafka
     * restores them from the changelog, as it does for its RocksDB store, whose write-ahead log is
     * off). After a restart the store is read back from its files and Kafka restores only the
     * changelog records after its checkpoint; gets never touch the files.
     *
     * @throws NullPointerException if {@code name} is null
     */
    public static KeyValueBytesStoreSupplier persistentKeyValueStore(String name) {
        return persistentKeyValueStore(name, b -> { });
    }

    /**
     * As {@link #persistentKeyValueStore(String)}, each store's map opened with {@code options}
     * applied to its builder (for instance {@code b -> b.checkpointBytes(256L << 20)}).
     *
     * @throws NullPointerException if an argument is null
     */
    public static KeyValueBytesStoreSupplier persistentKeyValueStore(String name, Consumer<PersistentBytesMap.Builder> options) {
        Objects.requireNonNull(name, "name cannot be null");
        Objects.requireNonNull(options, "options cannot be null");
        return supplier(name, true, "persistentKeyValueStore", (context, storeName) -> {
            Path dir = context.stateDir().toPath().resolve("hashkernel").resolve(storeName);
            PersistentBytesMap.Builder builder = PersistentBytesMap.builder(dir).durability(Durability.NONE).writeBehind(true);
            options.accept(builder);
            try {
                return builder.open();
            } catch (IOException | TableFullException e) {
                throw new ProcessorStateException("store " + storeName + " cannot open its files in " + dir + ": "
                        + e.getMessage(), e);
            }
        });
    }

    private static KeyValueBytesStoreSupplier supplier(String name, boolean persistent, String factory,
                                                       HashKernelKeyValueStore.Opener opener) {
        return new KeyValueBytesStoreSupplier() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public KeyValueStore<Bytes, byte[]> get() {
                return new HashKernelKeyValueStore(name, persistent, opener);
            }

            @Override
            public String metricsScope() {
                return persistent ? "hashkernel-persistent" : "hashkernel-in-memory";
            }

            @Override
            public String toString() {
                return "HashKernelStores." + factory + "(" + name + ")";
            }
        };
    }
}
