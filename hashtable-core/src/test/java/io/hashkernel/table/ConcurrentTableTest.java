package io.hashkernel.table;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Several threads at once; the final state is checked against what each thread did. */
@Tag("lines")
class ConcurrentTableTest {
    private static final int THREADS = 4;
    private static final long MISSING = Long.MIN_VALUE;

    private static ConcurrentLongLongTable table(long capacity) {
        return ConcurrentLongLongTable.builder().capacity(capacity).missingValue(MISSING).build();
    }

    private interface Worker {
        void run(int thread) throws Exception;
    }

    private interface Meanwhile {
        void run() throws Exception;
    }

    private static void runThreads(Worker worker) throws Exception {
        runThreads(worker, () -> { });
    }

    /** Runs the worker on every thread, does {@code meanwhile} on this one, then waits for all. */
    private static void runThreads(Worker worker, Meanwhile meanwhile) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                futures.add(pool.submit(() -> {
                    worker.run(id);
                    return null;
                }));
            }
            meanwhile.run();
            for (Future<?> f : futures) {
                f.get(2, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void writersOnDisjointKeysLoseNothing() throws Exception {
        int perThread = 50_000;
        try (ConcurrentLongLongTable t = table(THREADS * perThread * 4 / 3)) {
            runThreads(id -> {
                for (long i = 0; i < perThread; i++) {
                    long key = i * THREADS + id; // interleaved keys: neighbours in the same lines
                    assertEquals(MISSING, t.put(key, ~key));
                    if (i % 3 == 0) {
                        assertEquals(~key, t.remove(key));
                    } else if (i % 3 == 1) {
                        assertEquals(~key, t.put(key, key * 7 + 1));
                    }
                }
            });
            long expectedSize = 0;
            for (long key = 0; key < (long) THREADS * perThread; key++) {
                long i = key / THREADS;
                long expected = i % 3 == 0 ? MISSING : i % 3 == 1 ? key * 7 + 1 : ~key;
                assertEquals(expected, t.get(key), "key " + key);
                if (expected != MISSING) {
                    expectedSize++;
                }
            }
            assertEquals(expectedSize, t.size());
        }
    }

    @Test
    void writersOnOverlappingKeysLeaveOneOfTheLastWrites() throws Exception {
        int keys = 20_000;
        int rounds = 20;
        try (ConcurrentLongLongTable t = table(keys * 2)) {
            runThreads(id -> {
                for (long round = 0; round < rounds; round++) {
                    for (long k = 0; k < keys; k++) {
                        t.put(k, (round << 8) | id); // never MISSING: round >= 0
                    }
                }
            });
            assertEquals(keys, t.size());
            for (long k = 0; k < keys; k++) {
                long v = t.get(k);
                assertEquals(rounds - 1, v >>> 8, "key " + k + " holds a value from an earlier round");
                assertTrue((v & 0xFF) < THREADS, "key " + k + " holds a value no thread wrote: " + v);
            }
        }
    }

    @RepeatedTest(5)
    void putIfAbsentRacesHaveExactlyOneWinner() throws Exception {
        int keys = 5_000;
        try (ConcurrentLongLongTable t = table(keys * 2)) {
            long[][] results = new long[THREADS][keys];
            CyclicBarrier start = new CyclicBarrier(THREADS);
            runThreads(id -> {
                start.await();
                for (int k = 0; k < keys; k++) {
                    results[id][k] = t.putIfAbsent(k, id + 1);
                }
            });
            for (int k = 0; k < keys; k++) {
                int winners = 0;
                long winner = 0;
                for (int id = 0; id < THREADS; id++) {
                    if (results[id][k] == MISSING) {
                        winners++;
                        winner = id + 1;
                    }
                }
                assertEquals(1, winners, "key " + k);
                assertEquals(winner, t.get(k), "key " + k + " holds the winner's value");
                for (int id = 0; id < THREADS; id++) {
                    if (results[id][k] != MISSING) {
                        assertEquals(winner, results[id][k], "losers see the winner's value");
                    }
                }
            }
        }
    }

    @Test
    void concurrentRemoveAndPutOnOneKeyKeepSizeConsistent() throws Exception {
        try (ConcurrentLongLongTable t = table(64)) {
            long[] removedOrPut = new long[THREADS];
            runThreads(id -> {
                for (int i = 0; i < 200_000; i++) {
                    if ((i & 1) == 0) {
                        if (t.put(7, id) == MISSING) {
                            removedOrPut[id]++;
                        }
                    } else if (t.remove(7) != MISSING) {
                        removedOrPut[id]--;
                    }
                }
            });
            long net = 0;
            for (long n : removedOrPut) {
                net += n;
            }
            // Each absent->present transition was reported once and each removal once.
            assertEquals(t.containsKey(7) ? 1 : 0, net);
            assertEquals(net, t.size());
        }
    }

    @Test
    void closingWhileOtherThreadsWorkMakesThemThrowNotCrash() throws Exception {
        ConcurrentLongLongTable t = table(1 << 16);
        CyclicBarrier running = new CyclicBarrier(THREADS + 1);
        java.util.concurrent.atomic.AtomicInteger sawClosed = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicLong rounds = new java.util.concurrent.atomic.AtomicLong();
        runThreads(id -> {
            running.await();
            try {
                for (long i = 0; ; i++) {
                    long key = (i * 31 + id) & 0x7FFF;
                    t.put(key, i);
                    t.get(key ^ 1);
                    t.remove(key ^ 2);
                    if ((i & 1023) == 1023) {
                        rounds.incrementAndGet();
                    }
                }
            } catch (IllegalStateException e) {
                sawClosed.incrementAndGet();
            }
        }, () -> {
            running.await();
            while (rounds.get() < 4L * THREADS) {       // the workers are under way
                Thread.onSpinWait();
            }
            t.close();
        });
        assertEquals(THREADS, sawClosed.get(), "every worker stopped with IllegalStateException");
        assertTrue(t.isClosed());
    }
}
