package io.hashkernel.pm;

import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.TableFullException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PersistentLongLongTableTest {

    @TempDir
    Path dir;

    static Stream<Arguments> ways() {
        return Stream.of(Persistence.IN_PLACE, Persistence.REDO_LOG)
                .flatMap(p -> Stream.of(Durability.values()).map(d -> Arguments.of(p, d)));
    }

    private PersistentLongLongTable open(Path file, Persistence way, Durability mode) throws IOException {
        return PersistentLongLongTable.builder(file).capacity(4096).missingValue(-1).persistence(way).durability(mode)
                .checkpointBytes(8192).open();
    }

    @ParameterizedTest
    @MethodSource("ways")
    void whatWasWrittenIsThereAfterReopening(Persistence way, Durability mode) throws IOException {
        Path file = dir.resolve("t.hkt");
        Map<Long, Long> model = new HashMap<>();
        SplittableRandom random = new SplittableRandom(way.ordinal() * 3 + mode.ordinal());
        for (int round = 0; round < 4; round++) {
            try (PersistentLongLongTable t = open(file, way, mode)) {
                assertEquals(way, t.persistence());
                assertEquals(mode, t.durability());
                assertEquals(round == 0, t.recovery().created());
                assertTrue(t.recovery().clean(), "closed cleanly last time");
                assertEquals(model.size(), t.size());
                for (int i = 0; i < 600; i++) {
                    long k = random.nextInt(2000);
                    long v = random.nextLong(1_000_000);
                    long before = model.getOrDefault(k, -1L);
                    switch (random.nextInt(8)) {
                        case 0, 1 -> {
                            assertEquals(before, t.put(k, v));
                            model.put(k, v);
                        }
                        case 2 -> {
                            assertEquals(before, t.remove(k));
                            model.remove(k);
                        }
                        case 3 -> {
                            assertEquals(before, t.putIfAbsent(k, v));
                            model.putIfAbsent(k, v);
                        }
                        case 4 -> {
                            assertEquals(before, t.replace(k, v));
                            model.replace(k, v);
                        }
                        case 5 -> {
                            long expected = random.nextBoolean() ? before : v;
                            assertEquals(before != -1 && before == expected, t.remove(k, expected));
                            model.remove(k, expected);
                        }
                        case 6 -> {
                            long[] keys = {k, k + 1, k + 2, k};
                            long[] values = {v, v + 1, v + 2, v + 3};
                            t.putAll(keys, values);
                            for (int j = 0; j < 4; j++) {
                                model.put(keys[j], values[j]);
                            }
                        }
                        default -> {
                            t.removeAll(new long[]{k, k + 3});
                            model.remove(k);
                            model.remove(k + 3);
                        }
                    }
                }
                assertEquals(model.size(), t.size());
            }
            try (PersistentLongLongTable t = open(file, way, mode)) {
                for (Map.Entry<Long, Long> e : model.entrySet()) {
                    assertEquals(e.getValue(), t.get(e.getKey()), "key " + e.getKey());
                }
                Map<Long, Long> seen = new HashMap<>();
                t.forEach(seen::put);
                assertEquals(model, seen);
            }
        }
        assertEquals(way == Persistence.REDO_LOG, Files.exists(dir.resolve("t.hkt.log")));
    }

    @ParameterizedTest
    @MethodSource("ways")
    void aSessionsResultsComeBackOnceDurable(Persistence way, Durability mode) throws IOException {
        Path file = dir.resolve("s.hkt");
        try (PersistentLongLongTable t = open(file, way, mode)) {
            LongLongSession s = t.session();
            for (int i = 0; i < 100; i++) {
                s.put(i, i, i * 10L);
            }
            s.get(1000, 5);
            s.remove(1001, 6);
            s.flush();
            assertEquals(0, s.pending());
            assertEquals(102, s.completed());
            long[] ids = new long[200];
            long[] results = new long[200];
            assertEquals(102, s.poll(ids, results));
            assertEquals(1000, ids[100]);
            assertEquals(50, results[100]);
            assertEquals(60, results[101]);
            assertThrows(IllegalArgumentException.class, () -> s.put(1, 1, -1));
        }
        try (PersistentLongLongTable t = open(file, way, mode)) {
            assertEquals(99, t.size());
            assertEquals(-1, t.get(6));
            assertEquals(990, t.get(99));
        }
    }

    @ParameterizedTest
    @MethodSource("ways")
    void aCrashedProcessLeavesEverythingItWrote(Persistence way, Durability mode) throws IOException {
        SimulatedDisk disk = new SimulatedDisk();
        PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(1024)
                .persistence(way).durability(mode).checkpointBytes(4096).open();
        for (long k = 0; k < 700; k++) {
            t.put(k, k + 1);
        }
        t.remove(3);
        // The process dies: no close; the page cache survives.
        SimulatedDisk after = disk.processCrash();
        Persistence other = way == Persistence.IN_PLACE ? Persistence.REDO_LOG : Persistence.IN_PLACE;
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(after.path()).storage(after)
                .persistence(other).open()) {
            assertFalse(r.recovery().clean());
            assertTrue(r.recovery().nanos() > 0);
            assertEquals(699, r.size());
            assertEquals(699, r.recovery().mappings());
            assertEquals(-0L, r.get(3));
            for (long k = 0; k < 700; k++) {
                assertEquals(k == 3 ? 0 : k + 1, r.get(k));
            }
        }
        assertEquals(other == Persistence.REDO_LOG, after.logExists(), "an in-place open replays and removes the log");
    }

    @Test
    void aFullTableSaysSoAndKeepsWhatFitted() throws IOException {
        for (Persistence way : new Persistence[]{Persistence.IN_PLACE, Persistence.REDO_LOG}) {
            Path file = dir.resolve("full-" + way + ".hkt");
            long[] keys = new long[20];
            long[] values = new long[20];
            for (int i = 0; i < 20; i++) {
                keys[i] = i + 1;
                values[i] = i + 100;
            }
            try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(16).persistence(way).open()) {
                TableFullException e = assertThrows(TableFullException.class, () -> t.putAll(keys, values));
                assertEquals(4, e.notPut());
                assertEquals(16, t.size());
            }
            try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).persistence(way).open()) {
                assertEquals(16, t.size());
                long[] got = new long[20];
                t.getAll(keys, got);
                int present = 0;
                for (int i = 0; i < 20; i++) {
                    present += got[i] == values[i] ? 1 : 0;
                }
                assertEquals(16, present);
            }
        }
    }

    @Test
    void aClosedTableThrows() throws IOException {
        PersistentLongLongTable t = open(dir.resolve("c.hkt"), Persistence.REDO_LOG, Durability.BATCH);
        t.put(1, 2);
        t.close();
        t.close();
        assertTrue(t.isClosed());
        assertThrows(IllegalStateException.class, () -> t.get(1));
        assertThrows(IllegalStateException.class, () -> t.put(1, 3));
        assertThrows(IllegalStateException.class, () -> t.putAll(new long[]{1}, new long[]{3}));
        assertThrows(IllegalStateException.class, t::flush);
        assertThrows(IllegalStateException.class, t::session);
        PersistentLongLongTable u = open(dir.resolve("d.hkt"), Persistence.IN_PLACE, Durability.EACH);
        u.close();
        assertThrows(IllegalStateException.class, () -> u.put(1, 3));
        assertThrows(IllegalStateException.class, () -> u.get(1));
    }

    @Test
    void anAbandonedTableIsRecoveredByTheNextOpenInTheSameProcess() throws IOException {
        for (Persistence way : new Persistence[]{Persistence.IN_PLACE, Persistence.REDO_LOG}) {
            Path file = dir.resolve("abandoned-" + way + ".hkt");
            PersistentLongLongTable t = open(file, way, Durability.BATCH);
            long[] keys = new long[1000];
            long[] values = new long[1000];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = i * 7L + 1;
                values[i] = i;
            }
            t.putAll(keys, values);
            t.put(5, 55);
            t.abandon();
            t.abandon();
            assertTrue(t.isClosed());
            assertThrows(IllegalStateException.class, () -> t.get(1));
            assertThrows(IllegalStateException.class, () -> t.put(1, 3));
            try (PersistentLongLongTable again = open(file, way, Durability.BATCH)) {   // the lock was let go
                assertFalse(again.recovery().clean(), "an abandoned table is recovered, not read as clean");
                assertEquals(1001, again.size());
                assertEquals(55, again.get(5));
                for (int i = 0; i < keys.length; i++) {
                    assertEquals(values[i], again.get(keys[i]));
                }
            }
            t.close();                                   // after abandon: nothing to do
        }
    }

    @Test
    void theRedoLogStaysShortThroughCheckpoints() throws IOException {
        Path file = dir.resolve("r.hkt");
        try (PersistentLongLongTable t = open(file, Persistence.REDO_LOG, Durability.BATCH)) {
            for (int i = 0; i < 5000; i++) {
                t.put(i % 3000, i);
            }
            assertTrue(Files.size(dir.resolve("r.hkt.log")) <= 8192 + 64, "checkpoints cut the log");
        }
        assertEquals(RedoLog.HEADER_BYTES, Files.size(dir.resolve("r.hkt.log")), "a clean close leaves an empty log");
    }

    @ParameterizedTest
    @EnumSource(Durability.class)
    void anInterruptedCallerKeepsItsInterruptAndTheTableKeepsWriting(Durability mode) throws IOException {
        Path file = dir.resolve("i.hkt");
        Map<Long, Long> model = new HashMap<>();
        PersistentLongLongTable t = open(file, Persistence.REDO_LOG, mode);
        try {
            Thread.currentThread().interrupt();
            // 8192 checkpoint bytes: these puts also restart the log (a header write and a cut) while interrupted
            for (long k = 1; k <= 2000; k++) {
                assertEquals(-1, t.put(k, k * 3));
                model.put(k, k * 3);
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
            }
            long[] keys = {5000, 5001, 5002};
            assertEquals(0, t.putAll(keys, new long[]{1, 2, 3}) - 3);
            model.put(5000L, 1L);
            model.put(5001L, 2L);
            model.put(5002L, 3L);
            assertEquals(6, t.remove(2));
            model.remove(2L);
            t.flush();
            assertTrue(Thread.interrupted(), "the interrupt status is kept");
            assertEquals(9, t.put(3, 4), "an uninterrupted put after interrupted ones");
            model.put(3L, 4L);
            Thread.currentThread().interrupt();
            t.close();
            assertTrue(Thread.interrupted(), "close keeps the interrupt status");
        } finally {
            Thread.interrupted();
            t.close();
        }
        try (PersistentLongLongTable again = open(file, Persistence.REDO_LOG, mode)) {
            assertTrue(again.recovery().clean());
            assertEquals(model.size(), again.size());
            model.forEach((k, v) -> assertEquals(v, again.get(k), "key " + k));
        }
    }

    @ParameterizedTest
    @EnumSource(Durability.class)
    void writersInterruptedByAnotherThreadLoseNoReturnedWrite(Durability mode) throws Exception {
        Path file = dir.resolve("w.hkt");
        int writers = 2;
        int perWriter = 1500;
        AtomicLongArray done = new AtomicLongArray(writers);
        AtomicInteger seen = new AtomicInteger();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        Thread[] threads = new Thread[writers];
        try (PersistentLongLongTable t = open(file, Persistence.REDO_LOG, mode)) {
            for (int w = 0; w < writers; w++) {
                int id = w;
                threads[w] = new Thread(() -> {
                    for (int i = 0; i < perWriter; i++) {
                        long key = (long) i * writers + id;
                        try {
                            if (t.put(key, key + 7) != -1) {
                                failures.add(new AssertionError("key " + key + " was written once only"));
                            }
                        } catch (RuntimeException e) {
                            failures.add(e);
                        }
                        if (Thread.interrupted()) {
                            seen.incrementAndGet();
                        }
                        done.set(id, i + 1);
                    }
                }, "writer-" + w);
                threads[w].start();
            }
            // At most one interrupt a put (one reopen each), so no call runs out of reopens.
            long[] interruptedAt = new long[writers];
            SplittableRandom random = new SplittableRandom(mode.ordinal());
            while (Arrays.stream(threads).anyMatch(Thread::isAlive)) {
                int w = random.nextInt(writers);
                long at = done.get(w);
                if (at > interruptedAt[w] && at < perWriter) {
                    interruptedAt[w] = at;
                    threads[w].interrupt();
                }
                LockSupport.parkNanos(random.nextLong(20_000, 200_000));
            }
            for (Thread thread : threads) {
                thread.join();
            }
        }
        if (!failures.isEmpty()) {
            AssertionError e = new AssertionError(failures.size() + " writes failed; the first: " + failures.getFirst());
            failures.forEach(e::addSuppressed);
            throw e;
        }
        assertTrue(seen.get() >= 10, "the writers were interrupted (" + seen.get() + " times)");
        try (PersistentLongLongTable again = open(file, Persistence.REDO_LOG, mode)) {
            assertEquals((long) writers * perWriter, again.size());
            for (long key = 0; key < (long) writers * perWriter; key++) {
                assertEquals(key + 7, again.get(key), "key " + key);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Persistence.class, names = {"IN_PLACE", "REDO_LOG"})
    void anInterruptedThreadCreatesOpensAndRecoversTables(Persistence way) throws IOException {
        Path file = dir.resolve("o.hkt");
        try {
            Thread.currentThread().interrupt();
            try (PersistentLongLongTable t = open(file, way, Durability.BATCH)) {
                assertTrue(t.recovery().created());
                for (long k = 1; k <= 500; k++) {
                    t.put(k, k + 1);
                }
            }
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
            PersistentLongLongTable abandoned = open(file, way, Durability.BATCH);
            assertTrue(abandoned.recovery().clean());
            assertEquals(500, abandoned.size());
            for (long k = 501; k <= 800; k++) {
                abandoned.put(k, k + 1);
            }
            abandoned.abandon(); // as a crash: the next open repairs and replays
            try (PersistentLongLongTable t = open(file, way, Durability.BATCH)) {
                assertFalse(t.recovery().clean());
                assertEquals(800, t.size());
                for (long k = 1; k <= 800; k++) {
                    assertEquals(k + 1, t.get(k), "key " + k);
                }
            }
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
        } finally {
            Thread.interrupted();
        }
    }

    /** One interrupt at a random moment of each open (clean, so the file is opened, locked, sized and mapped) never fails it. */
    @Test
    void anInterruptAtAnyMomentOfAnOpenDoesNotFailIt() throws Exception {
        Path file = dir.resolve("r.hkt");
        open(file, Persistence.REDO_LOG, Durability.BATCH).close();
        SplittableRandom random = new SplittableRandom(5);
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        int interrupted = 0;
        for (int trial = 0; trial < 300; trial++) {
            long delay = random.nextLong(0, 300_000);
            Thread opener = new Thread(() -> {
                try (PersistentLongLongTable t = open(file, Persistence.REDO_LOG, Durability.BATCH)) {
                    if (t.size() != 0) {
                        failures.add(new AssertionError("size " + t.size()));
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            opener.start();
            LockSupport.parkNanos(delay);
            opener.interrupt();
            opener.join();
            interrupted++;
        }
        if (!failures.isEmpty()) {
            AssertionError e = new AssertionError(failures.size() + " of " + interrupted + " opens failed; the first: "
                    + failures.getFirst());
            failures.forEach(e::addSuppressed);
            throw e;
        }
    }
}
