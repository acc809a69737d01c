package io.hashkernel.table;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The partitioned table's semantics: delegated writes, sync, order, backpressure, shutdown. */
class PartitionedTableTest {
    private static final long MISSING = Long.MIN_VALUE;

    private static PartitionedLongLongTable table(boolean ownerThreads, int owners, long capacity, int queue) {
        return PartitionedLongLongTable.builder().partitions(owners).capacity(capacity).queueCapacity(queue)
                .ownerThreads(ownerThreads).missingValue(MISSING).build();
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void aSyncedWriteIsSeenAndRemovesApply(boolean ownerThreads) {
        try (PartitionedLongLongTable t = table(ownerThreads, 3, 1 << 12, 64)) {
            for (long k = 0; k < 100; k++) {
                t.putAsync(k, k * 10);
            }
            t.removeAsync(7);
            t.sync();
            assertEquals(99, t.size());
            assertEquals(MISSING, t.get(7));
            assertFalse(t.containsKey(7));
            assertEquals(990, t.get(99));
            long[] keys = {99, 7, 3, 500, 3, 0};
            long[] values = new long[8];
            t.getAll(keys, 0, values, 1, keys.length);
            assertEquals(java.util.List.of(0L, 990L, MISSING, 30L, MISSING, 30L, 0L, 0L),
                    java.util.Arrays.stream(values).boxed().toList(), "grouped by partition, scattered back in order");
            assertThrows(IndexOutOfBoundsException.class, () -> t.getAll(keys, 0, values, 4, keys.length));
            long[] sum = {0};
            t.forEach((k, v) -> sum[0] += v);
            assertEquals(49500 - 70, sum[0]);
        }
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void oneProducersWritesToOneKeyApplyInOrder(boolean ownerThreads) {
        try (PartitionedLongLongTable t = table(ownerThreads, 2, 1 << 10, 8)) {
            for (long v = 1; v <= 10_000; v++) {
                t.putAsync(42, v);               // a queue of 8: the producer waits for the owner many times
            }
            t.sync();
            assertEquals(10_000, t.get(42));
        }
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void aFullQueueNeverDropsAWrite(boolean ownerThreads) {
        try (PartitionedLongLongTable t = table(ownerThreads, 1, 1 << 16, 2)) {
            for (long k = 1; k <= 30_000; k++) {
                t.putAsync(k, -k);
            }
            t.sync();
            assertEquals(30_000, t.size());
            for (long k = 1; k <= 30_000; k++) {
                assertEquals(-k, t.get(k));
            }
        }
    }

    /**
     * Several producers, random puts and removes on their own keys and on shared ones; at every
     * sync each producer's own keys equal its model, and at the end the table equals the union of
     * the models (shared keys: one of the values sent for them).
     */
    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void concurrentProducersMatchTheirModels(boolean ownerThreads) throws Exception {
        int producers = 4;
        try (PartitionedLongLongTable t = table(ownerThreads, 2, 1 << 16, 128)) {
            List<Map<Long, Long>> models = new ArrayList<>();
            Map<Long, java.util.Set<Long>> sharedValues = new ConcurrentHashMap<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                Map<Long, Long> model = new HashMap<>();
                models.add(model);
                long base = (p + 1L) << 32;
                long seed = 1000 + p;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        SplittableRandom rnd = new SplittableRandom(seed);
                        for (int i = 0; i < 20_000; i++) {
                            long key = base + rnd.nextInt(500);
                            int op = rnd.nextInt(10);
                            if (op < 5) {
                                long v = rnd.nextLong(1, Long.MAX_VALUE);
                                t.putAsync(key, v);
                                model.put(key, v);
                            } else if (op < 7) {          // a few keys at once, one maybe twice
                                long[] ks = {key, base + rnd.nextInt(500), key};
                                long[] vs = {rnd.nextLong(1, Long.MAX_VALUE), rnd.nextLong(1, Long.MAX_VALUE),
                                        rnd.nextLong(1, Long.MAX_VALUE)};
                                int n = 2 + rnd.nextInt(2);
                                t.putAllAsync(ks, 0, vs, 0, n);
                                for (int j = 0; j < n; j++) {
                                    model.put(ks[j], vs[j]);
                                }
                            } else {
                                t.removeAsync(key);
                                model.remove(key);
                            }
                            if (rnd.nextInt(8) == 0) {
                                long shared = rnd.nextInt(16);
                                long v = base + i;
                                sharedValues.computeIfAbsent(shared, k -> ConcurrentHashMap.newKeySet()).add(v);
                                t.putAsync(shared, v);
                            }
                            if (i % 997 == 0) {
                                t.sync();
                                for (Map.Entry<Long, Long> e : model.entrySet()) {
                                    if (t.get(e.getKey()) != e.getValue()) {
                                        throw new AssertionError("after sync " + e.getKey() + " = " + t.get(e.getKey())
                                                + ", sent " + e.getValue());
                                    }
                                }
                            }
                        }
                        t.sync();
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            start.countDown();
            for (Thread th : threads) {
                th.join(TimeUnit.MINUTES.toMillis(2));
                assertFalse(th.isAlive(), "a producer hung");
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            long expected = sharedValues.size();
            for (Map<Long, Long> model : models) {
                expected += model.size();
                for (Map.Entry<Long, Long> e : model.entrySet()) {
                    assertEquals(e.getValue(), t.get(e.getKey()), "key " + e.getKey());
                }
            }
            for (Map.Entry<Long, java.util.Set<Long>> e : sharedValues.entrySet()) {
                assertTrue(e.getValue().contains(t.get(e.getKey())), "shared key " + e.getKey() + " holds "
                        + t.get(e.getKey()) + ", one of the values sent");
            }
            assertEquals(expected, t.size());
        }
    }

    /** Shutting down while producers write: every write a sync() acknowledged is there; no thread hangs. */
    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void shutdownWhileBusyLosesNoAcknowledgedWrite(boolean ownerThreads) throws Exception {
        PartitionedLongLongTable t = table(ownerThreads, 2, 1 << 18, 16);
        List<List<Long>> acked = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicLong syncs = new java.util.concurrent.atomic.AtomicLong();
        for (int p = 0; p < 3; p++) {
            List<Long> mine = new ArrayList<>();
            acked.add(mine);
            long base = (p + 1L) << 40;
            threads.add(Thread.ofPlatform().start(() -> {
                List<Long> sent = new ArrayList<>();
                try {
                    for (long i = 0; ; i++) {
                        t.putAsync(base + i, i + 1);
                        sent.add(base + i);
                        if (i % 50 == 49) {
                            t.sync();
                            mine.addAll(sent);
                            sent.clear();
                            syncs.incrementAndGet();
                        }
                    }
                } catch (IllegalStateException e) {
                    // shut down: expected
                } catch (Throwable e) {
                    unexpected.compareAndSet(null, e);
                }
            }));
        }
        while (syncs.get() < 30 && unexpected.get() == null) {   // every producer under way
            Thread.onSpinWait();
        }
        t.shutdown();
        for (Thread th : threads) {
            th.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(th.isAlive(), "a producer hung after shutdown");
        }
        if (unexpected.get() != null) {
            throw new AssertionError(unexpected.get());
        }
        long total = 0;
        for (List<Long> keys : acked) {
            total += keys.size();
            for (long k : keys) {
                assertEquals((k & ((1L << 40) - 1)) + 1, t.get(k), "acknowledged write " + k);
            }
        }
        assertTrue(total > 0, "the producers got some writes acknowledged");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.putAsync(1, 1));
        assertEquals("the partitioned table is shut down: it takes no more writes", e.getMessage());
        t.close();
        assertThrows(IllegalStateException.class, () -> t.get(1), "closed memory throws, never crashes");
        assertEquals("the partitioned table is closed", assertThrows(IllegalStateException.class,
                () -> t.putAsync(1, 1)).getMessage());
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void aFullPartitionIsReportedAtSync(boolean ownerThreads) {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).capacity(64).maxCapacity(64)
                .queueCapacity(64).ownerThreads(ownerThreads).missingValue(MISSING).build()) {
            for (long k = 1; k <= 100; k++) {
                t.putAsync(k, k);
            }
            TableFullException e = assertThrows(TableFullException.class, t::sync);
            assertTrue(e.getMessage().startsWith("36 of this thread's writes since its last sync() found their partition"
                    + " full"), e.getMessage());
            assertEquals(36, e.notPut());
        }
    }

    @Test
    void tooManyProducersAndBadArgumentsSayWhatIsAllowed() throws Exception {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).maxProducers(1)
                .missingValue(MISSING).build()) {
            t.putAsync(1, 1);
            AtomicReference<Throwable> second = new AtomicReference<>();
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    t.putAsync(2, 2);
                } catch (Throwable e) {
                    second.set(e);
                }
            });
            other.join();
            assertEquals("more than 1 live threads write to this partitioned table (a slot is reused once its thread"
                    + " ends); build it with a larger maxProducers",
                    second.get().getMessage());
            assertEquals("value " + MISSING + " is this table's missingValue and cannot be stored; any other long can",
                    assertThrows(IllegalArgumentException.class, () -> t.putAsync(3, MISSING)).getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> PartitionedLongLongTable.builder().partitions(0));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PartitionedLongLongTable.builder().queueCapacity(3))
                .getMessage().contains("power of two"));
        assertThrows(IllegalArgumentException.class, () -> PartitionedLongLongTable.builder().capacity(0));
    }

    @Test
    void pinnedOwnersApplyWritesAndKeysSpreadOverPartitions() {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(2).pinOwners(true)
                .capacity(1 << 12).missingValue(MISSING).build()) {
            int[] perOwner = new int[2];
            for (long k = 0; k < 1000; k++) {
                t.putAsync(k, k + 1);
                perOwner[t.partitionOf(k)]++;
            }
            t.sync();
            assertEquals(1000, t.size());
            assertTrue(perOwner[0] > 400 && perOwner[1] > 400, "keys spread: " + perOwner[0] + "/" + perOwner[1]);
            assertTrue(t.memoryDescription().length() > 0);
        }
    }

    @Test
    void withoutOwnerThreadsTheWritersApplyTheirWrites() throws Exception {
        try (PartitionedLongLongTable t = table(false, 2, 1 << 14, 1024)) {
            assertFalse(t.hasOwnerThreads());
            int before = ownerThreadsAlive();
            for (long k = 0; k < 4 * PartitionedLongLongTable.DRAIN_EVERY; k++) {
                t.putAsync(k, k + 1);
            }
            assertEquals(before, ownerThreadsAlive(), "no thread was started");
            assertTrue(t.size() >= 2 * PartitionedLongLongTable.DRAIN_EVERY,
                    "the writer drained both partitions in turn without a sync: " + t.size());
            for (long k = 0; k < 100; k++) {
                t.putAsync(k + 10_000, 1);           // fewer than DRAIN_EVERY: waiting in the queues
            }
            t.shutdown();                       // drains them: no owner thread will
            assertEquals(4 * PartitionedLongLongTable.DRAIN_EVERY + 100, t.size());
            assertEquals(1, t.get(10_099));
        }
    }

    private static int ownerThreadsAlive() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(th -> th.getName().startsWith("hashkernel-owner-")).count();
    }

    @Test
    void withoutOwnerThreadsPutAllAppliesAtOnceAfterTheQueuedWrites() {
        try (PartitionedLongLongTable t = table(false, 2, 1 << 12, 64)) {
            t.putAsync(1, 10);
            t.putAsync(2, 20);                       // queued: fewer than DRAIN_EVERY writes
            assertEquals(0, t.size());
            t.putAllAsync(new long[] {1, 3, 4, 5}, 0, new long[] {11, 30, 40, 50}, 0, 4);
            boolean twoDrained = java.util.stream.LongStream.of(1, 3, 4, 5).anyMatch(k -> t.partitionOf(k) == t.partitionOf(2));
            assertEquals(twoDrained ? 5 : 4, t.size(), "applied by the caller, no sync: the locks were free;"
                    + " the queue of each partition it put into was drained first");
            assertEquals(11, t.get(1), "the queued 1 -> 10 was applied first");
            t.sync();
            assertEquals(20, t.get(2));
        }
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void putAllIsTheLoopOfPuts(boolean ownerThreads) {
        try (PartitionedLongLongTable t = table(ownerThreads, 3, 1 << 12, 16)) {
            long[] keys = {5, 6, 7, 5, 8, 9};
            long[] values = {0, 50, 60, 70, 55, 80, 0};
            t.putAllAsync(keys, 0, values, 1, 5);    // 5 -> 50 then 5 -> 55: the later wins
            t.sync();
            assertEquals(4, t.size());
            assertEquals(55, t.get(5));
            assertEquals(70, t.get(7));
            assertEquals(MISSING, t.get(9));
            assertThrows(IndexOutOfBoundsException.class, () -> t.putAllAsync(keys, 2, values, 0, 5));
            long[] bad = {1, MISSING, 3};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> t.putAllAsync(new long[] {100, 101, 102}, 0, bad, 0, 3));
            assertEquals("values[1] = " + MISSING + " is the table's missingValue and cannot be stored; nothing was put",
                    e.getMessage());
            t.sync();
            assertEquals(MISSING, t.get(100), "nothing was sent");
        }
    }

    /** The synchronous writes are atomic: compare-and-set increments and putIfAbsent races from several threads. */
    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void synchronousWritesAreAtomicAcrossThreads(boolean ownerThreads) throws Exception {
        try (PartitionedLongLongTable t = table(ownerThreads, 2, 1 << 12, 16)) {
            t.put(5, 0);
            int threads = 4;
            int increments = 2000;
            java.util.concurrent.atomic.AtomicInteger wins = new java.util.concurrent.atomic.AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> all = new ArrayList<>();
            for (int n = 0; n < threads; n++) {
                long mine = 1000 + n;
                all.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < increments; i++) {
                            long v;
                            do {
                                v = t.get(5);
                            } while (!t.replace(5, v, v + 1));
                            if (t.putIfAbsent(100 + i % 50, mine) == MISSING) {
                                wins.incrementAndGet();
                            }
                            t.putAsync(mine, i);            // asynchronous writes mixed in
                        }
                        t.sync();
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (Thread th : all) {
                th.join(TimeUnit.MINUTES.toMillis(2));
                assertFalse(th.isAlive(), "a writer hung");
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals((long) threads * increments, t.get(5), "no increment lost");
            assertEquals(50, wins.get(), "one putIfAbsent won each key");
            for (int n = 0; n < threads; n++) {
                assertEquals(increments - 1, t.get(1000 + n));
            }
            assertEquals(1 + 50 + threads, t.size());
            t.clear();
            assertEquals(0, t.size());
            assertTrue(t.isEmpty());
        }
    }

    @Test
    void closedTableThrowsForEveryOperation() {
        PartitionedLongLongTable t = table(false, 2, 1 << 10, 16);
        t.putAsync(1, 1);
        t.close();
        assertTrue(t.isClosed());
        assertThrows(IllegalStateException.class, () -> t.get(1));
        assertThrows(IllegalStateException.class, () -> t.put(1, 2));
        assertThrows(IllegalStateException.class, () -> t.remove(1));
        assertThrows(IllegalStateException.class, () -> t.putAll(new long[] {1}, new long[] {1}));
        assertThrows(IllegalStateException.class, t::clear);
        assertThrows(IllegalStateException.class, t::size);
        t.close();                              // idempotent
    }

    /** From 64 slots a partition to hundreds of thousands of keys while a reader reads: nothing lost or missed. */
    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void partitionsGrowWhileReadersRead(boolean ownerThreads) throws Exception {
        try (PartitionedLongLongTable t = table(ownerThreads, 2, 128, 256)) {
            long start = t.capacity();
            for (long k = 1; k <= 50; k++) {
                t.put(k, -k);
            }
            AtomicReference<Throwable> failure = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                long[] keys = new long[50];
                long[] values = new long[50];
                for (int i = 0; i < 50; i++) {
                    keys[i] = i + 1;
                }
                try {
                    while (!done.get()) {
                        for (long k = 1; k <= 50; k++) {
                            if (t.get(k) != -k) {
                                throw new AssertionError("get(" + k + ") = " + t.get(k) + " while partitions grew");
                            }
                        }
                        t.getAll(keys, 0, values, 0, 50);
                        for (int i = 0; i < 50; i++) {
                            if (values[i] != -keys[i]) {
                                throw new AssertionError("getAll " + keys[i] + " -> " + values[i]);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            long[] keys = new long[100];
            long[] values = new long[100];
            long next = 1_000;
            for (int round = 0; round < 1_000; round++) {
                for (int i = 0; i < 100; i++) {
                    keys[i] = next++;
                    values[i] = keys[i] * 2;
                }
                switch (round % 3) {
                    case 0 -> t.putAllAsync(keys, 0, values, 0, 100);
                    case 1 -> t.putAll(keys, 0, values, 0, 100);
                    default -> {
                        for (int i = 0; i < 100; i++) {
                            t.putAsync(keys[i], values[i]);
                        }
                    }
                }
            }
            t.sync();
            done.set(true);
            reader.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertEquals(50 + 100_000, t.size());
            for (long k = 1_000; k < next; k += 7) {
                assertEquals(k * 2, t.get(k));
            }
            assertTrue(t.capacity() >= 100_000 / Growth.GROW_AT && t.capacity() > start,
                    "grew from " + start + " to " + t.capacity());
            long[] sum = {0};
            t.forEach((k, v) -> sum[0]++);
            assertEquals(t.size(), sum[0]);
        }
    }

    @Test
    void theQueueKeepsOrderAndCountsApplied() {
        SpscPairQueue q = new SpscPairQueue(4);
        for (int i = 0; i < 4; i++) {
            assertTrue(q.offer(i, -i));
        }
        assertFalse(q.offer(9, 9), "full");
        List<Long> got = new ArrayList<>();
        assertEquals(3, q.drain((a, b) -> {
            got.add(a);
            assertEquals(-a, b);
        }, 3));
        assertEquals(List.of(0L, 1L, 2L), got);
        assertEquals(3, q.consumedPosition());
        assertEquals(4, q.producedPosition());
        assertEquals(1, q.pending());
        assertTrue(q.offer(4, -4) && q.offer(5, -5) && q.offer(6, -6), "three slots were freed");
        assertFalse(q.offer(7, -7), "full again");
        assertEquals(4, q.drain((a, b) -> got.add(a), 10));
        assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L), got);
        for (int lap = 0; lap < 100; lap++) {         // many laps around the ring, in order
            assertTrue(q.offer(lap, -lap) && q.offer(lap + 1000, 0));
            List<Long> round = new ArrayList<>();
            assertEquals(2, q.drain((a, b) -> round.add(a), 10));
            assertEquals(List.of((long) lap, lap + 1000L), round);
        }
        assertEquals(0, q.drain((a, b) -> got.add(a), 10));
    }
}
