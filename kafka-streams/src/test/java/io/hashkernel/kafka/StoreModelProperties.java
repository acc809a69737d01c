package io.hashkernel.kafka;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Properties;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NoSuchElementException;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model-based test of the store's whole {@code KeyValueStore<Bytes, byte[]>} contract against a
 * {@code TreeMap<Bytes, byte[]>} (ordered as Kafka orders keys: unsigned lexicographic): random
 * sequences of puts, deletes (and puts of null), putIfAbsent, putAll, gets, ranges in both
 * directions with open and closed bounds, prefix scans and counts, with small keys so that
 * prefixes and bounds meet. Iterators are read in full and by {@code peekNextKey}.
 */
class StoreModelProperties {

    enum Kind { PUT, PUT_NULL, PUT_IF_ABSENT, PUT_ALL, DELETE, GET, RANGE, REVERSE_RANGE, ALL, REVERSE_ALL, PREFIX, COUNT }

    record Op(Kind kind, byte[] key, byte[] other, byte[] value) {
        @Override
        public String toString() {
            return kind + "(" + Arrays.toString(key) + ", " + Arrays.toString(other) + ", " + Arrays.toString(value) + ")";
        }
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        // Keys of 0 to 3 bytes from a small alphabet, high bytes included (unsigned order).
        Arbitrary<byte[]> keys = Arbitraries.of((byte) 0, (byte) 1, (byte) 0x7f, (byte) 0x80, (byte) 0xff)
                .array(byte[].class).ofMaxSize(3);
        Arbitrary<byte[]> values = Arbitraries.bytes().array(byte[].class).ofMaxSize(12);
        return Combinators.combine(Arbitraries.of(Kind.class), keys, keys, values).as(Op::new).list().ofMaxSize(200);
    }

    static KeyValueStore<Bytes, byte[]> openStore() {
        KeyValueStore<Bytes, byte[]> store = HashKernelStores.inMemoryKeyValueStore("model").get();
        MockProcessorContext<Object, Object> context = new MockProcessorContext<>();
        store.init(context.getStateStoreContext(), store);
        return store;
    }

    @Property(tries = 200)
    void agreesWithATreeMap(@ForAll("operations") List<Op> ops) {
        KeyValueStore<Bytes, byte[]> store = openStore();
        try {
            check(ops, store, new TreeMap<>());
        } finally {
            store.close();
        }
    }

    /** A task's state directory under {@code dir}, as Kafka gives it to a store. */
    static MockProcessorContext<Object, Object> contextIn(Path dir) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "model");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString());
        return new MockProcessorContext<>(p, new TaskId(0, 0), dir.resolve("0_0").toFile());
    }

    static KeyValueStore<Bytes, byte[]> openPersistent(MockProcessorContext<Object, Object> context) {
        KeyValueStore<Bytes, byte[]> store = HashKernelStores.persistentKeyValueStore("model").get();
        store.init(context.getStateStoreContext(), store);
        return store;
    }

    @Property(tries = 60)
    void theDurableStoreAgreesWithATreeMapAndAfterReopening(@ForAll("operations") List<Op> ops) throws IOException {
        Path dir = Files.createTempDirectory("store-model");
        try {
            MockProcessorContext<Object, Object> context = contextIn(dir);
            NavigableMap<Bytes, byte[]> model = new TreeMap<>();
            KeyValueStore<Bytes, byte[]> store = openPersistent(context);
            try {
                check(ops, store, model);
                store.commit(Map.of());
            } finally {
                store.close();
            }
            KeyValueStore<Bytes, byte[]> reopened = openPersistent(context);
            try {
                assertSame(entries(model), reopened.all(), "contents after reopening");
            } finally {
                reopened.close();
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    private void check(List<Op> ops, KeyValueStore<Bytes, byte[]> store, NavigableMap<Bytes, byte[]> model) {
        {
            for (Op op : ops) {
                Bytes k = Bytes.wrap(op.key());
                Bytes other = Bytes.wrap(op.other());
                String what = op.toString();
                switch (op.kind()) {
                    case PUT -> {
                        store.put(k, op.value());
                        model.put(k, op.value());
                    }
                    case PUT_NULL -> {
                        store.put(k, null);
                        model.remove(k);
                    }
                    case PUT_IF_ABSENT -> assertArrayEquals(model.putIfAbsent(k, op.value()), store.putIfAbsent(k, op.value()), what);
                    case PUT_ALL -> {
                        List<KeyValue<Bytes, byte[]>> batch = List.of(KeyValue.pair(k, op.value()), KeyValue.pair(other, null),
                                KeyValue.pair(k, op.other()));
                        store.putAll(batch);
                        model.put(k, op.value());
                        model.remove(other);
                        model.put(k, op.other());
                    }
                    case DELETE -> assertArrayEquals(model.remove(k), store.delete(k), what);
                    case GET -> assertArrayEquals(model.get(k), store.get(k), what);
                    case RANGE, REVERSE_RANGE -> {
                        // A null bound where the key is empty: open ranges too.
                        Bytes from = op.key().length == 0 ? null : k;
                        Bytes to = op.other().length == 0 ? null : other;
                        List<KeyValue<Bytes, byte[]>> expected = new ArrayList<>();
                        if (from == null || to == null || from.compareTo(to) <= 0) {
                            NavigableMap<Bytes, byte[]> sub = from == null && to == null ? model
                                    : from == null ? model.headMap(to, true)
                                    : to == null ? model.tailMap(from, true)
                                    : model.subMap(from, true, to, true);
                            (op.kind() == Kind.RANGE ? sub : sub.descendingMap()).forEach((key, v) -> expected.add(KeyValue.pair(key, v)));
                        }
                        assertSame(expected, op.kind() == Kind.RANGE ? store.range(from, to) : store.reverseRange(from, to), what);
                    }
                    case ALL -> assertSame(entries(model), store.all(), what);
                    case REVERSE_ALL -> assertSame(entries(model.descendingMap()), store.reverseAll(), what);
                    case PREFIX -> {
                        List<KeyValue<Bytes, byte[]>> expected = new ArrayList<>();
                        model.forEach((key, v) -> {
                            byte[] b = key.get();
                            if (b.length >= op.key().length && Arrays.equals(b, 0, op.key().length, op.key(), 0, op.key().length)) {
                                expected.add(KeyValue.pair(key, v));
                            }
                        });
                        assertSame(expected, store.prefixScan(op.key(), new ByteArraySerializer()), what);
                    }
                    case COUNT -> assertEquals(model.size(), store.approximateNumEntries(), what);
                }
            }
            assertSame(entries(model), store.all(), "final contents");
        }
    }

    private static List<KeyValue<Bytes, byte[]>> entries(Map<Bytes, byte[]> m) {
        List<KeyValue<Bytes, byte[]>> out = new ArrayList<>();
        m.forEach((k, v) -> out.add(KeyValue.pair(k, v)));
        return out;
    }

    /** Reads the iterator in full (peeking before each next) and closes it. */
    private static void assertSame(List<KeyValue<Bytes, byte[]>> expected, KeyValueIterator<Bytes, byte[]> it, String what) {
        List<String> got = new ArrayList<>();
        try (it) {
            while (it.hasNext()) {
                Bytes peeked = it.peekNextKey();
                KeyValue<Bytes, byte[]> kv = it.next();
                assertEquals(peeked, kv.key, what);
                got.add(kv.key + "=" + Arrays.toString(kv.value));
            }
            assertThrows(NoSuchElementException.class, it::next);
            assertThrows(NoSuchElementException.class, it::peekNextKey);
        }
        assertEquals(expected.stream().map(kv -> kv.key + "=" + Arrays.toString(kv.value)).toList(), got, what);
    }

    @Test
    void closingTheStoreClosesItsIteratorsAndRefusesCalls() {
        KeyValueStore<Bytes, byte[]> store = openStore();
        assertTrue(store.isOpen());
        store.put(Bytes.wrap(new byte[]{1}), new byte[]{1});
        store.put(Bytes.wrap(new byte[]{2}), new byte[]{2});
        KeyValueIterator<Bytes, byte[]> it = store.all();
        assertTrue(it.hasNext());
        store.close();
        assertFalse(store.isOpen());
        assertThrows(InvalidStateStoreException.class, it::hasNext);
        assertThrows(InvalidStateStoreException.class, () -> store.get(Bytes.wrap(new byte[]{1})));
        assertThrows(InvalidStateStoreException.class, () -> store.put(Bytes.wrap(new byte[]{1}), new byte[0]));
        store.close();
        KeyValueStore<Bytes, byte[]> other = openStore();
        try {
            NullPointerException e = assertThrows(NullPointerException.class, () -> other.put(null, new byte[0]));
            assertEquals("key cannot be null", e.getMessage());
            // An iterator sees a key deleted after its creation as gone, and a value changed as changed.
            other.put(Bytes.wrap(new byte[]{1}), new byte[]{1});
            other.put(Bytes.wrap(new byte[]{2}), new byte[]{2});
            try (KeyValueIterator<Bytes, byte[]> snapshot = other.all()) {
                other.delete(Bytes.wrap(new byte[]{1}));
                other.put(Bytes.wrap(new byte[]{2}), new byte[]{22});
                other.put(Bytes.wrap(new byte[]{3}), new byte[]{3});
                KeyValue<Bytes, byte[]> only = snapshot.next();
                assertEquals(Bytes.wrap(new byte[]{2}), only.key);
                assertArrayEquals(new byte[]{22}, only.value);
                assertFalse(snapshot.hasNext());
            }
        } finally {
            other.close();
        }
    }
}
