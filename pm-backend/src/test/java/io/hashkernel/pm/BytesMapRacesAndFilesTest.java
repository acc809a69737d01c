package io.hashkernel.pm;

import io.hashkernel.table.TableFullException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

import static io.hashkernel.pm.PersistentBytesMapTest.b;
import static io.hashkernel.pm.PersistentBytesMapTest.copyFiles;
import static io.hashkernel.pm.PersistentBytesMapTest.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The durable byte map against races with {@code close()}, power cuts during checkpoints with
 * writers running, damaged and stray files, failed opens, full maps and records around the buffer
 * size.
 */
class BytesMapRacesAndFilesTest {

    private static Path log(Path d, long g) {
        return d.resolve(String.format("%016x.log", g));
    }

    private static Path snap(Path d, long g) {
        return d.resolve(String.format("%016x.snap", g));
    }

    private static byte[] tk(int thread, int i) {
        return b("t" + thread + "-" + i);
    }

    /**
     * Writers (put, remove, putAll), checkpoints and flushes race close(): only
     * IllegalStateException may come out, nothing deadlocks, and every write that returned
     * normally is there after reopening (close forces everything).
     */
    @ParameterizedTest
    @EnumSource(Durability.class)
    @Timeout(60)
    void writersCheckpointsFlushesRacingCloseLoseNoReturnedWrite(Durability durability, @TempDir Path dir) throws Exception {
        for (int round = 0; round < 4; round++) {
            Path d = dir.resolve("m" + round);
            int threads = 3;
            AtomicLongArray lastAcked = new AtomicLongArray(threads); // per thread: highest i acked (keys 0..i all set)
            for (int t = 0; t < threads; t++) {
                lastAcked.set(t, -1);
            }
            List<Throwable> bad = new CopyOnWriteArrayList<>();
            PersistentBytesMap m = PersistentBytesMap.builder(d).durability(durability).checkpointBytes(4096).open();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                all.add(new Thread(() -> {
                    try {
                        for (int i = 0; ; i++) {
                            if (i % 7 == 3) {
                                m.putAll(new byte[][] {tk(id, i), b("junk" + id)}, new byte[][] {b("v" + i), null});
                            } else {
                                m.put(tk(id, i), b("v" + i));
                                m.put(b("hot" + (i % 5)), new byte[64]); // overwrites: log outgrows live data
                            }
                            lastAcked.set(id, i);
                        }
                    } catch (IllegalStateException e) {
                        // closed: fine
                    } catch (Throwable e) {
                        bad.add(e);
                    }
                }));
            }
            all.add(new Thread(() -> {
                try {
                    for (;;) {
                        m.checkpoint();
                        m.flush();
                        m.diskBytes();
                    }
                } catch (IllegalStateException e) {
                    // closed
                } catch (Throwable e) {
                    bad.add(e);
                }
            }));
            all.forEach(Thread::start);
            Thread.sleep(100 + 50 * round);
            m.close();
            for (Thread t : all) {
                t.join(20_000);
                assertFalse(t.isAlive(), "a thread hangs after close");
            }
            assertTrue(bad.isEmpty(), () -> withCauses(bad));
            try (PersistentBytesMap again = PersistentBytesMap.builder(d).open()) {
                for (int t = 0; t < threads; t++) {
                    for (int i = 0; i <= lastAcked.get(t); i++) {
                        assertArrayEquals(b("v" + i), again.get(tk(t, i)), "thread " + t + " write " + i + " lost, round " + round);
                    }
                }
                assertEquals(0, again.recovery().truncatedBytes());
            }
        }
    }

    /**
     * New keys a writer of {@link #powerCutsDuringCheckpointsWithConcurrentWritersKeepAckedWritesAndPrefixes}
     * puts before it goes on with its hot key alone. Unbounded, writers that outran the
     * checkpoints (NONE forces nothing) grow the map, so each snapshot and each copy of the files
     * takes longer and the writers run further ahead: on a loaded machine the test outlasts its
     * timeout.
     */
    private static final int DISTINCT_WRITES = 50_000;

    /**
     * Power cuts at each checkpoint step while writers run: the forced end is read after noting
     * the acknowledged writes, then the files are copied and the newest log damaged past it.
     * Recovery must hold, per thread, a prefix of its writes and, under BATCH, every acknowledged
     * write: its new keys and its hot key's latest value.
     */
    @ParameterizedTest
    @EnumSource(value = Durability.class, names = {"BATCH", "NONE"})
    @Timeout(60)
    void powerCutsDuringCheckpointsWithConcurrentWritersKeepAckedWritesAndPrefixes(Durability durability, @TempDir Path dir) throws Exception {
        Path d = dir.resolve("m");
        int threads = 2;
        AtomicLongArray acked = new AtomicLongArray(threads);
        for (int t = 0; t < threads; t++) {
            acked.set(t, -1);
        }
        List<Object[]> cuts = Collections.synchronizedList(new ArrayList<>()); // {path, long[] ackedAtCut}
        AtomicInteger n = new AtomicInteger();
        SplittableRandom cutRandom = new SplittableRandom(5);
        AtomicBoolean stop = new AtomicBoolean();
        PersistentBytesMap[] holder = new PersistentBytesMap[1];
        List<Throwable> bad = new CopyOnWriteArrayList<>();
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(durability).checkpointBytes(4096)
                .steps(step -> {
                    if (n.get() > 40) {
                        return;
                    }
                    long[] ack = new long[threads];
                    for (int t = 0; t < threads; t++) {
                        ack[t] = durability == Durability.NONE ? -1 : acked.get(t); // NONE: no power-cut promise
                    }
                    long[] forced = holder[0].durableEnd();
                    Path c = dir.resolve("cut" + n.getAndIncrement());
                    copyFiles(d, c);
                    try {
                        synchronized (cutRandom) {
                            BytesMapCrashTest.powerCut(log(c, forced[0]), forced[1], cutRandom);
                        }
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                    cuts.add(new Object[] {c, ack, step});
                }).open()) {
            holder[0] = m;
            List<Thread> ws = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                ws.add(new Thread(() -> {
                    try {
                        for (int i = 0; !stop.get(); i++) {
                            if (i < DISTINCT_WRITES) {
                                m.put(tk(id, i), new byte[20 + (i % 50)]);
                            }
                            m.put(b("hot" + id), b("h" + i));
                            acked.set(id, i);
                        }
                    } catch (Throwable e) {
                        bad.add(e);
                    }
                }));
            }
            ws.add(new Thread(() -> {
                try {
                    while (!stop.get()) {
                        m.checkpoint();
                        Thread.sleep(5);
                    }
                } catch (Throwable e) {
                    bad.add(e);
                }
            }));
            ws.forEach(Thread::start);
            while (n.get() <= 40 && bad.isEmpty()) {
                Thread.sleep(20);
            }
            stop.set(true);
            for (Thread w : ws) {
                w.join();
            }
        }
        assertTrue(bad.isEmpty(), () -> withCauses(bad));
        assertTrue(cuts.size() > 20);
        for (Object[] cut : cuts) {
            Path c = (Path) cut[0];
            long[] ack = (long[]) cut[1];
            try (PersistentBytesMap r = PersistentBytesMap.builder(c).open()) {
                for (int t = 0; t < threads; t++) {
                    long lastAckedKey = Math.min(ack[t], DISTINCT_WRITES - 1); // later acks wrote the hot key only
                    boolean gap = false;
                    for (int i = 0; ; i++) {
                        byte[] v = r.get(tk(t, i));
                        if (i <= lastAckedKey) {
                            assertTrue(v != null, "acked write " + t + "/" + i + " lost at " + cut[2] + " " + r.recovery());
                        }
                        if (v == null) {
                            gap = true;
                        } else if (gap) {
                            fail("not a prefix: " + t + "/" + i + " present after a missing one, " + cut[2]);
                        }
                        if (gap && i > lastAckedKey + 10_000) {
                            break;
                        }
                    }
                    if (ack[t] >= 0) { // the hot key holds the acknowledged write's value or a later one
                        byte[] hot = r.get(b("hot" + t));
                        assertTrue(hot != null, "hot key of " + t + " lost at " + cut[2]);
                        long written = Long.parseLong(new String(hot, StandardCharsets.UTF_8).substring(1));
                        assertTrue(written >= ack[t], "hot key of " + t + " holds write " + written
                                + ", older than the acknowledged " + ack[t] + " at " + cut[2]);
                    }
                }
            }
        }
    }

    /** Damage of many kinds: each is recovered (a torn tail) or refused with TableFileException, never another exception. */
    @Test
    void damagedAndStrayFilesGiveClearOutcomes(@TempDir Path dir) throws IOException {
        Path base = dir.resolve("base");
        try (PersistentBytesMap m = PersistentBytesMap.builder(base).open()) {
            for (int i = 0; i < 50; i++) {
                m.put(key(i), b("v" + i));
            }
            m.checkpoint(); // snapshot 2, log 2
            for (int i = 0; i < 50; i++) {
                m.put(key(i), b("w" + i));
            }
        }
        int[] variant = {0};
        // 1. leftover .tmp files of every kind: deleted, state intact
        Path d = fresh(base, dir, variant);
        Files.write(d.resolve(String.format("%016x.snap.tmp", 3)), new byte[100]);
        Files.write(d.resolve(String.format("%016x.log.tmp", 3)), new byte[0]);
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertArrayEquals(b("w7"), m.get(key(7)));
            assertTrue(PersistentBytesMapTest.files(d).stream().noneMatch(f -> f.endsWith(".tmp")));
        }
        // 2. newest log of zero length, or shorter than its header
        for (long len : new long[] {0, 10, 31}) {
            d = fresh(base, dir, variant);
            try (FileChannel ch = FileChannel.open(log(d, 2), StandardOpenOption.WRITE)) {
                ch.truncate(len);
            }
            refused(d, "log of " + len + " bytes");
        }
        // 3. snapshot of zero length; snapshot cut in a record
        d = fresh(base, dir, variant);
        Files.write(snap(d, 2), new byte[0]);
        refused(d, "empty snapshot");
        d = fresh(base, dir, variant);
        try (FileChannel ch = FileChannel.open(snap(d, 2), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 3);
        }
        refused(d, "snapshot cut short");
        // 4. snapshot without its log; a gap in generations; a newer stray log after a gap
        d = fresh(base, dir, variant);
        Files.delete(log(d, 2));
        refused(d, "snapshot without log");
        d = fresh(base, dir, variant);
        Files.copy(log(d, 2), log(d, 4)); // wrong generation in header too
        refused(d, "gap 3");
        // 5. tails with huge, negative and -2 lengths: cut, the rest replays
        for (int[] lens : new int[][] {{Integer.MAX_VALUE, 0}, {-5, 3}, {3, -2}, {0, Integer.MAX_VALUE}, {0, 0}}) {
            d = fresh(base, dir, variant);
            try (FileChannel ch = FileChannel.open(log(d, 2), StandardOpenOption.WRITE)) {
                ByteBuffer rec = ByteBuffer.allocate(40).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                rec.putInt(0).putInt(lens[0]).putInt(lens[1]).put(new byte[28]).flip();
                ch.write(rec, ch.size());
            }
            try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
                assertEquals(40, m.recovery().truncatedBytes(), m.recovery().toString());
                assertArrayEquals(b("w49"), m.get(key(49)));
                m.put(b("after"), b("x"));
            }
            try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
                assertArrayEquals(b("x"), m.get(b("after")));
            }
        }
        // 6. a damaged header of the newest log
        d = fresh(base, dir, variant);
        Damage.flipByte(log(d, 2), 17);
        refused(d, "header");
        // 7. an older snapshot and older logs left by a checkpoint that crashed before deleting: ignored and deleted
        d = fresh(base, dir, variant);
        Files.copy(snap(d, 2), snap(d, 1));
        Files.write(log(d, 1), new byte[7]); // even a junk older log: below the snapshot, not read
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertArrayEquals(b("w7"), m.get(key(7)));
        }
        assertFalse(Files.exists(log(d, 1)));
        assertFalse(Files.exists(snap(d, 1)));
    }

    private static Path fresh(Path base, Path dir, int[] variant) {
        Path d = dir.resolve("v" + variant[0]++);
        copyFiles(base, d);
        return d;
    }

    private static void refused(Path d, String what) throws IOException {
        try {
            PersistentBytesMap.builder(d).open().close();
            fail(what + ": opened");
        } catch (TableFileException e) {
            // a clear refusal; the lock must be free again
        } catch (Throwable e) {
            fail(what + ": " + e, e);
        }
        List<String> before = PersistentBytesMapTest.files(d);
        TableFileException again = assertThrows(TableFileException.class, () -> PersistentBytesMap.builder(d).open());
        assertTrue(again.problem() != TableFileException.Problem.LOCKED, what + ": the failed open left the lock held");
        assertEquals(before, PersistentBytesMapTest.files(d), what + ": a refused open changed the files");
    }

    /** Failed opens (data over the memory limit, bad map options) release the lock. */
    @Test
    void failedOpensReleaseTheLock(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            for (int i = 0; i < 200; i++) {
                m.put(key(i), new byte[2000]);
            }
        }
        assertThrows(TableFullException.class,
                () -> PersistentBytesMap.builder(d).map(o -> o.slabBytes(1 << 16).maxBytes(1 << 17)).open());
        assertThrows(RuntimeException.class, () -> PersistentBytesMap.builder(d).map(o -> o.maxBytes(-1)).open());
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(200, m.size());
        }
    }

    /** putAll: TableFullException midway keeps the pairs before it (durable, also after reopen), not the rest. */
    @ParameterizedTest
    @EnumSource(Durability.class)
    void putAllThatFillsTheMapMidwayKeepsThePrefix(Durability durability, @TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(durability)
                .map(o -> o.slabBytes(1 << 16).maxBytes(1 << 17)).open()) {
            byte[][] keys = {b("a"), b("b"), b("big"), b("c")};
            byte[][] values = {b("1"), null, new byte[1 << 18], b("3")};
            m.put(b("b"), b("old"));
            assertThrows(TableFullException.class, () -> m.putAll(keys, values));
            assertArrayEquals(b("1"), m.get(b("a")));
            assertNull(m.get(b("b")));
            assertNull(m.get(b("big")));
            assertNull(m.get(b("c")));
            long[] forced = m.durableEnd();
            if (durability != Durability.NONE) {
                assertEquals(Files.size(log(d, forced[0])), forced[1], "the prefix is forced");
            }
            m.put(b("d"), b("4"));
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(2, m.size());
            assertArrayEquals(b("1"), m.get(b("a")));
            assertArrayEquals(b("4"), m.get(b("d")));
        }
    }

    /** A failing force poisons the map: writes throw (UncheckedIOException or ISE), reads go on, reopen restores the forced state. */
    @Test
    void aFailedForcePoisonsTheMapAndReopenRestoresTheLoggedState(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        java.util.concurrent.atomic.AtomicReference<FailingChannel> log = new java.util.concurrent.atomic.AtomicReference<>();
        PersistentBytesMap m = BytesMapFailuresTest.failing(d, log).durability(Durability.EACH).open();
        m.put(b("a"), b("1"));
        FailingChannel c = log.get();
        c.failForce = true;
        assertThrows(java.io.UncheckedIOException.class, () -> m.put(b("b"), b("2")));
        assertThrows(IllegalStateException.class, () -> m.put(b("c"), b("3")));
        assertThrows(IllegalStateException.class, m::checkpoint);
        assertArrayEquals(b("2"), m.get(b("b"))); // documented: memory ahead of the log
        c.failForce = false;
        assertThrows(java.io.UncheckedIOException.class, m::close, "close says the map had failed");
        try (PersistentBytesMap again = PersistentBytesMap.builder(d).open()) {
            assertArrayEquals(b("1"), again.get(b("a")));
            again.put(b("z"), b("ok"));
        }
    }

    /** Huge records around the 1 MiB buffer and checkpoints with them. */
    @Test
    void recordsAroundTheBufferSizeSurviveCheckpointsAndReopen(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        SplittableRandom r = new SplittableRandom(9);
        ConcurrentHashMap<String, byte[]> model = new ConcurrentHashMap<>();
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(Durability.NONE).checkpointBytes(1 << 20).open()) {
            for (int i = 0; i < 30; i++) {
                int len = (1 << 20) - 12 - 2 + r.nextInt(-40, 40);
                byte[] v = new byte[Math.max(0, len)];
                r.nextBytes(v);
                m.put(b("k" + (i % 4)), v);
                model.put("k" + (i % 4), v);
            }
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            for (var e : model.entrySet()) {
                assertArrayEquals(e.getValue(), m.get(b(e.getKey())));
            }
            assertEquals(model.size(), m.size());
        }
    }

    /** The failures with their causes, so that a rare one says what went wrong underneath. */
    private static String withCauses(List<Throwable> failures) {
        StringWriter b = new StringWriter();
        try (PrintWriter out = new PrintWriter(b)) {
            for (Throwable e : failures) {
                e.printStackTrace(out); // with each cause's trace: which thread's I/O failed, and where
            }
        }
        return b.toString();
    }
}
