package io.hashkernel.table;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.Tuple;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Model-based test of every {@link Flavor}: random sequences of every operation (single calls,
 * bulk calls, session pieces, clear, and each table's own: the growing table's compaction, the
 * partitioned table's asynchronous writes and sync) applied to the map and to a {@link HashMap};
 * every result and the final contents must agree. jqwik shrinks a failure to the shortest sequence
 * of the fewest, smallest operations.
 *
 * <p>Room is modelled exactly where it is deterministic: the fixed table of 32 slots refuses a
 * single call's new key exactly when every slot holds a key (removed and cleared keys keep their
 * slots); the growing table (from 4 slots up to 64) always takes 48 live entries; the partitioned
 * table never fills here. A bulk call or session piece that might not fit is skipped, since which
 * of its new keys gets the last slot is not specified. On the partitioned table, a key with an
 * asynchronous write not yet known to be applied (no {@code sync()} and no synchronous write to
 * its partition since) is not read.
 */
@Tag("lines")
class LongLongMapModelProperties {
    private static final long MISSING = -1;
    private static final int FIXED_SLOTS = 32;
    private static final int GROWING_MAX = 64;
    private static final long GROWING_ROOM = (long) (GROWING_MAX * Growth.GROW_AT);

    enum Kind {
        GET, CONTAINS, PUT, PUT_IF_ABSENT, REPLACE, REPLACE_IF, REMOVE, REMOVE_IF, SIZE, CLEAR,
        PUT_ALL, REMOVE_ALL, GET_ALL, GET_ALL_IN_PLACE, CONTAINS_ALL, SESSION,
        COMPACT, PUT_ASYNC, REMOVE_ASYNC, SYNC
    }

    record Op(Kind kind, long key, long value, long other) {
        @Override
        public String toString() {
            return kind + "(" + key + ", " + value + ", " + other + ")";
        }
    }

    @Provide
    Arbitrary<List<Op>> operations() {
        // Few distinct keys (so operations meet), the edge keys, and more keys than the fixed
        // table's slots (so it fills up).
        Arbitrary<Long> keys = Arbitraries.oneOf(Arbitraries.longs().between(0, 48),
                Arbitraries.of(Long.MIN_VALUE, Long.MAX_VALUE, -1L));
        Arbitrary<Long> values = Arbitraries.longs().between(-3, 5);
        Arbitrary<Kind> kinds = Arbitraries.frequency(
                Tuple.of(3, Kind.GET), Tuple.of(1, Kind.CONTAINS), Tuple.of(5, Kind.PUT),
                Tuple.of(2, Kind.PUT_IF_ABSENT), Tuple.of(1, Kind.REPLACE), Tuple.of(1, Kind.REPLACE_IF),
                Tuple.of(3, Kind.REMOVE), Tuple.of(1, Kind.REMOVE_IF), Tuple.of(1, Kind.SIZE),
                Tuple.of(1, Kind.CLEAR), Tuple.of(2, Kind.PUT_ALL), Tuple.of(1, Kind.REMOVE_ALL),
                Tuple.of(1, Kind.GET_ALL), Tuple.of(1, Kind.GET_ALL_IN_PLACE), Tuple.of(1, Kind.CONTAINS_ALL),
                Tuple.of(2, Kind.SESSION), Tuple.of(1, Kind.COMPACT), Tuple.of(4, Kind.PUT_ASYNC),
                Tuple.of(2, Kind.REMOVE_ASYNC), Tuple.of(1, Kind.SYNC));
        return Combinators.combine(kinds, keys, values, values).as(Op::new).list().ofMaxSize(150);
    }

    @Property(tries = 600)
    void everyMapBehavesLikeAHashMap(@ForAll Flavor flavor, @ForAll("operations") List<Op> ops) {
        LongLongMap map = switch (flavor) {
            case FIXED -> flavor.build(FIXED_SLOTS, FIXED_SLOTS, MISSING);
            case GROWING -> flavor.build(4, GROWING_MAX, MISSING);
            default -> flavor.build(1024, 1 << 20, MISSING);
        };
        try (map) {
            new Run(flavor, map).apply(ops);
        }
    }

    /** One sequence against one map and its model. */
    private static final class Run {
        final Flavor flavor;
        final LongLongMap map;
        final Map<Long, Long> model = new HashMap<>();
        /** The fixed table: keys that hold a slot (removal and clear keep it). */
        final Set<Long> slotted = new HashSet<>();
        /** The partitioned table: keys with an asynchronous write that may not be applied yet. */
        final Set<Long> unsynced = new HashSet<>();

        Run(Flavor flavor, LongLongMap map) {
            this.flavor = flavor;
            this.map = map;
        }

        void apply(List<Op> ops) {
            for (Op op : ops) {
                step(op);
                if (flavor == Flavor.GROWING && map.capacity() > GROWING_MAX) {
                    throw new AssertionError("grew past its maximum: " + map.capacity());
                }
            }
            Flavor.sync(map);
            Map<Long, Long> contents = new HashMap<>();
            map.forEach(contents::put);
            assertEquals(model, contents);
            assertEquals(model.size(), map.size());
        }

        private void step(Op op) {
            long k = op.key();
            long v = op.value();
            String at = op.toString();
            boolean bad = v == MISSING;
            switch (op.kind()) {
                case GET -> {
                    if (readable(k)) {
                        assertEquals(orMissing(model.get(k)), map.get(k), at);
                    }
                }
                case CONTAINS -> {
                    if (readable(k)) {
                        assertEquals(model.containsKey(k), map.containsKey(k), at);
                    }
                }
                case SIZE -> {
                    if (unsynced.isEmpty()) {
                        assertEquals(model.size(), map.size(), at);
                    }
                }
                case PUT, PUT_IF_ABSENT -> {
                    boolean put = op.kind() == Kind.PUT;
                    if (bad) {
                        assertThrows(IllegalArgumentException.class, () -> {
                            if (put) {
                                map.put(k, v);
                            } else {
                                map.putIfAbsent(k, v);
                            }
                        }, at);
                        return;
                    }
                    written(k);
                    Boolean fits = fits(Set.of(k));
                    if (fits == null) {
                        return;                      // may or may not fit: not modelled
                    }
                    if (!fits) {
                        assertThrows(TableFullException.class, () -> map.put(k, v), at);
                        return;
                    }
                    Long before = put ? model.put(k, v) : model.putIfAbsent(k, v);
                    assertEquals(orMissing(before), put ? map.put(k, v) : map.putIfAbsent(k, v), at);
                    claimed(k);
                }
                case REPLACE -> {
                    if (bad) {
                        assertThrows(IllegalArgumentException.class, () -> map.replace(k, v), at);
                    } else {
                        written(k);
                        assertEquals(orMissing(model.replace(k, v)), map.replace(k, v), at);
                    }
                }
                case REPLACE_IF -> {
                    long expected = op.other();
                    if (bad || expected == MISSING) {
                        assertThrows(IllegalArgumentException.class, () -> map.replace(k, expected, v), at);
                    } else {
                        written(k);
                        assertEquals(model.replace(k, expected, v), map.replace(k, expected, v), at);
                    }
                }
                case REMOVE -> {
                    written(k);
                    assertEquals(orMissing(model.remove(k)), map.remove(k), at);
                }
                case REMOVE_IF -> {
                    written(k);
                    assertEquals(model.remove(k, v), map.remove(k, v), at);
                }
                case CLEAR -> {
                    map.clear();
                    model.clear();
                    unsynced.clear();
                }
                case PUT_ALL -> {
                    long k2 = op.other() + 7;
                    long[] keys = {k, k2, k};
                    long[] values = {v, v + 1, v + 2};
                    if (bad || v + 1 == MISSING || v + 2 == MISSING) {
                        assertThrows(IllegalArgumentException.class, () -> map.putAll(keys, values), at);
                        return;                      // nothing put
                    }
                    written(k);
                    written(k2);
                    if (!Boolean.TRUE.equals(fits(new HashSet<>(List.of(k, k2))))) {
                        return;
                    }
                    long added = 0;
                    for (int i = 0; i < 3; i++) {
                        added += model.put(keys[i], values[i]) == null ? 1 : 0;
                        claimed(keys[i]);
                    }
                    assertEquals(added, map.putAll(keys, values), at);
                }
                case REMOVE_ALL -> {
                    long k2 = op.other() + 7;
                    written(k);
                    written(k2);
                    long removed = (model.remove(k) != null ? 1 : 0) + (model.remove(k2) != null ? 1 : 0);
                    assertEquals(removed, map.removeAll(new long[] {k, k2, k}), at);
                }
                case GET_ALL, GET_ALL_IN_PLACE -> {
                    synced();
                    long[] keys = {k, k + 1, k, op.other()};
                    long[] values = op.kind() == Kind.GET_ALL ? new long[4] : keys;
                    long[] expected = new long[4];
                    for (int i = 0; i < 4; i++) {
                        expected[i] = orMissing(model.get(keys[i]));
                    }
                    map.getAll(keys, values);
                    assertArrayEquals(expected, values, at);
                }
                case CONTAINS_ALL -> {
                    synced();
                    long[] keys = {k, k + 1, op.other()};
                    boolean[] present = new boolean[3];
                    int count = map.containsAll(keys, present);
                    int expected = 0;
                    for (int i = 0; i < 3; i++) {
                        assertEquals(model.containsKey(keys[i]), present[i], at);
                        expected += present[i] ? 1 : 0;
                    }
                    assertEquals(expected, count, at);
                }
                case SESSION -> session(k, Math.abs(v) + 1, at);   // storable, and so is one more
                case COMPACT -> {
                    if (map instanceof GrowingLongLongTable g) {
                        g.compact();
                    }
                }
                case PUT_ASYNC -> {
                    if (map instanceof PartitionedLongLongTable p) {
                        if (bad) {
                            assertThrows(IllegalArgumentException.class, () -> p.putAsync(k, v), at);
                        } else {
                            p.putAsync(k, v);
                            model.put(k, v);
                            unsynced.add(k);
                        }
                    }
                }
                case REMOVE_ASYNC -> {
                    if (map instanceof PartitionedLongLongTable p) {
                        p.removeAsync(k);
                        model.remove(k);
                        unsynced.add(k);
                    }
                }
                case SYNC -> synced();
            }
        }

        /** put k, get k, remove k+1, put k+1, get k+1: the same results as the single calls. */
        private void session(long k, long v, String at) {
            synced();
            if (!Boolean.TRUE.equals(fits(new HashSet<>(List.of(k, k + 1))))) {
                return;
            }
            LongLongSession session = map.session();
            session.put(0, k, v);
            session.get(1, k);
            session.remove(2, k + 1);
            session.put(3, k + 1, v + 1);
            session.get(4, k + 1);
            session.flush();
            long[] expected = new long[5];
            expected[0] = orMissing(model.put(k, v));
            expected[1] = v;
            expected[2] = orMissing(model.remove(k + 1));
            expected[3] = orMissing(model.put(k + 1, v + 1));
            expected[4] = v + 1;
            claimed(k);
            claimed(k + 1);
            long[] ids = new long[8];
            long[] results = new long[8];
            assertEquals(5, session.poll(ids, results), at);
            long[] got = new long[5];
            for (int i = 0; i < 5; i++) {
                got[(int) ids[i]] = results[i];
            }
            assertArrayEquals(expected, got, at);
        }

        /**
         * Whether new mappings of {@code keys} fit: true, false (certainly refused), or null (not
         * modelled: the growing table near its maximum).
         */
        private Boolean fits(Set<Long> keys) {
            Set<Long> fresh = new LinkedHashSet<>();
            for (long key : keys) {
                if (flavor == Flavor.FIXED ? key != 0 && !slotted.contains(key) : !model.containsKey(key)) {
                    fresh.add(key);
                }
            }
            return switch (flavor) {
                case FIXED -> slotted.size() + fresh.size() <= FIXED_SLOTS ? Boolean.TRUE
                        : keys.size() == 1 ? Boolean.FALSE : null;
                case GROWING -> fresh.isEmpty() || model.size() + fresh.size() <= GROWING_ROOM ? Boolean.TRUE : null;
                default -> Boolean.TRUE;
            };
        }

        private void claimed(long key) {
            if (flavor == Flavor.FIXED && key != 0) {
                slotted.add(key);
            }
        }

        private boolean readable(long key) {
            return !unsynced.contains(key);
        }

        /** A synchronous write to {@code key}'s partition applies this thread's queued writes there first. */
        private void written(long key) {
            if (map instanceof PartitionedLongLongTable p) {
                int partition = p.partitionOf(key);
                unsynced.removeIf(u -> p.partitionOf(u) == partition);
            }
        }

        private void synced() {
            Flavor.sync(map);
            unsynced.clear();
        }
    }

    private static long orMissing(Long value) {
        return value == null ? MISSING : value;
    }
}
