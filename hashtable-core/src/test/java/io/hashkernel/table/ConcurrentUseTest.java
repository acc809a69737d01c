package io.hashkernel.table;

import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What users see when several threads use one table, on every table: {@code clear()} racing
 * writers, {@code size()} racing a put and a remove, bulk lookups in place while the table
 * migrates, and the growing table's clear, churn and full-table paths. Each test runs its
 * threads for a bounded number of operations and checks the result; the timeouts only turn a
 * hang into a failure.
 */
class ConcurrentUseTest {
    private static final long MISSING = -1;
    private static final Duration HANG = Duration.ofMinutes(2);

    record Maker(String name, Supplier<LongLongMap> make) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Maker> tables() {
        return Stream.of(
                new Maker("fixed", () -> ConcurrentLongLongTable.builder().capacity(512).missingValue(MISSING)
                        .build()),
                // As a table above the cache: batched lookups past a full home line are re-queued.
                new Maker("fixed, re-queueing", () -> ConcurrentLongLongTable.builder().capacity(512)
                        .missingValue(MISSING).inCacheBytes(0).build()),
                new Maker("growing", () -> GrowingLongLongTable.builder().capacity(64).missingValue(MISSING)
                        .build()),
                new Maker("partitioned, owner threads", () -> PartitionedLongLongTable.builder().partitions(2)
                        .capacity(64).missingValue(MISSING).build()),
                new Maker("partitioned, writers drain", () -> PartitionedLongLongTable.builder().partitions(2)
                        .ownerThreads(false).capacity(64).missingValue(MISSING).build()));
    }

    /** Runs {@code workers} on threads of their own and rethrows the first failure. */
    static void run(List<Runnable> workers) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (Runnable w : workers) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    w.run();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
    }

    /** The value a key is put with: tells which key it belongs to. */
    static long valueOf(long key, long version) {
        return key * 1_000_000 + version;
    }

    /** Checks that every entry carries its own key's value, no key comes twice, and the size agrees. */
    static void assertIntact(LongLongMap map) {
        Set<Long> seen = new HashSet<>();
        map.forEach((k, v) -> {
            assertTrue(seen.add(k), "key " + k + " seen twice");
            assertEquals(k, v / 1_000_000, "key " + k + " carries value " + v + " of another key");
        });
        assertEquals(seen.size(), map.size(), "size() against the entries forEach sees");
        for (long k : seen) {
            assertEquals(k, map.get(k) / 1_000_000);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tables")
    void clearRacingWritersNeverCorruptsTheTable(Maker maker) throws Exception {
        try (LongLongMap map = maker.make().get()) {
            AtomicBoolean stop = new AtomicBoolean();
            Runnable writer = () -> {
                SplittableRandom r = new SplittableRandom();
                for (int i = 0; i < 100_000; i++) {
                    long k = 1 + r.nextInt(400);
                    if (r.nextInt(4) == 0) {
                        map.remove(k);
                    } else {
                        long previous = map.put(k, valueOf(k, i));
                        assertTrue(previous == MISSING || previous / 1_000_000 == k,
                                "put(" + k + ") returned " + previous + ", another key's value");
                    }
                    long read = 1 + r.nextInt(400);
                    long v = map.get(read);
                    assertTrue(v == MISSING || v / 1_000_000 == read, "get(" + read + ") saw " + v);
                }
            };
            Runnable clearer = () -> {
                while (!stop.get()) {
                    map.clear();
                    assertTrue(map.size() >= 0, "size " + map.size());
                    Thread.yield();                  // let the writers in between clears
                }
            };
            Runnable writers = () -> {
                try {
                    run(List.of(writer, writer));
                } catch (Exception e) {
                    throw new AssertionError(e);
                } finally {
                    stop.set(true);
                }
            };
            run(List.of(writers, clearer));
            assertIntact(map);
            map.clear();
            assertEquals(0, map.size());
            assertTrue(map.isEmpty());
            for (long k = 1; k <= 400; k++) {
                assertEquals(MISSING, map.get(k));
            }
            for (long k = 1; k <= 400; k++) {
                map.put(k, valueOf(k, 1));
            }
            assertIntact(map);
            assertEquals(400, map.size());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tables")
    void sizeIsNeverNegativeWhileOneKeyIsPutAndRemoved(Maker maker) throws Exception {
        try (LongLongMap map = maker.make().get()) {
            AtomicBoolean done = new AtomicBoolean();
            Runnable churn = () -> {
                for (int i = 0; i < 100_000; i++) {
                    map.put(5, valueOf(5, i));
                    map.remove(5);
                }
            };
            Runnable watcher = () -> {
                while (!done.get()) {
                    long s = map.size();
                    assertTrue(s >= 0, "size " + s + " with one key");
                }
            };
            Thread w = Thread.ofPlatform().start(() -> {
                try {
                    run(List.of(churn, churn));
                } catch (Exception e) {
                    throw new AssertionError(e);
                } finally {
                    done.set(true);
                }
            });
            watcher.run();
            w.join();
            assertEquals(map.containsKey(5) ? 1 : 0, map.size());
        }
    }

    /**
     * Looks keys 1..n up in place ({@code getAll(kv, kv)}) for {@code rounds} rounds or until
     * {@code done}, asserting each answers its own value ({@code valueOf(k, 7)}); sets {@code done}.
     */
    private static Runnable inPlaceReader(LongLongMap t, int n, int rounds, AtomicBoolean done) {
        return () -> {
            try {
                long[] kv = new long[n];
                for (int round = 0; round < rounds && !done.get(); round++) {
                    for (int i = 0; i < n; i++) {
                        kv[i] = i + 1;
                    }
                    t.getAll(kv, kv);
                    for (int i = 0; i < n; i++) {
                        assertEquals(valueOf(i + 1, 7), kv[i], "key " + (i + 1) + " in place");
                    }
                }
            } finally {
                done.set(true);
            }
        };
    }

    @Test
    void inPlaceLookupsWhileTheGrowingTableMigratesAnswerTheirOwnKeys() throws Exception {
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(1 << 12).missingValue(MISSING)
                .build()) {
            int n = 2000;
            for (long k = 1; k <= n; k++) {
                t.put(k, valueOf(k, 7));
            }
            AtomicBoolean done = new AtomicBoolean();
            Runnable migrator = () -> {
                while (!done.get()) {
                    t.compact();
                }
            };
            run(List.of(migrator, inPlaceReader(t, n, 3000, done)));
            assertTrue(t.migrations() > 0);
        }
    }

    @Test
    void inPlaceLookupsWhileAPartitionGrowsAnswerTheirOwnKeys() throws Exception {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).ownerThreads(false)
                .capacity(64).missingValue(MISSING).build()) {
            int n = 40;
            for (long k = 1; k <= n; k++) {
                t.put(k, valueOf(k, 7));
            }
            AtomicBoolean done = new AtomicBoolean();
            Runnable grower = () -> {
                for (long k = 1000; !done.get() && k < 2_000_000; k++) {
                    t.put(k, valueOf(k, 1));                // new keys: the partition keeps growing
                }
                done.set(true);
            };
            run(List.of(grower, inPlaceReader(t, n, 200_000, done)));
        }
    }

    @Test
    void growingClearIsNotLostToARunningMigration() throws Exception {
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).missingValue(MISSING)
                .memory(MemoryProvider.gcManaged()).build()) {
            AtomicBoolean done = new AtomicBoolean();
            Runnable migrator = () -> {
                while (!done.get()) {
                    t.compact();
                }
            };
            Runnable user = () -> {
                try {
                    for (int i = 0; i < 20_000; i++) {
                        t.put(7, 77);
                        t.clear();
                        assertEquals(MISSING, t.get(7), "after clear(), round " + i);
                    }
                } finally {
                    done.set(true);
                }
            };
            run(List.of(migrator, user));
        }
    }

    @Test
    void writersAtTheMaximumCapacityAllReturn() {
        assertTimeoutPreemptively(HANG, () -> {
            for (int round = 0; round < 20; round++) {
                try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).maxCapacity(64)
                        .missingValue(MISSING).memory(MemoryProvider.gcManaged()).build()) {
                    Runnable writer = () -> {
                        SplittableRandom r = new SplittableRandom();
                        for (int i = 0; i < 20_000; i++) {
                            long k = 1 + r.nextLong(1_000_000);
                            try {
                                t.put(k, valueOf(k, 1));
                            } catch (TableFullException expected) {
                                // the table is at its maximum
                            }
                            if (i % 16 == 0) {
                                t.remove(k);
                            }
                        }
                    };
                    run(List.of(writer, writer, writer));
                    assertIntact(t);
                }
            }
        });
    }

    @Test
    void closeFreesAWriterWaitingForAMigration() throws Exception {
        GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).missingValue(MISSING).build();
        t.put(1, 1);
        CountDownLatch inForEach = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread iterating = Thread.ofPlatform().start(() -> {
            try {
                t.forEach((k, v) -> {
                    inForEach.countDown();
                    try {
                        release.await();                 // holds off migrations meanwhile
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            } catch (IllegalStateException closedMeanwhile) {
                // the table was closed under the iteration: expected
            }
        });
        inForEach.await();
        AtomicReference<Throwable> writerGot = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                for (long k = 2; k < 1000; k++) {
                    t.put(k, k);                         // needs a growth, which waits for forEach
                }
            } catch (Throwable e) {
                writerGot.set(e);
            }
        });
        assertTimeoutPreemptively(HANG, () -> {
            while (!waiting(writer)) {
                Thread.onSpinWait();
            }
        });
        t.close();
        assertTrue(writer.join(HANG), "the waiting writer returned after close()");
        release.countDown();
        iterating.join();
        assertTrue(writerGot.get() instanceof IllegalStateException, String.valueOf(writerGot.get()));
        assertTrue(writerGot.get().getMessage().contains("closed"), writerGot.get().getMessage());
    }

    /** Whether {@code writer} is inside the migration's wait (seen from its stack). */
    private static boolean waiting(Thread writer) {
        for (StackTraceElement e : writer.getStackTrace()) {
            if (e.getMethodName().equals("awaitNoWriters")) {
                return true;
            }
        }
        return false;
    }

    @Test
    void removingAndReputtingTheSameKeysReusesTheirSlots() {
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(1024).missingValue(MISSING)
                .build()) {
            for (long k = 1; k <= 100; k++) {
                t.put(k, valueOf(k, 0));
            }
            for (int i = 0; i < 200_000; i++) {
                long k = 1 + i % 100;
                t.remove(k);
                t.put(k, valueOf(k, i));
            }
            assertEquals(0, t.migrations(), "no slot was claimed, so nothing to migrate");
            assertEquals(1024, t.capacity());
            assertEquals(100, t.size());
        }
    }

    @Test
    void bulkPutsAtTheMaximumPutEveryKeyWithRoomAndCountTheOthers() {
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).maxCapacity(64)
                .missingValue(MISSING).memory(MemoryProvider.gcManaged()).build()) {
            assertBulkPutsPutEveryKeyWithRoom(t);
        }
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(4).ownerThreads(false)
                .capacity(256).maxCapacity(256).missingValue(MISSING).memory(MemoryProvider.gcManaged()).build()) {
            assertBulkPutsPutEveryKeyWithRoom(t);
        }
    }

    private static void assertBulkPutsPutEveryKeyWithRoom(LongLongMap t) {
        long[] keys = new long[600];
        long[] values = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = i + 1;
            values[i] = valueOf(i + 1, 3);
        }
        TableFullException e = assertThrows(TableFullException.class, () -> t.putAll(keys, values));
        long present = 0;
        for (long k : keys) {
            present += t.containsKey(k) ? 1 : 0;
        }
        assertEquals(keys.length - e.notPut(), present, e.getMessage());
        assertTrue(present > 0 && e.notPut() > 0, e.getMessage());
        // The keys that are in take an update without room.
        List<Long> in = new ArrayList<>();
        t.forEach((k, v) -> in.add(k));
        long[] inKeys = in.stream().mapToLong(Long::longValue).toArray();
        long[] inValues = java.util.Arrays.stream(inKeys).map(k -> valueOf(k, 4)).toArray();
        assertEquals(0, t.putAll(inKeys, inValues), "updates only");
        assertIntact(t);
        assertEquals(valueOf(inKeys[0], 4), t.get(inKeys[0]));
    }

    @Test
    void badBuildsAreRefusedWithTheRequestNamed() {
        var maxBelow = assertThrows(IllegalArgumentException.class, () -> GrowingLongLongTable.builder()
                .capacity(1024).maxCapacity(64).build());
        assertTrue(maxBelow.getMessage().contains("maxCapacity 64 is below capacity 1024"), maxBelow.getMessage());
        for (long bad : new long[] {Long.MAX_VALUE, 1L << 62, 0}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> PartitionedLongLongTable.builder().capacity(bad));
            assertTrue(e.getMessage().contains(Long.toString(bad)) && e.getMessage().contains("2^58"), e.getMessage());
        }
        var partitionedMax = assertThrows(IllegalArgumentException.class, () -> PartitionedLongLongTable.builder()
                .capacity(1024).maxCapacity(512).build());
        assertTrue(partitionedMax.getMessage().contains("maxCapacity 512 is below capacity 1024"),
                partitionedMax.getMessage());
        assertFalse(IllegalStateException.class.isAssignableFrom(TableFullException.class),
                "a handler of 'closed' does not swallow 'full'");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("tables")
    void overlappingBulkRangesAreRefusedAndToStringWorksAfterClose(Maker maker) {
        LongLongMap map = maker.make().get();
        long[] a = {1, 2, 3, 4, 5, 6, 7};
        var e = assertThrows(IllegalArgumentException.class, () -> map.getAll(a, 0, a, 1, 5));
        assertTrue(e.getMessage().contains("overlap"), e.getMessage());
        map.close();
        assertTrue(map.toString().contains("closed"), map.toString());
        assertThrows(IllegalStateException.class, () -> map.get(1));
    }
}
