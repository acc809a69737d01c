package io.hashkernel.pm;

import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.TableFullException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
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
}
