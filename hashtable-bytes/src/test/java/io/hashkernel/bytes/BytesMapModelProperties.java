package io.hashkernel.bytes;

import io.hashkernel.table.TableFullException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Model-based test: random sequences of every operation (single and batched reads, the writes,
 * compaction, clear, forEach) on the map and on a {@code HashMap<ByteBuffer, byte[]>}; every result
 * and the final contents must agree. Small slabs (many slabs, many compactions), keys and values
 * of lengths 0 to 40 (and a few larger than a slab), with the real hash and with a hash of four
 * values (every chain long), and sometimes a memory limit (a write it refuses must change nothing).
 */
class BytesMapModelProperties {

    enum Kind { GET, CONTAINS, PUT, SET, PUT_IF_ABSENT, REMOVE, GET_ALL, COMPACT, CLEAR, FOR_EACH, SIZE }

    record Op(Kind kind, int key, int valueLength, byte fill) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Kind> kind = Arbitraries.frequency(
                Tuple.of(12, Kind.GET), Tuple.of(2, Kind.CONTAINS), Tuple.of(12, Kind.PUT), Tuple.of(4, Kind.SET),
                Tuple.of(4, Kind.PUT_IF_ABSENT), Tuple.of(6, Kind.REMOVE), Tuple.of(2, Kind.GET_ALL),
                Tuple.of(2, Kind.COMPACT), Tuple.of(2, Kind.SIZE), Tuple.of(1, Kind.CLEAR), Tuple.of(1, Kind.FOR_EACH));
        Arbitrary<Integer> valueLength = Arbitraries.frequencyOf(
                Tuple.of(30, Arbitraries.integers().between(0, 40)),
                Tuple.of(1, Arbitraries.integers().between(4000, 9000)));
        Op dummy = new Op(Kind.GET, 0, 0, (byte) 0);
        return Combinators.combine(kind, Arbitraries.integers().between(0, 60), valueLength, Arbitraries.bytes())
                .as(Op::new).list().ofMaxSize(400).map(ops -> ops.isEmpty() ? List.of(dummy) : ops);
    }

    /** Key {@code k}: lengths 0 to 20, so some keys are prefixes of others. */
    static byte[] key(int k) {
        byte[] key = new byte[k % 21];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (k * 31 + i);
        }
        return key;
    }

    static byte[] value(Op op) {
        byte[] v = new byte[op.valueLength()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (byte) (op.fill() + i);
        }
        return v;
    }

    @Property(tries = 150)
    void agreesWithAHashMap(@ForAll("operations") List<Op> ops) {
        check(ops, KeyHash.WY, Long.MAX_VALUE);
    }

    @Property(tries = 150)
    void agreesWithAHashMapWhenEveryKeyCollides(@ForAll("operations") List<Op> ops) {
        check(ops, ConcurrentBytesMapTest.FOUR, Long.MAX_VALUE);
    }

    @Property(tries = 100)
    void agreesWithAHashMapUnderAMemoryLimit(@ForAll("operations") List<Op> ops) {
        check(ops, KeyHash.WY, 6 * 4096);
    }

    private static void check(List<Op> ops, KeyHash hash, long maxBytes) {
        ConcurrentBytesMap.Builder b = ConcurrentBytesMap.builder().hash(hash).slabBytes(4096);
        if (maxBytes != Long.MAX_VALUE) {
            b.maxBytes(maxBytes);
        }
        Map<ByteBuffer, byte[]> model = new HashMap<>();
        try (ConcurrentBytesMap map = b.build()) {
            for (Op op : ops) {
                byte[] k = key(op.key());
                ByteBuffer mk = ByteBuffer.wrap(k);
                try {
                    switch (op.kind()) {
                        case GET -> assertArrayEquals(model.get(mk), map.get(k), op.toString());
                        case CONTAINS -> assertEquals(model.containsKey(mk), map.containsKey(k), op.toString());
                        case PUT -> {
                            byte[] v = value(op);
                            byte[] old = map.put(k, v);
                            assertArrayEquals(model.put(mk, v), old, op.toString());
                        }
                        case SET -> {
                            byte[] v = value(op);
                            boolean added = map.set(k, v);
                            assertEquals(model.put(mk, v) == null, added, op.toString());
                        }
                        case PUT_IF_ABSENT -> {
                            byte[] v = value(op);
                            byte[] current = map.putIfAbsent(k, v);
                            assertArrayEquals(model.putIfAbsent(mk, v), current, op.toString());
                        }
                        case REMOVE -> assertArrayEquals(model.remove(mk), map.remove(k), op.toString());
                        case GET_ALL -> {
                            byte[][] keys = new byte[10][];
                            for (int i = 0; i < keys.length; i++) {
                                keys[i] = key(op.key() + i * 7);
                            }
                            byte[][] values = new byte[10][];
                            map.getAll(keys, values);
                            for (int i = 0; i < keys.length; i++) {
                                assertArrayEquals(model.get(ByteBuffer.wrap(keys[i])), values[i], op + " key " + i);
                            }
                        }
                        case COMPACT -> map.compact();
                        case CLEAR -> {
                            map.clear();
                            model.clear();
                        }
                        case FOR_EACH -> {
                            Map<ByteBuffer, byte[]> seen = new HashMap<>();
                            map.forEach((key, value) -> seen.put(ByteBuffer.wrap(key), value));
                            assertContents(model, seen);
                        }
                        case SIZE -> assertEquals(model.size(), map.size(), op.toString());
                    }
                } catch (TableFullException e) {
                    if (maxBytes == Long.MAX_VALUE) {
                        throw e;
                    }
                    // Refused: nothing changed, which the next reads check.
                }
            }
            for (int k = 0; k <= 60 + 9 * 7; k++) {
                assertArrayEquals(model.get(ByteBuffer.wrap(key(k))), map.get(key(k)), "key " + k);
            }
            assertEquals(model.size(), map.size());
            Map<ByteBuffer, byte[]> seen = new HashMap<>();
            map.forEach((key, value) -> seen.put(ByteBuffer.wrap(key), value));
            assertContents(model, seen);
            if (maxBytes != Long.MAX_VALUE) {
                assertEquals(true, map.memoryBytes() <= maxBytes + 4096, "memory " + map.memoryBytes()
                        + ": at most the limit and the compactor's slab");
            }
        }
    }

    private static void assertContents(Map<ByteBuffer, byte[]> model, Map<ByteBuffer, byte[]> seen) {
        assertEquals(model.keySet(), seen.keySet());
        List<String> wrong = new ArrayList<>();
        model.forEach((k, v) -> {
            if (!java.util.Arrays.equals(v, seen.get(k))) {
                wrong.add(k.toString());
            }
        });
        assertEquals(List.of(), wrong);
    }
}
