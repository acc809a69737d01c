package io.hashkernel.pm;

import io.hashkernel.table.TableFullException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PersistentBytesMapTest {

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The map's whole state, for comparisons. */
    static Map<ByteBuffer, ByteBuffer> contents(PersistentBytesMap m) {
        Map<ByteBuffer, ByteBuffer> out = new HashMap<>();
        m.forEach((k, v) -> assertNull(out.put(ByteBuffer.wrap(k), ByteBuffer.wrap(v)), "a key seen twice"));
        assertEquals(out.size(), m.size());
        return out;
    }

    static Map<ByteBuffer, ByteBuffer> copy(Map<ByteBuffer, ByteBuffer> model) {
        return new HashMap<>(model);
    }

    @Test
    void writesSurviveReopeningAndTheReportSaysWhatWasRead(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertTrue(m.recovery().created());
            assertNull(m.put(b("a"), b("1")));
            assertArrayEquals(b("1"), m.put(b("a"), b("2")));
            assertTrue(m.set(b("b"), b("x")));
            assertFalse(m.set(b("b"), b("y")));
            assertNull(m.putIfAbsent(b("c"), b("3")));
            assertArrayEquals(b("3"), m.putIfAbsent(b("c"), b("4")));
            assertArrayEquals(b("y"), m.remove(b("b")));
            assertNull(m.remove(b("b")));
            assertTrue(m.set(b(""), new byte[0])); // empty key and value are keys and values
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).createIfMissing(false).open()) {
            PersistentBytesMap.Recovery r = m.recovery();
            assertFalse(r.created());
            assertEquals(3, r.mappings());
            assertEquals(7, r.logRecords(), "every write that changed something is logged: " + r);
            assertEquals(0, r.truncatedBytes());
            assertArrayEquals(b("2"), m.get(b("a")));
            assertNull(m.get(b("b")));
            assertArrayEquals(b("3"), m.get(b("c")));
            assertArrayEquals(new byte[0], m.get(b("")));
            assertTrue(m.containsKey(b("c")));
            byte[][] values = new byte[3][];
            m.getAll(new byte[][] {b("a"), b("b"), b("c")}, values);
            assertArrayEquals(new byte[][] {b("2"), null, b("3")}, values);
        }
    }

    @ParameterizedTest
    @EnumSource(Durability.class)
    void randomWritesWithCheckpointsReopenToTheModel(Durability durability, @TempDir Path dir) throws IOException {
        SplittableRandom r = new SplittableRandom(durability.ordinal() * 31L + 7);
        Map<ByteBuffer, ByteBuffer> model = new HashMap<>();
        Path d = dir.resolve("m");
        for (int round = 0; round < 4; round++) {
            try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(durability).checkpointBytes(4096).open()) {
                assertEquals(model, contents(m), "round " + round + ": " + m.recovery());
                for (int i = 0; i < 1500; i++) {
                    step(m, model, r);
                }
                if (round == 2) {
                    m.checkpoint();
                    assertTrue(m.diskBytes() < 2 * m.liveBytes() + 64 * 1024, "a checkpoint leaves the live data: "
                            + m.diskBytes() + " on disk, " + m.liveBytes() + " live");
                }
                assertEquals(model, contents(m));
            }
            List<String> files = files(d);
            assertTrue(files.stream().filter(f -> f.endsWith(".snap")).count() <= 1, files.toString());
            assertTrue(files.stream().noneMatch(f -> f.endsWith(".tmp")), files.toString());
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertTrue(m.recovery().snapshotRecords() > 0, "checkpoints wrote snapshots: " + m.recovery());
        }
    }

    /** One random write (or putAll of a few) to both. */
    static void step(PersistentBytesMap m, Map<ByteBuffer, ByteBuffer> model, SplittableRandom r) {
        byte[] key = key(r.nextInt(300));
        int op = r.nextInt(10);
        if (op < 5) {
            byte[] v = value(r);
            ByteBuffer old = model.put(ByteBuffer.wrap(key), ByteBuffer.wrap(v));
            assertEquals(old, wrap(m.put(key, v)));
        } else if (op < 7) {
            ByteBuffer old = model.remove(ByteBuffer.wrap(key));
            assertEquals(old, wrap(m.remove(key)));
        } else if (op < 8) {
            byte[] v = value(r);
            ByteBuffer old = model.putIfAbsent(ByteBuffer.wrap(key), ByteBuffer.wrap(v));
            assertEquals(old, wrap(m.putIfAbsent(key, v)));
        } else {
            int n = 1 + r.nextInt(5);
            byte[][] keys = new byte[n][];
            byte[][] values = new byte[n][];
            for (int i = 0; i < n; i++) {
                keys[i] = key(r.nextInt(300));
                values[i] = r.nextInt(4) == 0 ? null : value(r);
                if (values[i] == null) {
                    model.remove(ByteBuffer.wrap(keys[i]));
                } else {
                    model.put(ByteBuffer.wrap(keys[i]), ByteBuffer.wrap(values[i]));
                }
            }
            m.putAll(keys, values);
        }
    }

    static byte[] key(int k) {
        return b("key-" + k);
    }

    static byte[] value(SplittableRandom r) {
        byte[] v = new byte[r.nextInt(r.nextInt(8) == 0 ? 3000 : 40)];
        r.nextBytes(v);
        return v;
    }

    static ByteBuffer wrap(byte[] b) {
        return b == null ? null : ByteBuffer.wrap(b);
    }

    @Test
    void aCrashAtEachStepOfACheckpointRecoversTheWholeState(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        Map<ByteBuffer, ByteBuffer> model = new HashMap<>();
        Map<String, Path> copies = new HashMap<>();
        AtomicReference<Map<ByteBuffer, ByteBuffer>> expected = new AtomicReference<>();
        Map<String, Map<ByteBuffer, ByteBuffer>> expectedAt = new HashMap<>();
        SplittableRandom r = new SplittableRandom(3);
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(Durability.NONE)
                .steps(step -> {
                    // A process crash here keeps what was written to the files: copy them.
                    Path c = dir.resolve("crash-" + step.replace(' ', '-') + "-" + copies.size());
                    copyFiles(d, c);
                    copies.put(step + copies.size(), c);
                    expectedAt.put(step + (copies.size() - 1), expected.get());
                }).open()) {
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 500; i++) {
                    step(m, model, r);
                }
                m.flush(); // a process crash loses nothing anyway; the snapshot needs the log forced
                expected.set(copy(model));
                m.checkpoint();
            }
        }
        assertEquals(12, copies.size(), copies.keySet().toString());
        for (Map.Entry<String, Path> e : copies.entrySet()) {
            try (PersistentBytesMap m = PersistentBytesMap.builder(e.getValue()).open()) {
                assertEquals(expectedAt.get(e.getKey()), contents(m), "crash at " + e.getKey() + ": " + m.recovery());
                List<String> files = files(e.getValue());
                assertTrue(files.stream().noneMatch(f -> f.endsWith(".tmp")), "leftovers are deleted: " + files);
            }
        }
    }

    /** The names of a map directory's files, sorted. */
    static List<String> files(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static void copyFiles(Path from, Path to) {
        try {
            Files.createDirectories(to);
            for (String f : files(from)) {
                if (!f.equals("lock")) {
                    Files.copy(from.resolve(f), to.resolve(f));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void aTornTailIsCutAndTheRestReplays(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            for (int i = 0; i < 100; i++) {
                m.put(key(i), b("v" + i));
            }
        }
        Path log = d.resolve(String.format("%016x.log", 1));
        long size = Files.size(log);
        Damage.flipByte(log, size - 3); // inside the last record
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(99, m.size());
            assertNull(m.get(key(99)));
            assertTrue(m.recovery().truncatedBytes() > 0);
            m.put(key(100), b("after")); // appended after the cut
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(100, m.size());
            assertArrayEquals(b("after"), m.get(key(100)));
            assertEquals(0, m.recovery().truncatedBytes());
        }
    }

    @Test
    void damageWhereTheLogWasForcedWholeIsReportedNotSkipped(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            for (int i = 0; i < 100; i++) {
                m.put(key(i), b("v" + i));
            }
            m.checkpoint(); // log 1 is now behind snapshot 2, and deleted
            for (int i = 0; i < 100; i++) {
                m.put(key(i), b("w" + i));
            }
        }
        // A log that is not the newest: make one by hand from log 2 and a fresh log 3.
        Path log2 = d.resolve(String.format("%016x.log", 2));
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(100, m.size());
        }
        Path snap = d.resolve(String.format("%016x.snap", 2));
        Damage.flipByte(snap, Files.size(snap) - 5);
        TableFileException e = assertThrows(TableFileException.class, () -> PersistentBytesMap.builder(d).open());
        assertEquals(TableFileException.Problem.CORRUPT_LOG, e.problem());
        assertTrue(e.getMessage().contains("snapshot record"), e.getMessage());
        Damage.flipByte(snap, Files.size(snap) - 5);
        Files.delete(log2);
        e = assertThrows(TableFileException.class, () -> PersistentBytesMap.builder(d).open());
        assertEquals(TableFileException.Problem.CORRUPT_LOG, e.problem());
        assertTrue(e.getMessage().contains("log missing"), e.getMessage());
    }

    @Test
    void aDamagedRecordInAnOlderLogIsCorruption(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        List<Path> logsAtRotation = new ArrayList<>();
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).steps(s -> {
            if (s.equals("rotated")) {
                // Keep log 1 (forced whole) and log 2 as the rotation left them.
                copyFiles(d, d.resolveSibling("kept"));
                logsAtRotation.add(d.resolveSibling("kept"));
            }
        }).open()) {
            for (int i = 0; i < 50; i++) {
                m.put(key(i), b("v" + i));
            }
            m.checkpoint();
        }
        Path kept = logsAtRotation.get(0);
        try (PersistentBytesMap m = PersistentBytesMap.builder(kept).durability(Durability.NONE).open()) {
            m.put(key(999), b("in log 2"));
        }
        Damage.flipByte(kept.resolve(String.format("%016x.log", 1)), PersistentBytesMap.FILE_HEADER + 2);
        TableFileException e = assertThrows(TableFileException.class, () -> PersistentBytesMap.builder(kept).open());
        assertEquals(TableFileException.Problem.CORRUPT_LOG, e.problem());
        assertTrue(e.getMessage().contains("forced whole"), e.getMessage());
    }

    @Test
    void badFilesAndBadDirectoriesGetClearErrors(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            TableFileException e = assertThrows(TableFileException.class, () -> PersistentBytesMap.builder(d).open());
            assertEquals(TableFileException.Problem.LOCKED, e.problem());
            m.put(b("k"), b("v"));
        }
        TableFileException missing = assertThrows(TableFileException.class,
                () -> PersistentBytesMap.builder(dir.resolve("nope")).createIfMissing(false).open());
        assertEquals(TableFileException.Problem.MISSING, missing.problem());
        Path file = Files.writeString(dir.resolve("plain"), "x");
        assertEquals(TableFileException.Problem.OTHER_LAYOUT,
                assertThrows(TableFileException.class, () -> PersistentBytesMap.builder(file).open()).problem());
        Damage.flipByte(d.resolve(String.format("%016x.log", 1)), 0);
        TableFileException layout = assertThrows(TableFileException.class, () -> PersistentBytesMap.builder(d).open());
        assertEquals(TableFileException.Problem.OTHER_LAYOUT, layout.problem());
        assertTrue(layout.getMessage().contains("byte-map log"), layout.getMessage());
        Damage.flipByte(d.resolve(String.format("%016x.log", 1)), 0);
        // A failed open leaves the directory as it was, unlocked.
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertArrayEquals(b("v"), m.get(b("k")));
        }
        assertThrows(IllegalArgumentException.class, () -> PersistentBytesMap.builder(d).checkpointBytes(100));
        IllegalStateException behind = assertThrows(IllegalStateException.class,
                () -> PersistentBytesMap.builder(d).writeBehind(true).open());
        assertTrue(behind.getMessage().contains("NONE"), behind.getMessage());
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(1, m.size(), "the refused open left the directory unlocked");
        }
        assertThrows(NullPointerException.class, () -> PersistentBytesMap.builder(null));
    }

    @Test
    void badArgumentsAndAClosedMapThrowAndChangeNothing(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        PersistentBytesMap m = PersistentBytesMap.builder(d).open();
        assertThrows(NullPointerException.class, () -> m.put(null, b("v")));
        assertThrows(NullPointerException.class, () -> m.put(b("k"), null));
        assertThrows(NullPointerException.class, () -> m.remove(null));
        assertThrows(IllegalArgumentException.class, () -> m.putAll(new byte[2][], new byte[1][]));
        assertThrows(NullPointerException.class, () -> m.putAll(new byte[][] {b("a"), null}, new byte[2][]));
        assertEquals(0, m.size());
        m.put(b("k"), b("v"));
        m.close();
        m.close();
        assertTrue(m.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> m.put(b("k"), b("w")));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> m.get(b("k")));
        assertThrows(IllegalStateException.class, m::flush);
        assertThrows(IllegalStateException.class, m::checkpoint);
        try (PersistentBytesMap again = PersistentBytesMap.builder(d).open()) {
            assertArrayEquals(b("v"), again.get(b("k")));
        }
    }

    @Test
    void aWriteOverTheMemoryLimitIsRefusedAndNotLogged(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d)
                .map(o -> o.slabBytes(1 << 16).maxBytes(1 << 17)).open()) {
            m.put(b("small"), b("v"));
            assertThrows(TableFullException.class, () -> m.put(b("big"), new byte[1 << 18]));
            assertNull(m.get(b("big")));
            m.put(b("after"), b("w"));
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(2, m.size());
            assertNull(m.get(b("big")));
        }
    }

    @Test
    void recordsLargerThanTheBufferGoStraightToTheFile(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        byte[] big = new byte[3 << 20];
        new SplittableRandom(1).nextBytes(big);
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).checkpointBytes(1 << 20).open()) {
            m.put(b("before"), b("1"));
            m.put(b("big"), big);
            m.put(b("after"), b("2"));
            m.put(b("big2"), big); // past checkpointBytes and the live data: a checkpoint
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertArrayEquals(big, m.get(b("big")));
            assertArrayEquals(big, m.get(b("big2")));
            assertArrayEquals(b("2"), m.get(b("after")));
            assertEquals(4, m.size());
        }
    }
}
