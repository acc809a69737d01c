package io.hashkernel.table;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The growing table: concurrent growth from a tiny start, reclaimed removals, limits, readers during switches. */
class GrowingTableTest {
    private static final long MISSING = Long.MIN_VALUE;

    private static GrowingLongLongTable table(long initial) {
        return GrowingLongLongTable.builder().capacity(initial).missingValue(MISSING).build();
    }

    /**
     * Four writers, each with its own keys and model, from 16 slots to over a million entries:
     * puts, bulk puts and removes; at quiescent points (all writers at a barrier) and at the end
     * the table equals the union of the models.
     */
    @Test
    void concurrentWritersGrowItFromTinyToMillionsAndMatchTheirModels() throws Exception {
        int writers = 4;
        int rounds = 4;
        int perRound = 100_000;
        try (GrowingLongLongTable t = table(16)) {
            List<Map<Long, Long>> models = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicReference<String> quiescent = new AtomicReference<>();
            CyclicBarrier barrier = new CyclicBarrier(writers, () -> {
                long expected = models.stream().mapToLong(Map::size).sum();
                if (t.size() != expected) {
                    quiescent.compareAndSet(null, "size " + t.size() + " at a quiescent point, models hold " + expected);
                }
            });
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                Map<Long, Long> model = new HashMap<>();
                models.add(model);
                long base = (w + 1L) << 40;
                long seed = 77 + w;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        SplittableRandom rnd = new SplittableRandom(seed);
                        long next = 0;
                        long[] keys = new long[8];
                        long[] values = new long[8];
                        for (int round = 0; round < rounds; round++) {
                            for (int i = 0; i < perRound; i++) {
                                int op = rnd.nextInt(100);
                                if (op < 55) {
                                    long k = base + next++;
                                    long v = rnd.nextLong(0, Long.MAX_VALUE);
                                    t.put(k, v);
                                    model.put(k, v);
                                } else if (op < 65) {
                                    for (int j = 0; j < keys.length; j++) {
                                        keys[j] = base + (j % 3 == 0 && next > 0 ? rnd.nextLong(next) : next++);
                                        values[j] = rnd.nextLong(0, Long.MAX_VALUE);
                                    }
                                    t.putAll(keys, values);
                                    for (int j = 0; j < keys.length; j++) {
                                        model.put(keys[j], values[j]);
                                    }
                                } else if (op < 85 && next > 0) {
                                    long k = base + rnd.nextLong(next);
                                    Long before = model.remove(k);
                                    assertEquals(before == null ? MISSING : before, t.remove(k), "remove " + k);
                                } else if (next > 0) {
                                    long k = base + rnd.nextLong(next);
                                    assertEquals(model.getOrDefault(k, MISSING), t.get(k), "get " + k);
                                }
                            }
                            barrier.await(2, TimeUnit.MINUTES);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                        barrier.reset();
                    }
                }));
            }
            for (Thread th : threads) {
                th.join(TimeUnit.MINUTES.toMillis(5));
                assertFalse(th.isAlive(), "a writer hung");
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(null, quiescent.get());
            Map<Long, Long> all = new HashMap<>();
            models.forEach(all::putAll);
            Map<Long, Long> contents = new HashMap<>();
            t.forEach(contents::put);
            assertEquals(all, contents);
            assertEquals(all.size(), t.size());
            assertTrue(all.size() > 1_000_000, "reached millions: " + all.size());
            assertTrue(t.migrations() >= 16, "grew many times from 16 slots: " + t.migrations());
            assertTrue(t.capacity() >= all.size() / Growth.GROW_AT, "capacity " + t.capacity());
        }
    }

    /** Inserting and removing over a bounded key set for a long time: migrations reclaim, memory stays bounded. */
    @Test
    void churnOverABoundedKeySetKeepsMemoryBounded() {
        try (GrowingLongLongTable t = table(1024)) {
            SplittableRandom rnd = new SplittableRandom(5);
            Map<Long, Long> model = new HashMap<>();
            long fresh = 0;
            for (int i = 0; i < 2_000_000; i++) {
                long k = fresh++ % 10_000 + (rnd.nextBoolean() ? 0 : (long) (i / 10_000) << 32);
                if (model.size() < 300) {
                    t.put(k, i);
                    model.put(k, (long) i);
                } else {
                    long victim = model.keySet().iterator().next();
                    assertEquals(model.remove(victim), t.remove(victim));
                }
            }
            assertEquals(model.size(), t.size());
            assertTrue(t.capacity() <= 4096, "at most 300 live keys keep the table small: " + t.capacity());
            assertTrue(t.migrations() > 100, "removed keys were reclaimed by migrations: " + t.migrations());
            for (Map.Entry<Long, Long> e : model.entrySet()) {
                assertEquals(e.getValue(), t.get(e.getKey()));
            }
        }
    }

    @Test
    void readersNeverMissAKeyWhileTheTableGrowsAndSwitches() throws Exception {
        try (GrowingLongLongTable t = table(16)) {
            for (long k = 1; k <= 100; k++) {
                t.put(k, k * 3);
            }
            AtomicBoolean done = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().start(() -> {
                long[] keys = new long[100];
                long[] values = new long[100];
                for (int i = 0; i < 100; i++) {
                    keys[i] = i + 1;
                }
                try {
                    while (!done.get()) {
                        for (long k = 1; k <= 100; k++) {
                            if (t.get(k) != k * 3) {
                                throw new AssertionError("get(" + k + ") = " + t.get(k) + " during growth");
                            }
                        }
                        t.getAll(keys, values);
                        for (int i = 0; i < 100; i++) {
                            if (values[i] != keys[i] * 3) {
                                throw new AssertionError("getAll: " + keys[i] + " -> " + values[i]);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            for (long k = 1_000; k < 600_000; k++) {
                t.put(k, k);
                if (k % 50_000 == 0) {
                    t.compact();
                }
            }
            done.set(true);
            reader.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertTrue(t.migrations() >= 15, "switched many times under the reader: " + t.migrations());
        }
    }

    @Test
    void theMaximumCapacityIsAClearExceptionAndUpdatesStillWork() {
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(16).maxCapacity(64)
                .missingValue(MISSING).build()) {
            long k = 0;
            TableFullException full = null;
            while (full == null) {
                try {
                    t.put(++k, k);
                } catch (TableFullException e) {
                    full = e;
                }
            }
            assertTrue(full.getMessage().startsWith("the table is at its maximum capacity of 64 slots"), full.getMessage());
            assertTrue(full.getMessage().contains("build it with a larger maxCapacity"), full.getMessage());
            assertEquals(64, t.capacity());
            long stored = k - 1;
            assertEquals(stored, t.size());
            assertEquals(1, t.put(1, 100), "updating a present key needs no room");
            assertEquals(100, t.get(1));
            assertEquals(MISSING, t.get(k), "the failed put left nothing");
            for (long r = 1; r <= stored / 2; r++) {
                t.remove(r);
            }
            t.put(1_000, 1);                             // a compaction at 64 slots reclaims the removed ones
            assertEquals(stored - stored / 2 + 1, t.size());
            long[] many = new long[200];
            long[] values = new long[200];
            for (int i = 0; i < many.length; i++) {
                many[i] = 10_000 + i;
                values[i] = i;
            }
            TableFullException bulk = assertThrows(TableFullException.class, () -> t.putAll(many, values));
            assertTrue(bulk.getMessage().contains("maximum capacity"), bulk.getMessage());
            assertEquals(0, t.get(10_000), "the keys before the one without room were put");
        }
        assertThrows(IllegalArgumentException.class, () -> GrowingLongLongTable.builder().capacity(0));
    }

    @Test
    void clearAndCompactReleaseMemory() {
        try (GrowingLongLongTable t = table(16)) {
            for (long k = 1; k <= 10_000; k++) {
                t.put(k, k);
            }
            assertTrue(t.capacity() >= 16_384);
            for (long k = 1; k <= 9_990; k++) {
                t.remove(k);
            }
            t.compact();
            assertEquals(10, t.size());
            assertTrue(t.capacity() <= 64, "compact shrinks to what the entries need: " + t.capacity());
            assertEquals(10_000, t.get(10_000));
            t.clear();
            assertEquals(0, t.size());
            assertEquals(16, t.capacity());
            assertEquals(MISSING, t.get(10_000));
            t.put(0, 5);                                 // the key 0 (side cell) survives migrations
            for (long k = 1; k <= 100; k++) {
                t.put(k, k);
            }
            assertEquals(5, t.get(0));
            assertEquals(101, t.size());
        }
    }

    @Test
    void forEachHoldsOffMigrationsAndClosedThrows() {
        GrowingLongLongTable t = table(16);
        t.put(1, 1);
        IllegalStateException nested = assertThrows(IllegalStateException.class, () -> t.forEach((k, v) -> {
            for (long i = 100; i < 200; i++) {
                t.put(i, i);                             // needs a growth, which waits for forEach
            }
        }));
        assertTrue(nested.getMessage().contains("write after it returns"), nested.getMessage());
        t.close();
        assertTrue(t.isClosed());
        assertThrows(IllegalStateException.class, () -> t.get(1));
        assertThrows(IllegalStateException.class, () -> t.put(2, 2));
        assertThrows(IllegalStateException.class, t::compact);
        t.close();
    }

    /** What a session's requests return, computed on a model in submission order. */
    private static long expected(Map<Long, Long> model, int op, long key, long value) {
        Long previous = switch (op) {
            case 0 -> model.get(key);
            case 1 -> model.put(key, value);
            default -> model.remove(key);
        };
        return previous == null ? MISSING : previous;
    }

    /** Polls every completed result into {@code results} by id; each id must come back once. */
    private static void drain(LongLongSession s, Map<Long, Long> results) {
        long[] ids = new long[100];
        long[] values = new long[100];
        for (int n; (n = s.poll(ids, values)) > 0; ) {
            for (int i = 0; i < n; i++) {
                assertEquals(null, results.put(ids[i], values[i]), "id " + ids[i] + " came back twice");
            }
        }
    }

    /**
     * Sessions on a growing table: four threads, each with its own keys, submit gets, puts and
     * removes from 16 slots to hundreds of thousands of entries while another thread compacts
     * now and then; every id comes back once with the result of the single call in submission
     * order, and at the end the table equals the union of the models.
     */
    @Test
    void sessionsWorkWhileTheTableGrowsAndCompacts() throws Exception {
        int writers = 4;
        int requests = 300_000;
        try (GrowingLongLongTable t = table(16)) {
            List<Map<Long, Long>> models = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean done = new AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong drains = new java.util.concurrent.atomic.AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                Map<Long, Long> model = new HashMap<>();
                models.add(model);
                long base = w == 0 ? 0 : (long) w << 40;   // writer 0 also uses the key 0 (side cell)
                long seed = 500 + w;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        SplittableRandom rnd = new SplittableRandom(seed);
                        LongLongSession s = t.session();
                        Map<Long, Long> expected = new HashMap<>();
                        Map<Long, Long> results = new HashMap<>();
                        for (long id = 0; id < requests; id++) {
                            int op = rnd.nextInt(10) < 6 ? 1 : rnd.nextInt(10) < 7 ? 0 : 2;
                            long key = base + rnd.nextLong(requests / 2);
                            long value = rnd.nextLong(1, Long.MAX_VALUE);
                            expected.put(id, expected(model, op, key, value));
                            switch (op) {
                                case 0 -> s.get(id, key);
                                case 1 -> s.put(id, key, value);
                                default -> s.remove(id, key);
                            }
                            if (rnd.nextInt(1000) == 0) {
                                drain(s, results);
                                drains.incrementAndGet();
                            }
                        }
                        s.flush();
                        assertEquals(0, s.pending(), "flush leaves nothing pending");
                        drain(s, results);
                        assertEquals(0, s.completed());
                        assertEquals(expected, results, "every id once, with the single call's result");
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            Thread compactor = Thread.ofPlatform().start(() -> {
                try {
                    // A compaction after every few polls of the writers: it races their pieces.
                    for (long seen = 0; !done.get(); ) {
                        if (drains.get() >= seen + writers) {
                            seen = drains.get();
                            t.compact();
                        } else {
                            Thread.onSpinWait();
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            for (Thread th : threads) {
                th.join(TimeUnit.MINUTES.toMillis(2));
                assertFalse(th.isAlive(), "a session thread hung");
            }
            done.set(true);
            compactor.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            Map<Long, Long> union = new HashMap<>();
            models.forEach(union::putAll);
            assertEquals(union.size(), t.size());
            for (Map.Entry<Long, Long> e : union.entrySet()) {
                assertEquals(e.getValue(), t.get(e.getKey()), "key " + e.getKey());
            }
            assertTrue(t.capacity() >= 2 * union.size(), "it grew: " + t.capacity());
            assertTrue(t.migrations() > 10, "growths and compactions ran: " + t.migrations());
        }
    }

    @Test
    void aSessionAtTheMaximumCapacityReportsThePutsWithoutRoom() {
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(16).maxCapacity(64)
                .missingValue(MISSING).build()) {
            LongLongSession s = t.session();
            for (long k = 1; k <= 40; k++) {
                s.put(k, k, k);
            }
            s.get(1_000, 1);
            s.put(1_001, 1, 7);                            // an update: needs no room
            for (long k = 41; k <= 100; k++) {
                s.put(k, k, k);                            // some fit, the rest do not
            }
            s.get(1_002, 1);
            TableFullException full = assertThrows(TableFullException.class, s::flush);
            assertTrue(full.getMessage().startsWith("put with id "), full.getMessage());
            assertTrue(full.getMessage().contains("maximum capacity of 64 slots"), full.getMessage());
            assertEquals(0, s.pending());
            Map<Long, Long> results = new HashMap<>();
            drain(s, results);
            long notPut = full.notPut();
            assertEquals(103 - notPut, results.size(), "every other request completed");
            assertEquals(1, results.get(1_000L));
            assertEquals(1, results.get(1_001L));
            assertEquals(7, results.get(1_002L));
            assertEquals(100 - notPut, t.size());
            assertThrows(IllegalArgumentException.class, () -> s.put(1, 1, MISSING));
        }
    }

    @Test
    void aSessionOfAClosedTableThrows() {
        GrowingLongLongTable t = table(16);
        LongLongSession s = t.session();
        s.put(1, 1, 1);
        t.close();
        assertThrows(IllegalStateException.class, s::flush);
        assertThrows(IllegalStateException.class, () -> s.get(2, 1));
        assertThrows(IllegalStateException.class, t::session);
    }
}
