package io.hashkernel.table;

import io.hashkernel.table.spi.MemoryProvider;
import io.hashkernel.table.spi.TableMemory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.hashkernel.numa.Affinity;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.junit.jupiter.api.Assumptions;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Failures users must see as exceptions, never as a hang or a silent loss: memory refused
 * during growth (injected through the {@link MemoryProvider} SPI), full partitions, writer
 * threads that come and go, and use after close. The timeouts only turn a hang into a failure.
 */
class FailureTest {
    private static final long MISSING = -1;
    private static final Duration HANG = Duration.ofMinutes(2);

    /**
     * GC-managed memory that refuses every request while {@link #refuse} is set: with an
     * {@link IllegalArgumentException}, as the SPI says, or (made with {@code true}) with an
     * {@link OutOfMemoryError}, as a provider that runs out of native memory may.
     */
    static final class Refusing implements MemoryProvider {
        final AtomicBoolean refuse = new AtomicBoolean();
        private final boolean withError;

        Refusing() {
            this(false);
        }

        Refusing(boolean withError) {
            this.withError = withError;
        }

        @Override
        public TableMemory allocate(long bytes, long alignment) {
            if (refuse.get()) {
                if (withError) {
                    throw new OutOfMemoryError("cannot allocate " + bytes + " bytes: an error thrown by the test");
                }
                throw new IllegalArgumentException("cannot allocate " + bytes + " bytes: refused by the test");
            }
            return MemoryProvider.gcManaged().allocate(bytes, alignment);
        }
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void aPartitionWhoseGrowthIsRefusedReportsTheWritesAndKeepsWorking(boolean ownerThreads) {
        assertTimeoutPreemptively(HANG, () -> {
            Refusing memory = new Refusing();
            try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).capacity(64)
                    .ownerThreads(ownerThreads).queueCapacity(64).missingValue(MISSING).memory(memory).build()) {
                memory.refuse.set(true);
                for (long k = 1; k <= 1000; k++) {
                    t.putAsync(k, k);
                }
                IllegalStateException e = assertThrows(IllegalStateException.class, t::sync);
                assertTrue(e.getMessage().contains("could not be applied") && e.getMessage().contains("refused by the test"),
                        e.getMessage());
                long in = 0;
                for (long k = 1; k <= 1000; k++) {
                    in += t.containsKey(k) ? 1 : 0;
                }
                assertEquals(64, in, "the partition took what fitted without growing");
                t.sync();                                     // reported once
                memory.refuse.set(false);
                for (long k = 1; k <= 1000; k++) {
                    t.putAsync(k, k + 1);
                }
                t.sync();
                for (long k = 1; k <= 1000; k++) {
                    assertEquals(k + 1, t.get(k), "it grows again once memory can be had");
                }
            }
        });
    }

    @Test
    void aGrowthRefusedMemoryFailsTheWriteThatNeededItAndTheTableKeepsWorking() {
        Refusing memory = new Refusing();
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).missingValue(MISSING)
                .memory(memory).build()) {
            for (long k = 1; k <= 48; k++) {
                t.put(k, k);
            }
            memory.refuse.set(true);
            long k = 49;
            RuntimeException e = assertThrows(RuntimeException.class, () -> {
                for (long key = 49; key < 1000; key++) {
                    t.put(key, key);
                }
            });
            assertTrue(e.getMessage().contains("refused by the test"), e.getMessage());
            assertEquals(5, t.get(5));
            assertEquals(5, t.remove(5), "writes that need no room go on");
            t.put(5, 50);
            assertEquals(50, t.get(5));
            memory.refuse.set(false);
            for (; k < 1000; k++) {
                t.put(k, k);
            }
            assertEquals(999, t.size());
            assertTrue(t.capacity() > 64);
        }
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void aRunningForEachDoesNotStopGrowth(boolean ownerThreads) throws Exception {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).capacity(64)
                .ownerThreads(ownerThreads).missingValue(MISSING).build()) {
            t.put(1, 1);
            CountDownLatch inForEach = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicReference<Throwable> iterationGot = new AtomicReference<>();
            long[] seen = {0};
            Thread iterating = Thread.ofPlatform().start(() -> {
                try {
                    t.forEach((k, v) -> {
                        seen[0]++;
                        inForEach.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                } catch (Throwable e) {
                    iterationGot.set(e);
                }
            });
            inForEach.await();
            for (long k = 2; k <= 200; k++) {
                t.putAsync(k, k);
            }
            t.sync();                                        // no "partition full": it grew
            t.put(201, 201);
            assertEquals(201, t.size());
            assertTrue(t.capacity() > 64);
            release.countDown();
            iterating.join();
            assertEquals(null, iterationGot.get(), "the iteration finished in the old memory");
            assertTrue(seen[0] >= 1);
        }
    }

    @Test
    void writerSlotsComeBackWhenTheirThreadsEnd() throws Exception {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(2).maxProducers(8)
                .missingValue(MISSING).build()) {
            for (int i = 0; i < 40; i++) {
                long key = i;
                AtomicReference<Throwable> got = new AtomicReference<>();
                Thread v = Thread.ofVirtual().start(() -> {
                    try {
                        t.putAsync(key, key + 100);
                        t.sync();
                    } catch (Throwable e) {
                        got.set(e);
                    }
                });
                v.join();
                assertEquals(null, got.get(), "writer " + i);
            }
            for (long k = 0; k < 40; k++) {
                assertEquals(k + 100, t.get(k));
            }
        }
    }

    @Test
    void aSlotTakenOverStillAppliesTheEndedThreadsWrites() throws Exception {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(2).maxProducers(1)
                .ownerThreads(false).queueCapacity(1024).missingValue(MISSING).build()) {
            Thread first = Thread.ofPlatform().start(() -> {
                for (long k = 0; k < 500; k++) {
                    t.putAsync(k, k);                        // left queued: no sync
                }
            });
            first.join();
            t.putAsync(1000, 1000);                          // takes the ended thread's slot
            t.sync();
            for (long k = 0; k < 500; k++) {
                assertEquals(k, t.get(k));
            }
            assertEquals(1000, t.get(1000));
        }
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void aReportedOverflowIsReportedOnce(boolean ownerThreads) {
        try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).capacity(64).maxCapacity(64)
                .queueCapacity(64).ownerThreads(ownerThreads).missingValue(MISSING).build()) {
            for (long k = 1; k <= 100; k++) {
                t.putAsync(k, k);
            }
            TableFullException e = assertThrows(TableFullException.class, t::sync);
            assertEquals(36, e.notPut());
            t.sync();
            t.clear();
            t.putAsync(1, 1);
            t.sync();
            assertEquals(1, t.get(1));
            assertEquals(1, t.size());
        }
    }

    @Test
    void aHandlerThatThrowsDoesNotWedgeTheQueue() {
        SpscPairQueue q = new SpscPairQueue(8);
        for (long i = 1; i <= 6; i++) {
            assertTrue(q.offer(i, i * 10));
        }
        long[] got = new long[16];
        int[] n = {0};
        int[] batches = {0};
        SpscPairQueue.Handler failing = new SpscPairQueue.Handler() {
            @Override
            public void onMessage(long first, long second) {
                got[n[0]++] = first;
                if (first == 3) {
                    throw new IllegalStateException("cannot apply " + first);
                }
            }

            @Override
            public void endOfBatch() {
                batches[0]++;
            }
        };
        assertThrows(IllegalStateException.class, () -> q.drain(failing, 16));
        assertEquals(3, q.consumedPosition(), "the messages handed over count as consumed");
        assertEquals(1, batches[0], "the batch was still ended");
        assertEquals(3, q.drain(failing, 16), "the rest is delivered");
        assertEquals(6, q.consumedPosition());
        for (long i = 7; i <= 14; i++) {
            assertTrue(q.offer(i, i), "the freed slots take new messages");
        }
        assertEquals(8, q.drain(failing, 16));
        assertEquals(java.util.stream.LongStream.rangeClosed(1, 14).boxed().toList(),
                java.util.Arrays.stream(got, 0, 14).boxed().toList());
    }

    @Test
    void syncNeedsNoSlotAndRefusesAClosedTable() throws Exception {
        PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).maxProducers(1)
                .missingValue(MISSING).build();
        t.putAsync(1, 1);
        AtomicReference<Throwable> got = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().start(() -> {
            try {
                t.sync();                                    // wrote nothing: nothing to wait for
                t.put(2, 2);                                 // synchronous writes take no slot either
            } catch (Throwable e) {
                got.set(e);
            }
        });
        reader.join();
        assertEquals(null, got.get());
        t.sync();
        assertEquals(2, t.get(2));
        t.close();
        var e = assertThrows(IllegalStateException.class, t::sync);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> t.forEach((k, v) -> { }));
    }

    @Test
    void aSessionPieceThatFailsMidwayIsNeitherLostNorRunTwice() {
        assertTimeoutPreemptively(HANG, () -> {
            Refusing memory = new Refusing();
            try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).missingValue(MISSING)
                    .memory(memory).build()) {
                LongLongSession s = t.session();
                for (int id = 0; id < 10; id++) {
                    s.put(id, id + 1, 100 + id);               // keys 1..10, in the first segment
                }
                s.flush();
                memory.refuse.set(true);
                // A piece of updates of those keys and puts of new ones: the updates are done,
                // the first new key needs a growth that is refused.
                int submitted = 0;
                IllegalStateException failed = null;
                for (int id = 10; id < 10 + PieceSession.PIECE + 1 && failed == null; id++) {
                    long key = id < 30 ? 1 + id % 10 : 1000 + id;
                    try {
                        s.put(id, key, id);
                        submitted++;
                    } catch (IllegalStateException e) {
                        failed = e;
                    }
                }
                assertTrue(failed != null, "the piece ran and a new key found no memory");
                var m = java.util.regex.Pattern.compile("with id (\\d+) failed and was not done").matcher(failed.getMessage());
                assertTrue(m.find() && failed.getMessage().contains("refused by the test"), failed.getMessage());
                long failedId = Long.parseLong(m.group(1));
                assertTrue(failedId >= 30, "the updates went through: " + failedId);
                assertEquals(PieceSession.PIECE, submitted, "the submit that threw did not take its request");
                assertEquals(10 + PieceSession.PIECE - 1 - failedId, s.pending(), "the requests after the failed one wait");
                memory.refuse.set(false);
                s.put(5000, 5000, 1);                          // the session works again
                s.flush();
                long[] ids = new long[4096];
                long[] results = new long[4096];
                java.util.Set<Long> seen = new java.util.HashSet<>();
                for (int n; (n = s.poll(ids, results)) > 0; ) {
                    for (int i = 0; i < n; i++) {
                        assertTrue(seen.add(ids[i]), "id " + ids[i] + " came back twice");
                    }
                }
                assertEquals(10 + PieceSession.PIECE + 1 - 1, seen.size(), "every id but the failed one");
                assertTrue(!seen.contains(failedId));
                assertEquals(MISSING, t.get(1000 + failedId), "the failed put was not done");
                assertEquals(29, t.get(10), "the updates before it were");
                assertEquals(failedId + 1, t.get(1000 + failedId + 1), "the requests after it ran later");
            }
        });
    }

    @Test
    void aGrowingPutAllWhoseGrowthIsRefusedStillUpdatesTheKeysThatHaveSlots() {
        Refusing memory = new Refusing();
        try (GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).missingValue(MISSING)
                .memory(memory).build()) {
            long[] keys = new long[40];
            long[] values = new long[40];
            for (int i = 0; i < 40; i++) {
                keys[i] = i + 1;
                values[i] = 100 + i;
                t.put(keys[i], keys[i]);
            }
            memory.refuse.set(true);
            assertEquals(0, t.putAll(keys, values), "40 updates; nothing new");
            for (int i = 0; i < 40; i++) {
                assertEquals(100 + i, t.get(keys[i]));
            }
            long[] mixed = new long[140];
            long[] sevens = new long[140];
            for (int i = 0; i < 140; i++) {
                mixed[i] = i < 40 ? i + 1 : 5000 + i;
                sevens[i] = 7;
            }
            var e = assertThrows(IllegalStateException.class, () -> t.putAll(mixed, sevens));
            long notPut = 100 - (t.size() - 40);
            assertTrue(notPut > 0 && e.getMessage().startsWith(notPut + " of 140 keys were not put")
                    && e.getMessage().contains("refused by the test"), e.getMessage());
            for (int i = 0; i < 40; i++) {
                assertEquals(7, t.get(i + 1), "the keys with slots were put");
            }
        }
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void aPartitionedPutAllWhoseGrowthIsRefusedSaysHowManyWereNotPut(boolean ownerThreads) {
        assertTimeoutPreemptively(HANG, () -> {
            Refusing memory = new Refusing();
            try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(2).capacity(128)
                    .ownerThreads(ownerThreads).missingValue(MISSING).memory(memory).build()) {
                memory.refuse.set(true);
                long[] keys = new long[300];
                long[] values = new long[300];
                for (int i = 0; i < 300; i++) {
                    keys[i] = i + 1;
                    values[i] = i + 1;
                }
                RuntimeException e = assertThrows(RuntimeException.class, () -> t.putAll(keys, values));
                assertTrue(e instanceof IllegalStateException || e instanceof TableFullException, e.toString());
                assertTrue(e.getMessage().contains("of 300 keys") && e.getMessage().contains("not put"), e.getMessage());
                long present = 0;
                for (long k : keys) {
                    present += t.get(k) == k ? 1 : 0;
                }
                assertTrue(present > 0 && present < 300, present + " put");
                assertEquals(present, t.size());
            }
        });
    }

    @ParameterizedTest(name = "owner threads: {0}")
    @ValueSource(booleans = {true, false})
    void anErrorWhileApplyingQueuedWritesIsReportedToTheirWriter(boolean ownerThreads) {
        assertTimeoutPreemptively(HANG, () -> {
            Refusing memory = new Refusing(true);
            try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).capacity(64)
                    .ownerThreads(ownerThreads).queueCapacity(64).missingValue(MISSING).memory(memory).build()) {
                memory.refuse.set(true);
                for (long k = 1; k <= 1000; k++) {
                    t.putAsync(k, k);
                }
                IllegalStateException e = assertThrows(IllegalStateException.class, t::sync);
                assertTrue(e.getCause() instanceof OutOfMemoryError && e.getMessage().contains("could not be applied"),
                        e.toString());
                assertEquals(List.of(), t.ownerThreadProblems(), "the error went to its writer, not to the owner's loop");
                memory.refuse.set(false);
                for (long k = 1; k <= 1000; k++) {
                    t.putAsync(k, k + 1);
                }
                t.sync();
                for (long k = 1; k <= 1000; k++) {
                    assertEquals(k + 1, t.get(k), "the partition grows again once memory can be had");
                }
            }
        });
    }

    /** Counts the memory handed out and not yet released. */
    static final class Counting implements MemoryProvider {
        final AtomicInteger open = new AtomicInteger();

        @Override
        public TableMemory allocate(long bytes, long alignment) {
            TableMemory m = MemoryProvider.gcManaged().allocate(bytes, alignment);
            open.incrementAndGet();
            return TableMemory.of(m.segment(), m.description(), () -> {
                open.decrementAndGet();
                m.close();
            });
        }
    }

    /**
     * close() racing synchronous writers that keep growing the partition: each writer either
     * completes or gets an {@link IllegalStateException}, and no partition table outlives close().
     * (A writer that took the drain lock after shutdown's last drain used to grow the partition
     * while close() freed it, installing a table nobody freed.)
     */
    @Test
    void closeRacingGrowingWritersFreesEveryTable() {
        assertTimeoutPreemptively(HANG, () -> {
            for (int round = 0; round < 200; round++) {
                Counting memory = new Counting();
                PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).capacity(64)
                        .ownerThreads(false).missingValue(MISSING).memory(memory).build();
                CountDownLatch started = new CountDownLatch(2);
                AtomicReference<Throwable> unexpected = new AtomicReference<>();
                Thread[] writers = new Thread[2];
                for (int w = 0; w < writers.length; w++) {
                    long first = w * 1_000_000_000L + 1;
                    writers[w] = Thread.ofPlatform().start(() -> {
                        started.countDown();
                        try {
                            for (long k = first; ; k++) {
                                t.put(k, k);
                            }
                        } catch (IllegalStateException expected) {
                            // shut down or closed
                        } catch (Throwable e) {
                            unexpected.set(e);
                        }
                    });
                }
                started.await();
                Thread.onSpinWait();
                t.close();
                for (Thread w : writers) {
                    w.join();
                }
                assertEquals(null, unexpected.get(), "round " + round);
                assertEquals(0, memory.open.get(), "round " + round + ": a partition table outlived close()");
            }
        });
    }

    /**
     * A writer that waited for the drain lock while {@link PartitionedLongLongTable#shutdown()}
     * ran does not write once it gets the lock: shutdown() returned, and close() may be freeing
     * the partition (a growth then would install a table nobody frees).
     */
    @Test
    void aWriterWaitingForTheLockDuringShutdownDoesNotWriteAfterIt() {
        assertTimeoutPreemptively(HANG, () -> {
            CountDownLatch growing = new CountDownLatch(1);
            CountDownLatch finishGrowth = new CountDownLatch(1);
            AtomicReference<Thread> blocked = new AtomicReference<>();
            AtomicLong lateGrowth = new AtomicLong(-1);
            AtomicLong shutdownReturned = new AtomicLong(Long.MAX_VALUE);
            MemoryProvider memory = (bytes, alignment) -> {
                if (Thread.currentThread() == blocked.get()) {
                    growing.countDown();
                    try {
                        finishGrowth.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                } else if (System.nanoTime() > shutdownReturned.get()) {
                    lateGrowth.set(System.nanoTime());
                }
                return MemoryProvider.gcManaged().allocate(bytes, alignment);
            };
            try (PartitionedLongLongTable t = PartitionedLongLongTable.builder().partitions(1).capacity(64)
                    .ownerThreads(false).missingValue(MISSING).memory(memory).build()) {
                for (long k = 1; k <= 48; k++) {
                    t.put(k, k);
                }
                Thread holder = Thread.ofPlatform().unstarted(() -> t.put(49, 49));   // grows, holding the lock
                blocked.set(holder);
                holder.start();
                growing.await();
                long[] keys = new long[400];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = 1000 + i;
                }
                AtomicReference<Throwable> waiterGot = new AtomicReference<>();
                Thread waiter = Thread.ofPlatform().start(() -> {
                    try {
                        t.putAll(keys, 0, keys, 0, keys.length);   // needs a growth of its own
                    } catch (Throwable e) {
                        waiterGot.set(e);
                    }
                });
                // Until the waiter's back-off has reached its longest parks (1 ms) and it is in one.
                for (long until = System.nanoTime() + 20_000_000; System.nanoTime() < until
                        || waiter.getState() != Thread.State.TIMED_WAITING; ) {
                    Thread.onSpinWait();
                }
                finishGrowth.countDown();
                holder.join();                                  // the lock is free; the waiter is still parked
                t.shutdown();
                shutdownReturned.set(System.nanoTime());
                waiter.join();
                assertEquals(-1, lateGrowth.get(), "a write grew the partition after shutdown() returned");
                assertTrue(waiterGot.get() == null || waiterGot.get() instanceof IllegalStateException,
                        String.valueOf(waiterGot.get()));
                if (waiterGot.get() != null) {
                    assertEquals(MISSING, t.get(1000), "a refused write left nothing behind");
                }
                assertEquals(49, t.get(49));
            }
        });
    }

    @Test
    void anOwnerThreadThatCannotBePinnedSaysWhy() {
        Assumptions.assumeTrue(Affinity.available(), "thread affinity is not available here");
        ConcurrentLongLongTable.Builder options = ConcurrentLongLongTable.builder().memory(MemoryProvider.gcManaged());
        Partition part = new Partition(0, 1 << 20, options, 64, 64, new Producers(1, 64, () -> new BusySpinIdleStrategy()),
                () -> new BusySpinIdleStrategy());
        try {
            part.stop();
            part.run();                                     // pins itself, fails, drains once and ends
            assertTrue(part.failure != null && part.failure.contains("pinning to cpu " + (1 << 20) + " failed"),
                    String.valueOf(part.failure));
        } finally {
            part.closeAll();
        }
    }
}
