package io.hashkernel.pm;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The durable table under several writing threads: power cuts, process crashes and close while they write. */
class ConcurrentDurabilityTest {
    static final int THREADS = 3;
    static final int KEYS_PER_THREAD = 150;

    @TempDir
    Path dir;

    static Stream<Arguments> ways() {
        return Stream.of(Persistence.IN_PLACE, Persistence.REDO_LOG)
                .flatMap(p -> Stream.of(Durability.EACH, Durability.BATCH).map(d -> Arguments.of(p, d)));
    }

    /**
     * Writers on disjoint keys per thread, a power cut (durable bytes only) taken
     * while they run; every write acknowledged before the cut is there, or a later write of its thread.
     */
    @ParameterizedTest
    @MethodSource("ways")
    void acknowledgedWritesOfManyThreadsSurviveACut(Persistence way, Durability mode) throws Exception {
        for (int round = 0; round < 6; round++) {
            SimulatedDisk disk = new SimulatedDisk();
            long missing = round % 2 == 0 ? 0 : Long.MIN_VALUE;
            PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(1024)
                    .missingValue(missing).persistence(way).durability(mode).checkpointBytes(4096).open();
            int n = THREADS * KEYS_PER_THREAD;
            long[][] history = new long[n][4096];
            AtomicIntegerArray written = new AtomicIntegerArray(n); // entries in history
            AtomicIntegerArray acked = new AtomicIntegerArray(n);   // entries acknowledged
            AtomicBoolean stop = new AtomicBoolean();
            List<Throwable> errors = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int th = 0; th < THREADS; th++) {
                int base = th * KEYS_PER_THREAD;
                long seed = round * 31 + th;
                Thread thread = new Thread(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    long serial = 0;
                    try {
                        while (!stop.get()) {
                            int kind = r.nextInt(10);
                            if (kind < 6) {
                                int k = base + r.nextInt(KEYS_PER_THREAD);
                                if (written.get(k) >= 4095) {
                                    continue;
                                }
                                long v = ++serial << 16 | k;
                                int at = written.get(k);
                                history[k][at] = v;
                                written.set(k, at + 1);
                                t.put(k, v);
                                acked.set(k, at + 1);
                            } else if (kind < 8) {
                                int k = base + r.nextInt(KEYS_PER_THREAD);
                                if (written.get(k) >= 4095) {
                                    continue;
                                }
                                int at = written.get(k);
                                history[k][at] = missing;
                                written.set(k, at + 1);
                                t.remove(k);
                                acked.set(k, at + 1);
                            } else {
                                int m = 1 + r.nextInt(10);
                                long[] keys = new long[m];
                                long[] values = new long[m];
                                int[] at = new int[m];
                                boolean room = true;
                                for (int i = 0; i < m; i++) {
                                    int k = base + r.nextInt(KEYS_PER_THREAD);
                                    keys[i] = k;
                                    values[i] = ++serial << 16 | k;
                                    if (written.get(k) >= 4095) {
                                        room = false;
                                        break;
                                    }
                                    at[i] = written.get(k);
                                    history[k][at[i]] = values[i];
                                    written.set(k, at[i] + 1);
                                }
                                if (!room) {
                                    continue;
                                }
                                t.putAll(keys, values);
                                for (int i = 0; i < m; i++) {
                                    int k = (int) keys[i];
                                    acked.set(k, Math.max(acked.get(k), at[i] + 1));
                                }
                            }
                        }
                    } catch (Throwable e) {
                        synchronized (errors) {
                            errors.add(e);
                        }
                    }
                });
                threads.add(thread);
                thread.start();
            }
            Thread.sleep(150);
            int[] ackedAtCut = new int[n];
            for (int k = 0; k < n; k++) {
                ackedAtCut[k] = acked.get(k);
            }
            SimulatedDisk after;
            synchronized (disk) {
                after = disk.cutToDurable();
            }
            stop.set(true);
            for (Thread thread : threads) {
                thread.join();
            }
            assertTrue(errors.isEmpty(), errors.toString());
            t.close();
            try (PersistentLongLongTable r = PersistentLongLongTable.builder(after.path()).storage(after).open()) {
                List<String> bad = new ArrayList<>();
                for (int k = 0; k < n; k++) {
                    long v = r.get(k);
                    boolean ok = ackedAtCut[k] == 0 && v == missing;
                    for (int i = Math.max(0, ackedAtCut[k] - 1); i < written.get(k) && !ok; i++) {
                        ok = history[k][i] == v;
                    }
                    if (!ok && bad.size() < 5) {
                        bad.add("key " + k + " holds " + v + "; acked " + ackedAtCut[k] + " of " + written.get(k)
                                + (ackedAtCut[k] > 0 ? ", last acked " + history[k][ackedAtCut[k] - 1] : ""));
                    }
                }
                long[] seen = new long[1];
                r.forEach((k, v) -> seen[0]++);
                assertEquals(seen[0], r.size(), "size");
                assertTrue(bad.isEmpty(), way + "/" + mode + " round " + round + ": " + bad);
            }
        }
    }

    /**
     * The redo log's order of writes to one key is the table's. Threads fight over a few
     * keys; after they stop, a process crash and a replay must give exactly the table they left.
     */
    @ParameterizedTest
    @MethodSource("ways")
    void replayAfterContendedWritesGivesTheTableThatWasLeft(Persistence way, Durability mode) throws Exception {
        if (way == Persistence.IN_PLACE) {
            return;
        }
        for (int round = 0; round < 10; round++) {
            SimulatedDisk disk = new SimulatedDisk();
            PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(256)
                    .persistence(way).durability(mode).checkpointBytes(1 << 20).open();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            Map<String, Throwable> errors = new ConcurrentHashMap<>();
            for (int th = 0; th < THREADS; th++) {
                long seed = round * 7 + th;
                Thread thread = new Thread(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    try {
                        while (!stop.get()) {
                            long k = r.nextInt(6);
                            switch (r.nextInt(5)) {
                                case 0 -> t.remove(k);
                                case 1 -> t.putAll(new long[]{k, k + 1, k}, new long[]{r.nextLong(1, 1000), 5, r.nextLong(1, 1000)});
                                case 2 -> t.removeAll(new long[]{k, k + 2});
                                case 3 -> {
                                    var s = t.session();
                                    s.put(1, k, r.nextLong(1, 1000));
                                    s.remove(2, k + 1);
                                    s.flush();
                                }
                                default -> t.put(k, r.nextLong(1, 1000));
                            }
                        }
                    } catch (Throwable e) {
                        errors.put(Thread.currentThread().getName(), e);
                    }
                });
                threads.add(thread);
                thread.start();
            }
            Thread.sleep(100);
            stop.set(true);
            for (Thread thread : threads) {
                thread.join();
            }
            assertTrue(errors.isEmpty(), errors.toString());
            long[] left = new long[10];
            for (int k = 0; k < 10; k++) {
                left[k] = t.get(k);
            }
            SimulatedDisk[] crashes = {disk.processCrash(), disk.cutToDurable()};
            for (SimulatedDisk c : crashes) {
                try (PersistentLongLongTable r = PersistentLongLongTable.builder(c.path()).storage(c).open()) {
                    for (int k = 0; k < 10; k++) {
                        assertEquals(left[k], r.get(k), "key " + k + " round " + round);
                    }
                }
            }
            t.close();
        }
    }

    /** Close racing with writers throws IllegalStateException in the writers, nothing worse. */
    @ParameterizedTest
    @MethodSource("ways")
    void closeRacingWritersOnRealFiles(Persistence way, Durability mode) throws Exception {
        for (int round = 0; round < 15; round++) {
            Path file = dir.resolve("race" + round + ".hkt");
            PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(1 << 14).persistence(way)
                    .durability(mode).checkpointBytes(4096).open();
            Map<String, Throwable> errors = new ConcurrentHashMap<>();
            List<Thread> threads = new ArrayList<>();
            for (int th = 0; th < THREADS; th++) {
                int base = th * 5000;
                Thread thread = new Thread(() -> {
                    SplittableRandom r = new SplittableRandom(base);
                    try {
                        for (int i = 0; ; i++) {
                            long k = base + r.nextInt(4000) + 1;
                            switch (i % 4) {
                                case 0 -> t.put(k, i + 1);
                                case 1 -> t.putAll(new long[]{k, k + 1}, new long[]{i + 1, i + 2});
                                case 2 -> t.remove(k);
                                default -> {
                                    var s = t.session();
                                    s.put(1, k, 9);
                                    s.get(2, k);
                                    s.flush();
                                }
                            }
                        }
                    } catch (IllegalStateException expected) {
                        // closed
                    } catch (Throwable e) {
                        errors.put(Thread.currentThread().getName(), e);
                    }
                });
                threads.add(thread);
                thread.start();
            }
            Thread.sleep(20 + round);
            t.close();
            for (Thread thread : threads) {
                thread.join();
            }
            errors.values().forEach(e -> { if (e.getCause() != null) errors.put("cause of " + e, e.getCause()); });
            assertTrue(errors.isEmpty(), way + "/" + mode + ": " + errors);
            try (PersistentLongLongTable r = PersistentLongLongTable.builder(file).open()) {
                long[] seen = new long[1];
                r.forEach((k, v) -> seen[0]++);
                assertEquals(seen[0], r.size(), way + "/" + mode + " round " + round + ": size after a clean close");
            }
        }
    }
}
