package io.hashkernel.table;

import io.hashkernel.table.spi.MemoryProvider;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Model-based test of the growing table from 4 slots, bounded at 64: every operation, bulk calls,
 * session pieces, compactions and clears against a {@link HashMap}; a new key is refused exactly when the live
 * entries leave no room under the maximum capacity.
 */
class GrowingModelProperties {
    private static final long MISSING = -1;
    private static final int MAX = 64;

    enum Kind { GET, PUT, PUT_IF_ABSENT, REPLACE_IF, REMOVE, PUT_ALL, REMOVE_ALL, GET_ALL, SESSION, COMPACT, CLEAR, SIZE }

    record Op(Kind kind, long key, long value) {
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Long> keys = Arbitraries.longs().between(0, 70);
        Arbitrary<Long> values = Arbitraries.longs().between(0, 9);
        Arbitrary<Kind> kinds = Arbitraries.frequency(Tuple.of(3, Kind.GET), Tuple.of(6, Kind.PUT),
                Tuple.of(2, Kind.PUT_IF_ABSENT), Tuple.of(1, Kind.REPLACE_IF), Tuple.of(3, Kind.REMOVE),
                Tuple.of(2, Kind.PUT_ALL), Tuple.of(1, Kind.REMOVE_ALL), Tuple.of(1, Kind.GET_ALL), Tuple.of(2, Kind.SESSION),
                Tuple.of(1, Kind.COMPACT), Tuple.of(1, Kind.CLEAR), Tuple.of(1, Kind.SIZE));
        return Combinators.combine(kinds, keys, values).as(Op::new).list().ofMaxSize(200);
    }

    @Property(tries = 300)
    void growingTableBehavesLikeAHashMap(@ForAll("operations") List<Op> ops) {
        Map<Long, Long> model = new HashMap<>();
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().initialCapacity(4).maxCapacity(MAX)
                .missingValue(MISSING).memory(MemoryProvider.gcManaged()).build()) {
            long room = (long) (MAX * GrowingLongLongTable.GROW_AT);   // live entries that always fit
            for (Op op : ops) {
                long k = op.key();
                long v = op.value();
                String at = op.toString();
                switch (op.kind()) {
                    case GET -> assertEquals(model.getOrDefault(k, MISSING), t.get(k), at);
                    case PUT, PUT_IF_ABSENT -> {
                        if (!model.containsKey(k) && model.size() >= room) {
                            continue;                    // may or may not fit: not modelled
                        }
                        Long before = op.kind() == Kind.PUT ? model.put(k, v) : model.putIfAbsent(k, v);
                        long got = op.kind() == Kind.PUT ? t.put(k, v) : t.putIfAbsent(k, v);
                        assertEquals(before == null ? MISSING : before, got, at);
                    }
                    case REPLACE_IF -> assertEquals(model.replace(k, v, v + 1), t.replace(k, v, v + 1), at);
                    case REMOVE -> {
                        Long before = model.remove(k);
                        assertEquals(before == null ? MISSING : before, t.remove(k), at);
                    }
                    case PUT_ALL -> {
                        long[] keys = {k, k + 1, k};
                        long[] values = {v, v, v + 1};
                        if (model.size() + 2 > room) {
                            continue;
                        }
                        long added = 0;
                        for (int i = 0; i < 3; i++) {
                            added += model.put(keys[i], values[i]) == null ? 1 : 0;
                        }
                        assertEquals(added, t.putAll(keys, values), at);
                    }
                    case REMOVE_ALL -> {
                        long removed = (model.remove(k) != null ? 1 : 0) + (model.remove(k + 2) != null ? 1 : 0);
                        assertEquals(removed, t.removeAll(new long[] {k, k + 2}), at);
                    }
                    case GET_ALL -> {
                        long[] values = new long[2];
                        t.getAll(new long[] {k, k + 1}, values);
                        assertEquals(model.getOrDefault(k, MISSING), values[0], at);
                        assertEquals(model.getOrDefault(k + 1, MISSING), values[1], at);
                    }
                    case SESSION -> {
                        if (model.size() + 2 > room) {
                            continue;
                        }
                        // put k, get k, remove k+1, put k+1, get k+1: the same results as the single calls
                        LongLongSession session = t.session();
                        session.put(0, k, v);
                        session.get(1, k);
                        session.remove(2, k + 1);
                        session.put(3, k + 1, v + 1);
                        session.get(4, k + 1);
                        session.flush();
                        long[] expected = new long[5];
                        Long before = model.put(k, v);
                        expected[0] = before == null ? MISSING : before;
                        expected[1] = v;
                        before = model.remove(k + 1);
                        expected[2] = before == null ? MISSING : before;
                        before = model.put(k + 1, v + 1);
                        expected[3] = before == null ? MISSING : before;
                        expected[4] = v + 1;
                        long[] ids = new long[8];
                        long[] results = new long[8];
                        assertEquals(5, session.poll(ids, results), at);
                        long[] got = new long[5];
                        for (int i = 0; i < 5; i++) {
                            got[(int) ids[i]] = results[i];
                        }
                        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, got, at);
                    }
                    case COMPACT -> t.compact();
                    case CLEAR -> {
                        t.clear();
                        model.clear();
                    }
                    case SIZE -> assertEquals(model.size(), t.size(), at);
                }
                if (t.capacity() > MAX) {
                    throw new AssertionError("grew past its maximum: " + t.capacity());
                }
            }
            Map<Long, Long> contents = new HashMap<>();
            t.forEach(contents::put);
            assertEquals(model, contents);
            assertThrows(IllegalArgumentException.class, () -> t.put(1, MISSING));
        }
    }
}
