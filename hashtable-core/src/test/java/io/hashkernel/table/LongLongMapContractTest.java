package io.hashkernel.table;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@link LongLongMap} contract, as a user sees it, run against every implementation and
 * configuration ({@link Flavor}); tagged {@code lines} so that it also runs with the scalar line
 * compare.
 */
@Tag("lines")
class LongLongMapContractTest {
    private static final long MISSING = -7;
    private static final long[] EDGE_KEYS = {0, -1, 1, Long.MIN_VALUE, Long.MAX_VALUE, MISSING};

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void singleCallsBehaveAsAMapOnEveryKey(Flavor flavor) {
        try (LongLongMap m = flavor.build(64, MISSING)) {
            assertEquals(MISSING, m.missingValue());
            for (long k : EDGE_KEYS) {
                String at = "key " + k;
                assertEquals(MISSING, m.get(k), at);
                assertFalse(m.containsKey(k), at);
                assertEquals(MISSING, m.replace(k, 5), at + ": replace of an absent key puts nothing");
                assertFalse(m.containsKey(k), at);
                assertEquals(MISSING, m.put(k, 10), at);
                assertEquals(10, m.put(k, 11), at);
                assertEquals(11, m.putIfAbsent(k, 12), at);
                assertEquals(11, m.get(k), at);
                assertTrue(m.containsKey(k), at);
                assertFalse(m.replace(k, 10, 13), at);
                assertTrue(m.replace(k, 11, 13), at);
                assertEquals(13, m.replace(k, 14), at);
                assertFalse(m.remove(k, 13), at);
                assertTrue(m.remove(k, 14), at);
                assertEquals(MISSING, m.remove(k), at);
                assertEquals(MISSING, m.putIfAbsent(k, Long.MAX_VALUE), at);
                assertEquals(Long.MAX_VALUE, m.get(k), at);
            }
            assertEquals(EDGE_KEYS.length, m.size());
            Map<Long, Long> seen = new HashMap<>();
            m.forEach((k, v) -> assertEquals(null, seen.put(k, v), "each key once"));
            assertEquals(EDGE_KEYS.length, seen.size());
            for (long k : EDGE_KEYS) {
                assertEquals(Long.MAX_VALUE, seen.get(k));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void theMissingValueCannotBeStoredAndNothingIsPut(Flavor flavor) {
        try (LongLongMap m = flavor.build(64, MISSING)) {
            assertThrows(IllegalArgumentException.class, () -> m.put(1, MISSING));
            assertThrows(IllegalArgumentException.class, () -> m.putIfAbsent(1, MISSING));
            assertThrows(IllegalArgumentException.class, () -> m.replace(1, MISSING));
            assertThrows(IllegalArgumentException.class, () -> m.replace(1, 2, MISSING));
            var e = assertThrows(IllegalArgumentException.class,
                    () -> m.putAll(new long[] {1, 2, 3}, new long[] {1, MISSING, 3}));
            assertTrue(e.getMessage().contains(Long.toString(MISSING)), e.getMessage());
            LongLongSession s = m.session();
            assertThrows(IllegalArgumentException.class, () -> s.put(1, 1, MISSING));
            s.flush();
            assertEquals(0, s.completed(), "nothing was submitted");
            assertEquals(0, m.size());
            assertTrue(m.isEmpty());
        }
        try (LongLongMap zero = flavor.build(64, 0)) {
            assertThrows(IllegalArgumentException.class, () -> zero.put(1, 0), "the default missing value, 0");
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void bulkCallsEqualTheLoopOfSingleCalls(Flavor flavor) {
        SplittableRandom random = new SplittableRandom(flavor.ordinal());
        try (LongLongMap m = flavor.build(4096, MISSING)) {
            Map<Long, Long> model = new HashMap<>();
            for (int round = 0; round < 20; round++) {
                int n = 1 + random.nextInt(300);
                long[] keys = new long[n];
                long[] values = new long[n];
                for (int i = 0; i < n; i++) {
                    keys[i] = i % 17 == 0 ? EDGE_KEYS[random.nextInt(EDGE_KEYS.length)] : random.nextLong(2000) - 1000;
                    values[i] = random.nextLong(1, 1 << 20);
                }
                long added = 0;
                for (int i = 0; i < n; i++) {
                    added += model.put(keys[i], values[i]) == null ? 1 : 0;   // later duplicates win
                }
                assertEquals(added, m.putAll(keys, values), "new mappings");
                long[] got = new long[n];
                m.getAll(keys, got);
                long[] inPlace = keys.clone();
                m.getAll(inPlace, inPlace);
                boolean[] present = new boolean[n];
                int count = m.containsAll(keys, present);
                for (int i = 0; i < n; i++) {
                    assertEquals(model.get(keys[i]), got[i]);
                    assertEquals(model.get(keys[i]), inPlace[i], "in place");
                    assertTrue(present[i]);
                }
                assertEquals(n, count);
                int r = random.nextInt(n);
                long[] gone = new long[r];
                for (int i = 0; i < r; i++) {
                    gone[i] = random.nextBoolean() ? keys[random.nextInt(n)] : random.nextLong();
                }
                long removed = 0;
                for (long k : gone) {
                    removed += model.remove(k) != null ? 1 : 0;
                }
                assertEquals(removed, m.removeAll(gone));
                assertEquals(model.size(), m.size());
            }
            // Offsets and lengths.
            long[] keys = {5100, 5200, 5300, 5400, 5500};
            long[] values = {0, 0, 7, 8, 0};
            assertEquals(2, m.putAll(keys, 2, values, 2, 2));
            long[] out = new long[7];
            m.getAll(keys, 1, out, 3, 4);
            assertArrayEquals(new long[] {0, 0, 0, MISSING, 7, 8, MISSING}, out);
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void bulkArgumentsAreCheckedBeforeAnythingHappens(Flavor flavor) {
        try (LongLongMap m = flavor.build(64, MISSING)) {
            long[] a = {1, 2, 3, 4, 5, 6};
            assertThrows(IndexOutOfBoundsException.class, () -> m.getAll(a, 4, new long[6], 0, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> m.putAll(a, -1, new long[6], 0, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> m.removeAll(a, 0, 7));
            assertThrows(IndexOutOfBoundsException.class, () -> m.containsAll(a, 0, new boolean[2], 0, 3));
            var overlap = assertThrows(IllegalArgumentException.class, () -> m.getAll(a, 0, a, 1, 5));
            assertTrue(overlap.getMessage().contains("overlap"), overlap.getMessage());
            assertThrows(NullPointerException.class, () -> m.getAll(null, new long[1]));
            assertEquals(0, m.size(), "nothing was put");
            assertArrayEquals(new long[] {1, 2, 3, 4, 5, 6}, a, "nothing was written");
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void aSessionReturnsEveryIdOnceWithTheSingleCallsResult(Flavor flavor) {
        SplittableRandom random = new SplittableRandom(7 + flavor.ordinal());
        try (LongLongMap m = flavor.build(1024, MISSING)) {
            Map<Long, Long> model = new HashMap<>();
            Map<Long, Long> expected = new HashMap<>();
            LongLongSession s = m.session();
            Set<Long> returned = new HashSet<>();
            long[] ids = new long[100];
            long[] results = new long[100];
            for (long id = 0; id < 5000; id++) {
                long key = random.nextInt(64) - 3;
                long value = random.nextLong(1, 1000);
                Long before;
                switch (random.nextInt(3)) {
                    case 0 -> {
                        s.get(id, key);
                        before = model.get(key);
                    }
                    case 1 -> {
                        s.put(id, key, value);
                        before = model.put(key, value);
                    }
                    default -> {
                        s.remove(id, key);
                        before = model.remove(key);
                    }
                }
                expected.put(id, before == null ? MISSING : before);
                if (random.nextInt(50) == 0) {
                    drain(s, ids, results, expected, returned);
                }
            }
            s.flush();
            assertEquals(0, s.pending());
            drain(s, ids, results, expected, returned);
            assertEquals(5000, returned.size(), "every id came back");
            assertEquals(0, s.completed());
            Map<Long, Long> contents = new HashMap<>();
            m.forEach(contents::put);
            assertEquals(model, contents);
        }
    }

    private static void drain(LongLongSession s, long[] ids, long[] results, Map<Long, Long> expected, Set<Long> returned) {
        for (int n; (n = s.poll(ids, results)) > 0; ) {
            for (int i = 0; i < n; i++) {
                assertTrue(returned.add(ids[i]), "id " + ids[i] + " came back twice");
                assertEquals(expected.get(ids[i]), results[i], "id " + ids[i]);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void sizeForEachAndClearAgreeAndTheMapIsUsableAfterClear(Flavor flavor) {
        try (LongLongMap m = flavor.build(2048, MISSING)) {
            for (long k = -500; k < 500; k++) {
                m.put(k, k * 3 + 1);
            }
            assertEquals(1000, m.size());
            assertFalse(m.isEmpty());
            List<Long> keys = new ArrayList<>();
            m.forEach((k, v) -> {
                assertEquals(k * 3 + 1, v);
                keys.add(k);
            });
            assertEquals(1000, new HashSet<>(keys).size());
            m.clear();
            assertEquals(0, m.size());
            assertTrue(m.isEmpty());
            m.forEach((k, v) -> {
                throw new AssertionError("entry after clear: " + k);
            });
            assertEquals(MISSING, m.get(7));
            assertEquals(MISSING, m.put(7, 70));
            assertEquals(70, m.get(7));
            assertEquals(1, m.size());
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void aFullMapRefusesNewKeysAndKeepsWorking(Flavor flavor) {
        try (LongLongMap m = flavor.build(64, 64, MISSING)) {
            long put = 0;
            TableFullException full = null;
            for (long k = 1; k <= 100_000 && full == null; k++) {
                try {
                    m.put(k, k);
                    put++;
                } catch (TableFullException e) {
                    full = e;
                }
            }
            assertTrue(full != null, "a bounded map fills up");
            assertTrue(full.getMessage().length() > 10, full.getMessage());
            assertTrue(put >= 32 && put <= m.capacity(), put + " keys in " + m.capacity() + " slots");
            assertEquals(put, m.size());
            assertEquals(1, m.put(1, 2), "an update needs no new slot");
            assertEquals(2, m.get(1));
            assertEquals(2, m.remove(1));
            assertEquals(put - 1, m.size());
            long[] fresh = {-1, -2, -3};
            assertThrows(TableFullException.class, () -> {
                for (int i = 0; i < 64; i++) {
                    m.putAll(new long[] {-10 - 3L * i, -11 - 3L * i, -12 - 3L * i}, fresh.clone());
                }
            });
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void theFiguresAreReportedTheSameWay(Flavor flavor) {
        try (LongLongMap m = flavor.build(1000, MISSING)) {
            for (long k = 1; k <= 500; k++) {
                m.put(k, k);
            }
            assertTrue(m.capacity() >= 500, "capacity " + m.capacity());
            assertTrue(m.memoryBytes() >= 16 * m.capacity(), "memory " + m.memoryBytes());
            long huge = m.hugePageBytes();
            assertTrue(huge == -1 || (huge >= 0 && huge <= m.memoryBytes()), "huge pages " + huge);
            assertFalse(m.memoryDescription().isBlank());
            assertTrue(m.toString().contains(m.getClass().getSimpleName()), m.toString());
        }
    }

    @ParameterizedTest
    @EnumSource(Flavor.class)
    void afterCloseEveryCallThrowsAndCloseIsIdempotent(Flavor flavor) {
        LongLongMap m = flavor.build(64, MISSING);
        m.put(1, 2);
        LongLongSession s = m.session();
        s.put(1, 3, 4);
        m.close();
        assertTrue(m.isClosed());
        m.close();
        List<Runnable> calls = List.of(
                () -> m.get(1), () -> m.containsKey(1), () -> m.put(1, 1), () -> m.putIfAbsent(1, 1),
                () -> m.replace(1, 1), () -> m.replace(1, 2, 3), () -> m.remove(1), () -> m.remove(1, 2),
                () -> m.getAll(new long[] {1}, new long[1]), () -> m.putAll(new long[] {1}, new long[] {1}),
                () -> m.removeAll(new long[] {1}), () -> m.containsAll(new long[] {1}, new boolean[1]),
                m::size, () -> m.forEach((k, v) -> { }), m::clear, m::session,
                s::flush, () -> s.get(2, 1));
        for (int i = 0; i < calls.size(); i++) {
            Runnable call = calls.get(i);
            assertThrows(IllegalStateException.class, call::run, "call " + i + " after close");
        }
        assertTrue(m.toString().contains("closed"), m.toString());
    }
}
