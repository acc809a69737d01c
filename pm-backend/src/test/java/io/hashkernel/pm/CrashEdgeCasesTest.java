package io.hashkernel.pm;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.TableFullException;
import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Crash and open edge cases, each a sequence that once broke a guarantee of the durable table. */
class CrashEdgeCasesTest {

    @TempDir
    Path dir;

    /** A kill -9 image of an open table: the table file and its log as the page cache holds them. */
    private static void crashCopy(Path from, Path to) throws IOException {
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        Path log = from.resolveSibling(from.getFileName() + ".log");
        if (Files.exists(log)) {
            Files.copy(log, to.resolveSibling(to.getFileName() + ".log"), StandardCopyOption.REPLACE_EXISTING);
        }
    }



    /**
     * An acknowledged removal is never undone. A crash leaves the log as: group 1 valid, group 2
     * torn (its bytes did not all reach the disk), group 3 valid (it did). Recovery replays group 1
     * and stops at group 2; it must cut the log there, or the next group written (as long as group
     * 2) would be followed by group 3, still valid and of the same generation, which the next
     * replay would apply after it.
     */
    @Test
    void aValidGroupBehindATornOneIsNeverReplayed() throws IOException {
        Path file = dir.resolve("t.hkt");
        PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(64)
                .persistence(Persistence.REDO_LOG).durability(Durability.EACH).open();
        t.put(5, 111);   // group 1 at [64, 104): acknowledged
        t.put(7, 1);     // group 2 at [104, 144)
        t.put(5, 222);   // group 3 at [144, 184)
        Path crash1 = dir.resolve("crash1.hkt");
        crashCopy(file, crash1);
        t.close();
        // The power cut tore group 2 (one of its entry's bytes is not what was written) and not group 3.
        Damage.flipByte(crash1.resolveSibling("crash1.hkt.log"), 104 + 20);

        PersistentLongLongTable r = PersistentLongLongTable.builder(crash1).persistence(Persistence.REDO_LOG)
                .durability(Durability.EACH).open();
        assertEquals(1, r.recovery().replayedEntries(), "replay stops at the torn group");
        assertEquals(111, r.get(5));
        assertEquals(111, r.remove(5)); // acknowledged: group 2' at [104, 144), forced
        assertEquals(0, r.get(5));
        Path crash2 = dir.resolve("crash2.hkt");
        crashCopy(crash1, crash2);      // kill -9 now
        r.close();

        try (PersistentLongLongTable again = PersistentLongLongTable.builder(crash2)
                .persistence(Persistence.REDO_LOG).open()) {
            assertEquals(0, again.get(5), "the acknowledged removal of key 5 was undone: replayed "
                    + again.recovery().replayedEntries() + " entries");
        }
    }

    /** The same on the simulated disk, with its own power-cut model (random 8-byte units of the log survive). */
    @Test
    void aValidGroupBehindATornOneIsNeverReplayedOnTheSimulatedDisk() throws IOException {
        int hits = 0;
        List<String> failures = new ArrayList<>();
        // Two single-entry groups written after the last force; the cut keeps a random subset of their 8-byte units.
        for (long seed = 0; seed < 2000 && failures.isEmpty(); seed++) {
            SimulatedDisk disk = new SimulatedDisk();
            PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(64)
                    .persistence(Persistence.REDO_LOG).durability(Durability.NONE).open();
            t.put(5, 111);
            t.flush();                     // group 1 durable: put(5, 111) acknowledged for a power cut
            t.put(7, 1);                   // group 2, page cache only
            t.put(5, 222);                 // group 3, page cache only
            SimulatedDisk cut = disk.cut(new java.util.SplittableRandom(seed), 8);
            PersistentLongLongTable r = PersistentLongLongTable.builder(cut.path()).storage(cut)
                    .durability(Durability.EACH).open();
            if (r.recovery().replayedEntries() != 1) {
                r.close();
                continue;                  // group 2 survived whole or the cut kept nothing after group 1
            }
            hits++;
            long before = r.get(5);
            r.remove(5);                   // acknowledged removal (group 2', same length as group 2)
            SimulatedDisk crash = cut.processCrash();
            try (PersistentLongLongTable again = PersistentLongLongTable.builder(crash.path()).storage(crash).open()) {
                long v = again.get(5);
                if (v != 0) {
                    failures.add("seed " + seed + ": key 5 was " + before + ", removal acknowledged, after the"
                            + " next crash it holds " + v + " (replayed " + again.recovery().replayedEntries() + ")");
                }
            }
        }
        assertTrue(hits > 0, "some cuts tore group 2");
        assertTrue(failures.isEmpty(), failures.toString());
    }


    /**
     * A cut during a checkpoint (here: of close()) keeps every acknowledged value. Were the new log
     * header and the truncation made durable by one force, a cut before it could keep the old
     * header and older groups while a unit of the newest, acknowledged group is lost with the
     * truncation; replaying the older groups over the checkpointed table would then turn an
     * acknowledged value back into an older one. The new header is forced before the truncation.
     */
    @Test
    void aCutDuringACheckpointKeepsAcknowledgedValues() throws IOException {
        List<String> failures = new ArrayList<>();
        for (long seed = 0; seed < 200 && failures.size() < 3; seed++) {
            SimulatedDisk disk = new SimulatedDisk();
            PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(64)
                    .persistence(Persistence.REDO_LOG).durability(Durability.EACH).open();
            t.put(5, 1);
            t.put(6, 1);
            t.put(5, 2);    // acknowledged: its group is forced
            disk.cutAfter(4); // close(): 1 table flush, 2 log header write, 3 truncate, 4 force <- cut
            assertThrows(SimulatedDisk.PowerCut.class, t::close);
            disk.noCut();
            SimulatedDisk cut = disk.cut(new java.util.SplittableRandom(seed), 8);
            try (PersistentLongLongTable r = PersistentLongLongTable.builder(cut.path()).storage(cut)
                    .persistence(Persistence.REDO_LOG).open()) {
                if (r.get(5) != 2) {
                    failures.add("seed " + seed + ": key 5 holds " + r.get(5) + " after put(5, 2) was acknowledged"
                            + " (replayed " + r.recovery().replayedEntries() + ")");
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }


    /** A storage whose header flushes can be held, to stop close() between its table flush and its header write. */
    static final class GatedStorage implements Storage {
        final SimulatedDisk disk;
        volatile boolean armed;
        final CountDownLatch reached = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        GatedStorage(SimulatedDisk disk) {
            this.disk = disk;
        }

        @Override public Path path() { return disk.path(); }
        @Override public boolean exists() { return disk.exists(); }
        @Override public void create(long bytes, MemorySegment firstPage) { disk.create(bytes, firstPage); }
        @Override public LogFile openLog() { return disk.openLog(); }
        @Override public boolean logExists() { return disk.logExists(); }
        @Override public void deleteLog() { disk.deleteLog(); }
        @Override public void replaceLog(java.nio.ByteBuffer contents) { disk.replaceLog(contents); }

        @Override
        public TableFile openTable() throws IOException {
            TableFile f = disk.openTable();
            return new TableFile() {
                @Override public MemorySegment segment() { return f.segment(); }
                @Override public boolean synchronous() { return f.synchronous(); }
                @Override public String description() { return f.description(); }
                @Override public void close() { f.close(); }

                @Override
                public void flush(long offset, long length) {
                    if (armed && offset < Header.PAGE) {
                        armed = false;
                        reached.countDown();
                        try {
                            release.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            throw new RuntimeException(e);
                        }
                    }
                    f.flush(offset, length);
                }
            };
        }
    }

    /**
     * A clean header means the table is exactly as closed: in place, a put that comes while
     * close() is writing the header is refused, so the size the header records is the table's.
     */
    @Test
    void aWriteDuringCloseIsRefusedAndTheCleanSizeIsRight() throws Exception {
        SimulatedDisk disk = new SimulatedDisk();
        GatedStorage gated = new GatedStorage(disk);
        PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(gated).capacity(64)
                .persistence(Persistence.IN_PLACE).durability(Durability.EACH).open();
        t.put(1, 10);
        gated.armed = true;
        Thread closer = new Thread(t::close);
        closer.start();
        assertTrue(gated.reached.await(10, TimeUnit.SECONDS), "close reached its header write");
        assertTrue(t.isClosed());
        gated.release.countDown();
        assertThrows(IllegalStateException.class, () -> t.put(2, 20), "a put after close() began is refused");
        closer.join();

        SimulatedDisk after = disk.cutToDurable();
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(after.path()).storage(after).open()) {
            long[] seen = new long[1];
            r.forEach((k, v) -> seen[0]++);
            assertTrue(r.recovery().clean());
            assertEquals(0, r.get(2), "the refused put left nothing");
            assertEquals(seen[0], r.size(), "reopened clean: size() " + r.size() + " but forEach finds " + seen[0]);
        }
    }


    /** A read-only redo log gives READ_ONLY, and the table file is left byte for byte as it was. */
    @Test
    void aReadOnlyLogLeavesTheTableFileUntouched() throws Exception {
        Path file = dir.resolve("rolog.hkt");
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(64)
                .persistence(Persistence.REDO_LOG).open()) {
            t.put(1, 2);
        }
        Path log = dir.resolve("rolog.hkt.log");
        assertTrue(Files.exists(log));
        boolean immutable = new ProcessBuilder("chattr", "+i", log.toString()).start().waitFor() == 0;
        org.junit.jupiter.api.Assumptions.assumeTrue(immutable, "chattr +i not available");
        byte[] before = Files.readAllBytes(file);
        try {
            TableFileException e = assertThrows(TableFileException.class, () -> PersistentLongLongTable
                    .builder(file).persistence(Persistence.REDO_LOG).open());
            assertEquals(TableFileException.Problem.READ_ONLY, e.problem(), e.getMessage());
            byte[] now = Files.readAllBytes(file);
            int first = -1;
            for (int i = 0; i < before.length && first < 0; i++) {
                if (before[i] != now[i]) {
                    first = i;
                }
            }
            assertArrayEquals(before, now, "the table file changed, first at byte " + first);
        } finally {
            new ProcessBuilder("chattr", "-i", log.toString()).start().waitFor();
        }
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).open()) {
            assertTrue(t.recovery().clean(), "the file was closed cleanly, and the refused open should not change that");
        }
    }


    /**
     * The session contract (LongLongSession: every id comes back exactly once "except a put that
     * finds no room"): the durable session does not hand back the put that found no room.
     */
    @Test
    void aPutWithoutRoomDoesNotComeBackFromPoll() throws IOException {
        SimulatedDisk disk = new SimulatedDisk();
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(4)
                .missingValue(-1).persistence(Persistence.IN_PLACE).durability(Durability.BATCH).open();
             ConcurrentLongLongTable mem = ConcurrentLongLongTable.builder().capacity(4).missingValue(-1)
                     .memory(MemoryProvider.gcManaged()).build()) {
            for (long k = 1; k <= 4; k++) {
                t.put(k, k);
                mem.put(k, k);
            }
            List<String> got = new ArrayList<>();
            for (var table : List.<io.hashkernel.table.LongLongMap>of(mem, t)) {
                LongLongSession s = table.session();
                s.put(100, 99, 7);      // no room
                s.get(101, 1);
                assertThrows(TableFullException.class, s::flush);
                long[] ids = new long[8];
                long[] results = new long[8];
                int n = s.poll(ids, results);
                StringBuilder b = new StringBuilder(table == mem ? "in-memory:" : "durable:");
                for (int i = 0; i < n; i++) {
                    b.append(" ").append(ids[i]).append("->").append(results[i]);
                }
                got.add(b.toString());
            }
            assertEquals(got.get(0).replace("in-memory:", ""), got.get(1).replace("durable:", ""), got.toString());
        }
    }


    /**
     * A damaged log header (bit rot, not a checkpoint: the table was never flushed after these
     * writes) does not drop the acknowledged writes of the groups behind it: the first valid
     * group names the generation.
     */
    @Test
    void aDamagedLogHeaderKeepsTheGroupsBehindIt() throws IOException {
        SimulatedDisk disk = new SimulatedDisk();
        PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(64)
                .persistence(Persistence.REDO_LOG).durability(Durability.EACH).open();
        t.put(1, 11);
        t.put(2, 22);
        SimulatedDisk cut = disk.cutToDurable();
        Storage.LogFile log = cut.openLog();
        log.write(ByteBuffer.wrap(new byte[]{0x5A}), 20); // one byte of the generation
        log.force();
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(cut.path()).storage(cut).open()) {
            assertEquals(11, r.get(1), "replayed " + r.recovery().replayedEntries() + " entries");
        } catch (TableFileException e) {
            // refusing to open would be acceptable too
        }
    }

    /** A file of the right size with a zeroed header page, and a garbage log tail. */
    @Test
    void zeroHeaderAndGarbageLogTail() throws IOException {
        Path file = dir.resolve("z.hkt");
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(64).open()) {
            t.put(1, 1);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4096), 0);
        }
        byte[] before = Files.readAllBytes(file);
        TableFileException e = assertThrows(TableFileException.class, () -> PersistentLongLongTable.builder(file).open());
        assertEquals(TableFileException.Problem.OTHER_LAYOUT, e.problem());
        assertArrayEquals(before, Files.readAllBytes(file));

        Path g = dir.resolve("g.hkt");
        PersistentLongLongTable t = PersistentLongLongTable.builder(g).capacity(64).persistence(Persistence.REDO_LOG)
                .durability(Durability.EACH).open();
        t.put(1, 1);
        t.put(2, 2);
        Path c = dir.resolve("gc.hkt");
        crashCopy(g, c);
        t.close();
        byte[] junk = new byte[333];
        new java.util.Random(1).nextBytes(junk);
        Files.write(c.resolveSibling("gc.hkt.log"), junk, StandardOpenOption.APPEND);
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(c).open()) {
            assertEquals(1, r.get(1));
            assertEquals(2, r.get(2));
            assertEquals(2, r.recovery().replayedEntries());
        }
    }


    /**
     * A header copy damaged (not torn by the protocol: bit rot, a stray write) in the newest copy
     * of a table that crashed, while the older copy says "clean": the open still repairs and
     * recounts rather than trust the old size.
     */
    @Test
    void aDamagedNewestHeaderCopyStillGetsTheTableRecovered() throws IOException {
        Path file = dir.resolve("h.hkt");
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(64)
                .persistence(Persistence.IN_PLACE).durability(Durability.EACH).open()) {
            t.put(1, 1);
        } // copy 0: epoch 2, clean, 1 mapping
        PersistentLongLongTable t = PersistentLongLongTable.builder(file).persistence(Persistence.IN_PLACE)
                .durability(Durability.EACH).open(); // copy 1: epoch 3, open
        t.put(2, 2);
        t.put(3, 3);
        Path crash = dir.resolve("hc.hkt");
        crashCopy(file, crash);
        t.close();
        Damage.flipByte(crash, 2048 + 16); // the newest copy (the "open" one) fails its checksum
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(crash).open()) {
            long[] seen = new long[1];
            r.forEach((k, v) -> seen[0]++);
            assertEquals(3, seen[0]);
            assertEquals(3, r.size(), "size() after opening (recovery().clean() = " + r.recovery().clean() + ")");
            assertFalse(r.recovery().clean(), "the table was not closed cleanly");
        }
    }

    /**
     * A checkpoint whose restart fails after writing the new header (here at its first force)
     * must not leave later groups behind that header with the old generation, where the replay
     * would take them for a checkpoint's leftovers: the next append finishes the restart first.
     * (The table retries the checkpoint after its next write, but a writer whose group lands
     * while another holds the write lock does not, so the log must be right on its own.)
     */
    @Test
    void aGroupAppendedAfterARestartFailedPastItsHeaderIsReplayed() throws IOException {
        FailingRestarts disk = new FailingRestarts(new SimulatedDisk());
        RedoLog log = RedoLog.open(disk.openLog(), keysInto(new ArrayList<>()), new long[1]);
        ByteBuffer group = RedoLog.groupBuffer(null, 1);
        RedoLog.entry(group, 7, 70);
        log.sync(log.append(group));
        disk.armed = true;
        IOException failed = assertThrows(IOException.class, log::checkpointed);
        assertTrue(failed.getMessage().contains("simulated"), failed.getMessage());
        group = RedoLog.groupBuffer(group, 1);
        RedoLog.entry(group, 8, 80);
        log.sync(log.append(group)); // durable: acknowledged
        SimulatedDisk after = disk.disk.cutToDurable();
        List<Long> replayed = new ArrayList<>();
        RedoLog.open(after.openLog(), keysInto(replayed), new long[1]);
        assertEquals(List.of(8L), replayed, "the group appended after the failed restart, in the new generation");
    }

    /**
     * A power cut at any moment of a {@code clear()} leaves every mapping or none, in both
     * persistences and whatever the durability; so does a second cut during the recovery that
     * finishes it. The mappings are in the table file and (redo log) in the log too, and the
     * cut images keep any half of what was not yet durable, unit by unit.
     */
    @Test
    void aCutDuringAClearLeavesEveryMappingOrNone() throws IOException {
        List<String> failures = new ArrayList<>();
        for (Persistence persistence : List.of(Persistence.REDO_LOG, Persistence.IN_PLACE)) {
            for (Durability durability : Durability.values()) {
                boolean completed = false;
                for (int calls = 1; !completed && failures.size() < 3; calls++) {
                    SimulatedDisk disk = new SimulatedDisk();
                    PersistentLongLongTable t = fortyMappings(disk, persistence, durability);
                    disk.cutAfter(calls);
                    try {
                        t.clear();
                        completed = true;
                        disk.noCut();
                        t.close();
                    } catch (SimulatedDisk.PowerCut expected) {
                        disk.noCut();
                    }
                    for (int seed = 0; seed < 12; seed++) {
                        java.util.SplittableRandom random = new java.util.SplittableRandom(seed * 31 + calls);
                        SimulatedDisk image = disk.cut(random, new int[] {8, 64, 4096}[seed % 3]);
                        String where = persistence + " " + durability + ", cut at call " + calls + ", image " + seed;
                        if (seed % 2 == 1) { // a second cut, during the recovery
                            image.cutAfter(1 + seed / 4);
                            try {
                                PersistentLongLongTable.builder(image.path()).storage(image).persistence(persistence)
                                        .open().close();
                            } catch (SimulatedDisk.PowerCut expected) {
                                where += ", cut again in recovery";
                            }
                            image.noCut();
                            image = image.cut(random, 64);
                        }
                        try (PersistentLongLongTable r = PersistentLongLongTable.builder(image.path()).storage(image)
                                .persistence(persistence).open()) {
                            long size = r.size();
                            int held = 0;
                            for (long k = 1; k <= 40; k++) {
                                held += r.get(k) == k * 10 ? 1 : 0;
                            }
                            boolean none = size == 0 && held == 0;
                            boolean all = size == 40 && held == 40;
                            if (completed ? !none : !(none || all)) {
                                failures.add(where + ": size " + size + ", " + held + " of the 40 mappings"
                                        + (completed ? " after the clear returned" : ""));
                            }
                        }
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }

    /** A table on {@code disk} holding keys 1..40 (values key × 10), durably: half in the table file and, for a redo log, half in the log. */
    private static PersistentLongLongTable fortyMappings(SimulatedDisk disk, Persistence persistence,
                                                         Durability durability) throws IOException {
        PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(128)
                .persistence(persistence).durability(durability).open();
        for (long k = 1; k <= 20; k++) {
            t.put(k, k * 10);
        }
        t.close(); // a checkpoint: the first half is in the table file
        t = PersistentLongLongTable.builder(disk.path()).storage(disk).persistence(persistence)
                .durability(durability).open();
        for (long k = 21; k <= 40; k++) {
            t.put(k, k * 10);
        }
        t.flush();
        return t;
    }

    /**
     * An in-place clear that fails once it has marked the header stops the table's writes: the
     * next open would finish the clear, taking a later write with it. Closing and reopening then
     * gives the state the live table had: all mappings where the mark's flush failed (the
     * slots were not touched), none where the flush of the cleared slots failed.
     */
    @Test
    void anInPlaceClearThatFailsMidwayStopsWritesUntilReopened() throws IOException {
        for (int failing = 1; failing <= 3; failing++) {
            FailingRestarts disk = new FailingRestarts(new SimulatedDisk());
            PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(128)
                    .persistence(Persistence.IN_PLACE).durability(Durability.EACH).open();
            for (long k = 1; k <= 10; k++) {
                t.put(k, k);
            }
            disk.failFlush = failing; // 1, 2: the mark's flushes (one a header copy); 3: the cleared slots' flush
            assertThrows(java.io.UncheckedIOException.class, t::clear);
            long expected = failing <= 2 ? 10 : 0;
            assertEquals(expected, t.size(), "the live table, flush " + failing + " failed");
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> t.put(11, 11));
            assertTrue(refused.getMessage().contains("failed midway"), refused.getMessage());
            assertThrows(IllegalStateException.class, () -> t.removeAll(new long[] {1}));
            assertThrows(IllegalStateException.class, t::clear);
            assertEquals(failing <= 2 ? 1 : t.missingValue(), t.get(1), "reads go on");

            SimulatedDisk cut = disk.disk.cutToDurable(); // a power cut now finishes the clear (or never began it)
            try (PersistentLongLongTable r = PersistentLongLongTable.builder(cut.path()).storage(cut).open()) {
                assertTrue(r.size() == 0 || failing == 1 && r.size() == 10, "size " + r.size() + " after a cut, flush "
                        + failing + " failed");
            }
            t.close();
            SimulatedDisk closed = disk.disk.cutToDurable();
            try (PersistentLongLongTable r = PersistentLongLongTable.builder(closed.path()).storage(closed).open()) {
                assertEquals(expected, r.size(), "after close and reopen, flush " + failing + " failed");
                r.put(11, 11);
                assertEquals(11, r.get(11), "the reopened table takes writes");
            }
        }
    }

    /**
     * No header copy says "clearing" once a clear is done, whether the clear returned or a
     * recovery finished it: a damaged newest copy makes the open read the older one, and a stale
     * mark there would clear every write acknowledged since (here the writes that followed, in
     * the table file by their flushes or by the redo log's checkpoints).
     */
    @Test
    void aStaleClearingMarkNeverOutlivesItsClear() throws IOException {
        Path file = dir.resolve("h.hkt");
        PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(64)
                .persistence(Persistence.IN_PLACE).durability(Durability.EACH).open();
        t.put(1, 1);
        t.clear();
        t.put(2, 2);
        t.put(3, 3);
        Path crash = dir.resolve("hc.hkt");
        crashCopy(file, crash);
        t.close();
        Damage.flipByte(crash, newestHeaderCopy(crash) + 16);
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(crash).open()) {
            assertEquals(2, r.size(), "the two writes acknowledged after the clear");
            assertEquals(3, r.get(3));
        }

        for (Persistence p : List.of(Persistence.REDO_LOG, Persistence.IN_PLACE)) {
            SimulatedDisk disk = new SimulatedDisk();
            PersistentLongLongTable u = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(1024)
                    .persistence(Persistence.IN_PLACE).durability(Durability.EACH).open();
            u.put(1, 1);
            disk.cutAfter(2); // the mark's flush goes through; the cut comes at the slots' flush
            assertThrows(SimulatedDisk.PowerCut.class, u::clear);
            disk.noCut();
            SimulatedDisk after = disk.cutToDurable();
            PersistentLongLongTable r = PersistentLongLongTable.builder(after.path()).storage(after).persistence(p)
                    .checkpointBytes(4096).durability(Durability.EACH).open(); // finishes the clear
            assertEquals(0, r.size());
            for (long k = 2; k <= 301; k++) {
                r.put(k, k);
            }
            SimulatedDisk killed = after.processCrash();
            MemorySegment page = killed.openTable().segment();
            long newest = page.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 40)
                    > page.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 2048 + 40) ? 0 : 2048;
            page.set(java.lang.foreign.ValueLayout.JAVA_BYTE, newest + 16,
                    (byte) (page.get(java.lang.foreign.ValueLayout.JAVA_BYTE, newest + 16) ^ 0x40));
            SimulatedDisk damaged = killed.processCrash();
            try (PersistentLongLongTable q = PersistentLongLongTable.builder(damaged.path()).storage(damaged)
                    .persistence(p).open()) {
                assertEquals(300, q.size(), p + ": the writes acknowledged after the recovery that finished the clear");
            }
        }
    }

    /**
     * Two faults at once: a power cut at any disk call of an in-place clear, then damage to the
     * newest header copy. The open reads the older copy, which must not say "open" beside slots
     * the clear left half done: every mapping or none.
     */
    @Test
    void aCutClearWithItsNewestHeaderCopyDamagedLeavesEveryMappingOrNone() throws IOException {
        List<String> failures = new ArrayList<>();
        for (int calls = 1; calls <= 6; calls++) {
            for (int seed = 0; seed < 8; seed++) {
                SimulatedDisk disk = new SimulatedDisk();
                PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(512)
                        .persistence(Persistence.IN_PLACE).durability(Durability.EACH).open();
                for (long k = 1; k <= 200; k++) {
                    t.put(k, k);
                }
                disk.cutAfter(calls);
                try {
                    t.clear();
                } catch (SimulatedDisk.PowerCut expected) {
                    // the power went during the clear
                }
                disk.noCut();
                SimulatedDisk image = disk.cut(new java.util.SplittableRandom(seed), 64);
                MemorySegment page = image.openTable().segment();
                long newest = page.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 40)
                        > page.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 2048 + 40) ? 0 : 2048;
                if (!validCopy(page, 2048 - newest)) {
                    continue; // the cut tore the other copy: damaging this one too would be a third fault
                }
                page.set(java.lang.foreign.ValueLayout.JAVA_BYTE, newest + 16,
                        (byte) (page.get(java.lang.foreign.ValueLayout.JAVA_BYTE, newest + 16) ^ 0x40));
                SimulatedDisk damaged = image.processCrash();
                try (PersistentLongLongTable r = PersistentLongLongTable.builder(damaged.path()).storage(damaged)
                        .open()) {
                    long held = 0;
                    for (long k = 1; k <= 200; k++) {
                        held += r.get(k) == k ? 1 : 0;
                    }
                    if (held != 0 && held != 200 || r.size() != held) {
                        failures.add("cut at call " + calls + ", image " + seed + ": " + held + " of 200, size "
                                + r.size());
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.toString());
    }

    /** Whether the header copy at {@code at} of {@code page} passes its checksum. */
    private static boolean validCopy(MemorySegment page, long at) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(page.asSlice(at, 64).asByteBuffer());
        return page.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, at + 64) == (int) crc.getValue();
    }

    /** The offset of the header copy with the higher epoch in {@code file}. */
    private static long newestHeaderCopy(Path file) throws IOException {
        ByteBuffer page = ByteBuffer.allocate(4096).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.read(page, 0);
        }
        return page.getLong(40) > page.getLong(2048 + 40) ? 0 : 2048;
    }

    /**
     * A redo-log clear whose force fails clears nothing, and a write acknowledged after it
     * survives a power cut beside the mappings from before: the clear record, written but not
     * durable, is overwritten by the next group rather than forced with it.
     */
    @Test
    void aRedoLogClearWhoseForceFailsClearsNothing() throws IOException {
        FailingRestarts disk = new FailingRestarts(new SimulatedDisk());
        PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(128)
                .persistence(Persistence.REDO_LOG).durability(Durability.EACH).open();
        for (long k = 1; k <= 10; k++) {
            t.put(k, k);
        }
        disk.failNextForce = true;
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, t::clear);
        assertTrue(e.getMessage().contains("forcing the redo log"), e.getMessage());
        assertEquals(10, t.size(), "the failed clear left the table as it was");
        t.put(11, 11); // acknowledged: its group is durable
        SimulatedDisk after = disk.disk.cutToDurable();
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(after.path()).storage(after).open()) {
            assertEquals(11, r.size(), "the mappings from before the failed clear and the one after it");
            assertEquals(1, r.get(1));
            assertEquals(11, r.get(11));
        }
        t.clear(); // the disk works again: this one clears
        assertEquals(0, t.size());
        t.close();
        SimulatedDisk closed = disk.disk.cutToDurable();
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(closed.path()).storage(closed).open()) {
            assertEquals(0, r.size());
        }
    }

    /** A clear record replays as a clear between the groups around it; its generation and checksum count as a group's. */
    @Test
    void aClearRecordReplaysBetweenItsGroups() throws IOException {
        SimulatedDisk disk = new SimulatedDisk();
        RedoLog log = RedoLog.open(disk.openLog(), keysInto(new ArrayList<>()), new long[1]);
        ByteBuffer group = RedoLog.groupBuffer(null, 1);
        RedoLog.entry(group, 7, 70);
        log.append(group);
        log.appendClear();
        group = RedoLog.groupBuffer(group, 1);
        RedoLog.entry(group, 8, 80);
        log.sync(log.append(group));
        List<Long> replayed = new ArrayList<>();
        RedoLog.open(disk.cutToDurable().openLog(), keysInto(replayed), new long[1]).close();
        assertEquals(List.of(7L, CLEARED, 8L), replayed);

        log.checkpointed(); // a new generation: the clear record is gone with the groups
        replayed.clear();
        RedoLog.open(disk.cutToDurable().openLog(), keysInto(replayed), new long[1]).close();
        assertEquals(List.of(), replayed);
    }

    /** A replay that adds each entry's key to {@code out}, and a clear record as {@link #CLEARED}. */
    static RedoLog.Replay keysInto(List<Long> out) {
        return new RedoLog.Replay() {
            @Override
            public void apply(long[] keys, long[] words, int n) {
                for (int i = 0; i < n; i++) {
                    out.add(keys[i]);
                }
            }

            @Override
            public void clear() {
                out.add(CLEARED);
            }
        };
    }

    /** What {@link #keysInto} lists for a clear record. */
    static final Long CLEARED = Long.MIN_VALUE + 12345;

    /** A close whose checkpoint or table flush fails still closes the log, so that no writer waiting on it can use or reopen it. */
    @Test
    void aCloseWhoseCheckpointFailsClosesTheLog() throws IOException {
        FailingRestarts disk = new FailingRestarts(new SimulatedDisk());
        PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(1024)
                .persistence(Persistence.REDO_LOG).durability(Durability.BATCH).open();
        t.put(1, 2);
        disk.armed = true;
        java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, t::close);
        assertTrue(e.getMessage().contains("closing"), e.getMessage());
        assertTrue(disk.logClosed, "the log was closed");
        assertTrue(t.isClosed());
        assertThrows(IllegalStateException.class, () -> t.put(3, 4));
        SimulatedDisk after = disk.disk.cutToDurable();
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(after.path()).storage(after).open()) {
            assertEquals(2, r.get(1));
        }

        FailingRestarts flushing = new FailingRestarts(new SimulatedDisk());
        PersistentLongLongTable u = PersistentLongLongTable.builder(flushing.path()).storage(flushing).capacity(1024)
                .persistence(Persistence.REDO_LOG).durability(Durability.BATCH).open();
        u.put(1, 2);
        flushing.failFlush = 1; // the table's flush fails before the log's checkpoint
        e = assertThrows(java.io.UncheckedIOException.class, u::close);
        assertTrue(e.getMessage().contains("simulated failure of a table flush"), e.getMessage());
        assertTrue(flushing.logClosed, "the log was closed");
        SimulatedDisk later = flushing.disk.cutToDurable();
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(later.path()).storage(later).open()) {
            assertEquals(2, r.get(1), "replayed from the log");
        }
    }

    /**
     * A simulated disk whose log, once armed, fails the first force after a header write (a log
     * restart), whose table fails its {@code failFlush}-th next flush where that is above 0, and
     * whose log fails its next force where {@code failNextForce} is set.
     */
    private static final class FailingRestarts implements Storage {
        final SimulatedDisk disk;
        volatile boolean armed;
        volatile boolean logClosed;
        volatile int failFlush;
        volatile boolean failNextForce;
        private boolean headerWritten;

        FailingRestarts(SimulatedDisk disk) {
            this.disk = disk;
        }

        @Override
        public Path path() {
            return disk.path();
        }

        @Override
        public boolean exists() {
            return disk.exists();
        }

        @Override
        public void create(long bytes, MemorySegment firstPage) throws IOException {
            disk.create(bytes, firstPage);
        }

        @Override
        public TableFile openTable() throws IOException {
            TableFile table = disk.openTable();
            return new TableFile() {
                @Override
                public MemorySegment segment() {
                    return table.segment();
                }

                @Override
                public void flush(long offset, long length) {
                    if (failFlush > 0 && --failFlush == 0) {
                        throw new java.io.UncheckedIOException(new IOException("simulated failure of a table flush"));
                    }
                    table.flush(offset, length);
                }

                @Override
                public boolean synchronous() {
                    return table.synchronous();
                }

                @Override
                public String description() {
                    return table.description();
                }

                @Override
                public void close() {
                    table.close();
                }
            };
        }

        @Override
        public boolean logExists() {
            return disk.logExists();
        }

        @Override
        public void replaceLog(ByteBuffer contents) throws IOException {
            disk.replaceLog(contents);
        }

        @Override
        public void deleteLog() throws IOException {
            disk.deleteLog();
        }

        @Override
        public LogFile openLog() throws IOException {
            LogFile log = disk.openLog();
            return new LogFile() {
                @Override
                public long size() throws IOException {
                    return log.size();
                }

                @Override
                public int read(ByteBuffer dst, long position) throws IOException {
                    return log.read(dst, position);
                }

                @Override
                public void write(ByteBuffer src, long position) throws IOException {
                    log.write(src, position);
                    headerWritten = position == 0;
                }

                @Override
                public void force() throws IOException {
                    if (failNextForce) {
                        failNextForce = false;
                        throw new IOException("simulated failure of a log force");
                    }
                    if (armed && headerWritten) {
                        armed = false;
                        throw new IOException("simulated failure of the force after a log header");
                    }
                    log.force();
                }

                @Override
                public void truncate(long size) throws IOException {
                    log.truncate(size);
                }

                @Override
                public void close() throws IOException {
                    logClosed = true;
                    log.close();
                }
            };
        }
    }
}
