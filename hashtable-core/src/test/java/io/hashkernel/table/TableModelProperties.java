package io.hashkernel.table;

import io.hashkernel.table.spi.MemoryProvider;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Model-based test: random sequences of every operation, applied to the table and to a
 * {@link HashMap} model; every result and the final contents must agree. jqwik shrinks a failure
 * to the shortest sequence of the fewest, smallest operations.
 */
class TableModelProperties {
    private static final long MISSING = -1;
    private static final int CAPACITY = 32;

    enum Kind { GET, CONTAINS, PUT, PUT_IF_ABSENT, REPLACE, REPLACE_IF, REMOVE, REMOVE_IF, SIZE, CLEAR }

    record Op(Kind kind, long key, long value, long other) {
        @Override
        public String toString() {
            return kind + "(" + key + ", " + value + ", " + other + ")";
        }
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        // Few distinct keys (so operations meet), the edge keys, and more keys than slots (so the
        // table fills up and the full-table path is exercised).
        Arbitrary<Long> keys = Arbitraries.oneOf(
                Arbitraries.longs().between(0, 48),
                Arbitraries.of(Long.MIN_VALUE, Long.MAX_VALUE, -1L));
        Arbitrary<Long> values = Arbitraries.longs().between(-3, 5);
        Arbitrary<Kind> kinds = Arbitraries.frequency(
                net.jqwik.api.Tuple.of(3, Kind.GET),
                net.jqwik.api.Tuple.of(1, Kind.CONTAINS),
                net.jqwik.api.Tuple.of(5, Kind.PUT),
                net.jqwik.api.Tuple.of(2, Kind.PUT_IF_ABSENT),
                net.jqwik.api.Tuple.of(1, Kind.REPLACE),
                net.jqwik.api.Tuple.of(1, Kind.REPLACE_IF),
                net.jqwik.api.Tuple.of(2, Kind.REMOVE),
                net.jqwik.api.Tuple.of(1, Kind.REMOVE_IF),
                net.jqwik.api.Tuple.of(1, Kind.SIZE),
                net.jqwik.api.Tuple.of(1, Kind.CLEAR));
        return Combinators.combine(kinds, keys, values, values).as(Op::new).list().ofMaxSize(120);
    }

    @Property(tries = 400)
    void tableBehavesLikeAHashMap(@ForAll("operations") List<Op> ops) {
        Map<Long, Long> model = new HashMap<>();
        Set<Long> slotted = new HashSet<>(); // keys that hold a slot (removal keeps it)
        try (ConcurrentLongLongTable table = ConcurrentLongLongTable.builder().capacity(CAPACITY)
                .missingValue(MISSING).memory(MemoryProvider.gcManaged()).seed(3).build()) {
            for (Op op : ops) {
                long k = op.key();
                long v = op.value();
                boolean storesMissing = v == MISSING;
                boolean wouldClaim = k != 0 && !slotted.contains(k);
                boolean full = slotted.size() == CAPACITY;
                switch (op.kind()) {
                    case GET -> assertEquals(model.getOrDefault(k, MISSING), table.get(k), op.toString());
                    case CONTAINS -> assertEquals(model.containsKey(k), table.containsKey(k), op.toString());
                    case PUT -> {
                        if (storesMissing) {
                            assertThrows(IllegalArgumentException.class, () -> table.put(k, v));
                        } else if (wouldClaim && full) {
                            assertThrows(TableFullException.class, () -> table.put(k, v));
                        } else {
                            Long previous = model.put(k, v);
                            assertEquals(previous == null ? MISSING : previous, table.put(k, v), op.toString());
                            claim(slotted, k);
                        }
                    }
                    case PUT_IF_ABSENT -> {
                        if (storesMissing) {
                            assertThrows(IllegalArgumentException.class, () -> table.putIfAbsent(k, v));
                        } else if (wouldClaim && full) {
                            assertThrows(TableFullException.class, () -> table.putIfAbsent(k, v));
                        } else {
                            Long previous = model.putIfAbsent(k, v);
                            assertEquals(previous == null ? MISSING : previous, table.putIfAbsent(k, v), op.toString());
                            claim(slotted, k);
                        }
                    }
                    case REPLACE -> {
                        if (storesMissing) {
                            assertThrows(IllegalArgumentException.class, () -> table.replace(k, v));
                        } else {
                            Long previous = model.replace(k, v);
                            assertEquals(previous == null ? MISSING : previous, table.replace(k, v), op.toString());
                        }
                    }
                    case REPLACE_IF -> {
                        long expected = op.other();
                        if (storesMissing || expected == MISSING) {
                            assertThrows(IllegalArgumentException.class, () -> table.replace(k, expected, v));
                        } else {
                            assertEquals(model.replace(k, expected, v), table.replace(k, expected, v), op.toString());
                        }
                    }
                    case REMOVE -> {
                        Long previous = model.remove(k);
                        assertEquals(previous == null ? MISSING : previous, table.remove(k), op.toString());
                    }
                    case REMOVE_IF -> assertEquals(model.remove(k, v), table.remove(k, v), op.toString());
                    case SIZE -> assertEquals(model.size(), table.size(), op.toString());
                    case CLEAR -> {
                        model.clear();              // the keys keep their slots, as after remove
                        table.clear();
                    }
                }
            }
            Map<Long, Long> contents = new HashMap<>();
            table.forEach(contents::put);
            assertEquals(model, contents);
            assertEquals(model.size(), table.size());
        }
    }

    private static void claim(Set<Long> slotted, long key) {
        if (key != 0) {
            slotted.add(key);
        }
    }
}
