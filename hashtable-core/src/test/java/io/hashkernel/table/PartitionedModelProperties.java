package io.hashkernel.table;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Model-based test of the partitioned table: random sequences of its synchronous map operations
 * and its asynchronous writes, against a {@link HashMap} model. Every synchronous result must
 * agree with the model, which requires this thread's queued writes to a partition to be applied
 * before its synchronous write there. A key with an asynchronous write not yet known to be
 * applied (no {@code sync()} and no synchronous write to its partition since) is not read.
 */
class PartitionedModelProperties {
    private static final long MISSING = -1;

    enum Kind {
        GET, CONTAINS, PUT, PUT_IF_ABSENT, REPLACE, REPLACE_IF, REMOVE, REMOVE_IF, SIZE, CLEAR,
        PUT_ASYNC, REMOVE_ASYNC, SYNC, PUT_ALL, REMOVE_ALL
    }

    record Op(Kind kind, long key, long value, long other) {
        @Override
        public String toString() {
            return kind + "(" + key + ", " + value + ", " + other + ")";
        }
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        Arbitrary<Long> keys = Arbitraries.oneOf(Arbitraries.longs().between(0, 24),
                Arbitraries.of(Long.MIN_VALUE, Long.MAX_VALUE, -1L));
        Arbitrary<Long> values = Arbitraries.longs().between(-2, 5);
        Arbitrary<Kind> kinds = Arbitraries.frequency(
                Tuple.of(3, Kind.GET), Tuple.of(1, Kind.CONTAINS), Tuple.of(3, Kind.PUT),
                Tuple.of(2, Kind.PUT_IF_ABSENT), Tuple.of(1, Kind.REPLACE), Tuple.of(1, Kind.REPLACE_IF),
                Tuple.of(2, Kind.REMOVE), Tuple.of(1, Kind.REMOVE_IF), Tuple.of(1, Kind.SIZE),
                Tuple.of(1, Kind.CLEAR), Tuple.of(4, Kind.PUT_ASYNC), Tuple.of(2, Kind.REMOVE_ASYNC),
                Tuple.of(1, Kind.SYNC), Tuple.of(1, Kind.PUT_ALL), Tuple.of(1, Kind.REMOVE_ALL));
        return Combinators.combine(kinds, keys, values, values).as(Op::new).list().ofMaxSize(100);
    }

    @Property(tries = 300)
    void partitionedTableBehavesLikeAHashMap(@ForAll("operations") List<Op> ops, @ForAll boolean ownerThreads) {
        Map<Long, Long> model = new HashMap<>();
        Set<Long> unsynced = new HashSet<>();
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().owners(3).capacity(1 << 10)
                .queueCapacity(8).ownerThreads(ownerThreads).missingValue(MISSING).build()) {
            for (Op op : ops) {
                long k = op.key();
                long v = op.value();
                long k2 = op.other() + 7;          // a second key for the bulk calls
                boolean bad = v == MISSING;
                switch (op.kind()) {
                    case GET -> {
                        if (!unsynced.contains(k)) {
                            assertEquals(model.getOrDefault(k, MISSING), t.get(k), op.toString());
                        }
                    }
                    case CONTAINS -> {
                        if (!unsynced.contains(k)) {
                            assertEquals(model.containsKey(k), t.containsKey(k), op.toString());
                        }
                    }
                    case SIZE -> {
                        if (unsynced.isEmpty()) {
                            assertEquals(model.size(), t.size(), op.toString());
                        }
                    }
                    case PUT -> {
                        if (bad) {
                            assertThrows(IllegalArgumentException.class, () -> t.put(k, v));
                        } else {
                            applied(t, unsynced, k);
                            assertEquals(orMissing(model.put(k, v)), t.put(k, v), op.toString());
                        }
                    }
                    case PUT_IF_ABSENT -> {
                        if (bad) {
                            assertThrows(IllegalArgumentException.class, () -> t.putIfAbsent(k, v));
                        } else {
                            applied(t, unsynced, k);
                            assertEquals(orMissing(model.putIfAbsent(k, v)), t.putIfAbsent(k, v), op.toString());
                        }
                    }
                    case REPLACE -> {
                        if (!bad) {
                            applied(t, unsynced, k);
                            assertEquals(orMissing(model.replace(k, v)), t.replace(k, v), op.toString());
                        }
                    }
                    case REPLACE_IF -> {
                        long expected = op.other();
                        if (!bad && expected != MISSING) {
                            applied(t, unsynced, k);
                            assertEquals(model.replace(k, expected, v), t.replace(k, expected, v), op.toString());
                        }
                    }
                    case REMOVE -> {
                        applied(t, unsynced, k);
                        assertEquals(orMissing(model.remove(k)), t.remove(k), op.toString());
                    }
                    case REMOVE_IF -> {
                        applied(t, unsynced, k);
                        assertEquals(model.remove(k, v), t.remove(k, v), op.toString());
                    }
                    case CLEAR -> {
                        t.clear();
                        model.clear();
                        unsynced.clear();
                    }
                    case PUT_ASYNC -> {
                        if (bad) {
                            assertThrows(IllegalArgumentException.class, () -> t.putAsync(k, v));
                        } else {
                            t.putAsync(k, v);
                            model.put(k, v);
                            unsynced.add(k);
                        }
                    }
                    case REMOVE_ASYNC -> {
                        t.removeAsync(k);
                        model.remove(k);
                        unsynced.add(k);
                    }
                    case SYNC -> {
                        t.sync();
                        unsynced.clear();
                    }
                    case PUT_ALL -> {
                        long[] keys = {k, k2, k};
                        long[] values = {v, v + 1, v + 2};
                        if (java.util.Arrays.stream(values).anyMatch(x -> x == MISSING)) {
                            assertThrows(IllegalArgumentException.class, () -> t.putAll(keys, values), "nothing put");
                        } else {
                            applied(t, unsynced, k);
                            applied(t, unsynced, k2);
                            long added = 0;
                            for (int i = 0; i < 3; i++) {
                                added += model.put(keys[i], values[i]) == null ? 1 : 0;
                            }
                            assertEquals(added, t.putAll(keys, values), op.toString());
                        }
                    }
                    case REMOVE_ALL -> {
                        long[] keys = {k, k2};
                        applied(t, unsynced, k);
                        applied(t, unsynced, k2);
                        long removed = (model.remove(k) != null ? 1 : 0) + (model.remove(k2) != null ? 1 : 0);
                        assertEquals(removed, t.removeAll(keys), op.toString());
                    }
                }
            }
            t.sync();
            Map<Long, Long> contents = new HashMap<>();
            t.forEach(contents::put);
            assertEquals(model, contents);
            assertEquals(model.size(), t.size());
        }
    }

    /** A synchronous write to {@code key}'s partition applies this thread's queued writes there first. */
    private static void applied(PartitionedLongLongTable t, Set<Long> unsynced, long key) {
        int partition = t.ownerOf(key);
        unsynced.removeIf(k -> t.ownerOf(k) == partition);
    }

    private static long orMissing(Long value) {
        return value == null ? MISSING : value;
    }
}
