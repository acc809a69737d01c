package io.hashkernel.pm;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A power cut (which stops every thread's disk calls at once) while two writers race a
 * {@code clear()}, in both persistences: the old mappings are all there or none. A write
 * acknowledged while the clear had not taken effect, or begun after the clear returned, survives;
 * one acknowledged before the clear began goes with it where the clear took effect.
 */
class ClearUnderWritersCrashTest {

    /** A disk that dies at its n-th mutating call, for every thread: that call and every later one throw PowerCut. */
    static final class DyingDisk implements Storage {
        final SimulatedDisk disk;
        final AtomicLong countdown = new AtomicLong(Long.MAX_VALUE);
        volatile boolean dead;

        DyingDisk(SimulatedDisk disk) {
            this.disk = disk;
        }

        void step() {
            if (dead || countdown.decrementAndGet() <= 0) {
                dead = true;
                throw new SimulatedDisk.PowerCut();
            }
        }

        public Path path() { return disk.path(); }
        public boolean exists() { return disk.exists(); }
        public void create(long bytes, MemorySegment firstPage) throws IOException { step(); disk.create(bytes, firstPage); }
        public boolean logExists() { return disk.logExists(); }
        public void replaceLog(ByteBuffer c) throws IOException { step(); disk.replaceLog(c); }
        public void deleteLog() throws IOException { step(); disk.deleteLog(); }

        public TableFile openTable() throws IOException {
            TableFile t = disk.openTable();
            return new TableFile() {
                public MemorySegment segment() { return t.segment(); }
                public void flush(long offset, long length) { step(); t.flush(offset, length); }
                public boolean synchronous() { return t.synchronous(); }
                public String description() { return t.description(); }
                public void close() { t.close(); }
            };
        }

        public LogFile openLog() throws IOException {
            LogFile l = disk.openLog();
            return new LogFile() {
                public long size() throws IOException { return l.size(); }
                public int read(ByteBuffer dst, long position) throws IOException { return l.read(dst, position); }
                public void write(ByteBuffer src, long position) throws IOException { step(); l.write(src, position); }
                public void force() throws IOException { step(); l.force(); }
                public void truncate(long size) throws IOException { step(); l.truncate(size); }
                public void close() throws IOException { l.close(); }
            };
        }
    }

    static final int N = 300;

    @Test
    void aCutWhileWritersRaceAClear() throws Exception {
        List<String> failures = new ArrayList<>();
        int cutRuns = 0;
        int runs = Integer.getInteger("clear.runs", 400);
        for (int run = 0; run < runs && failures.size() < 20; run++) {
            SplittableRandom rnd = new SplittableRandom(run);
            Persistence p = run % 2 == 0 ? Persistence.IN_PLACE : Persistence.REDO_LOG;
            Durability d = Durability.values()[run / 2 % 3];
            if (d == Durability.NONE) {
                d = Durability.EACH;
            }
            SimulatedDisk sim = new SimulatedDisk();
            DyingDisk disk = new DyingDisk(sim);
            PersistentLongLongTable t = PersistentLongLongTable.builder(sim.path()).storage(disk).capacity(4096)
                    .persistence(p).durability(d).checkpointBytes(4096).open();
            for (long k = 1; k <= N; k++) {
                t.put(k, k);
            }
            t.flush();
            AtomicLong clock = new AtomicLong();
            long[] clearAt = {Long.MAX_VALUE, Long.MAX_VALUE}; // start, end
            // key -> {start, end}; end = MAX if it threw
            ConcurrentHashMap<Long, long[]> writes = new ConcurrentHashMap<>();
            AtomicBoolean stop = new AtomicBoolean();
            int arm = 1 + rnd.nextInt(14); // the disk call of the clear (or after it) that the power cut comes before
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                long base = 10_000L * (w + 1);
                boolean bulk = w == 1;
                threads.add(new Thread(() -> {
                    for (long i = 0; !stop.get() && i < 3000; i += 2) {
                        long k = base + i;
                        long[] span = {clock.incrementAndGet(), Long.MAX_VALUE};
                        writes.put(k, span);
                        if (bulk) {
                            writes.put(k + 1, span);
                        }
                        try {
                            if (bulk) {
                                t.putAll(new long[] {k, k + 1}, new long[] {k, k + 1});
                            } else {
                                t.put(k, k);
                            }
                            span[1] = clock.incrementAndGet();
                        } catch (SimulatedDisk.PowerCut | IllegalStateException e) {
                            return;
                        }
                    }
                }));
            }
            threads.forEach(Thread::start);
            Thread.sleep(rnd.nextInt(3));
            boolean cleared = false;
            try {
                disk.countdown.set(arm);
                clearAt[0] = clock.incrementAndGet();
                t.clear();
                clearAt[1] = clock.incrementAndGet();
                cleared = true;
                Thread.sleep(1);
            } catch (SimulatedDisk.PowerCut | IllegalStateException e) {
                cutRuns++;
            }
            // let the writers run until the disk dies
            long until = System.nanoTime() + 50_000_000L;
            while (!disk.dead && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            disk.dead = true;
            stop.set(true);
            for (Thread th : threads) {
                th.join();
            }
            sim.noCut();
            for (int img = 0; img < 4; img++) {
                SimulatedDisk image = img == 0 ? sim.cutToDurable() : img == 1 ? sim.processCrash()
                        : sim.cut(new SplittableRandom(run * 7 + img), img == 2 ? 8 : 4096);
                String where = "run " + run + " " + p + " " + d + " img" + img + (cleared ? " clear returned" : " clear cut");
                try (PersistentLongLongTable r = PersistentLongLongTable.builder(image.path()).storage(image)
                        .persistence(p).durability(d).open()) {
                    int held = 0;
                    for (long k = 1; k <= N; k++) {
                        held += r.get(k) == k ? 1 : 0;
                    }
                    if (held != 0 && held != N) {
                        failures.add(where + ": " + held + " of the " + N + " old mappings");
                        continue;
                    }
                    if (cleared && held != 0) {
                        failures.add(where + ": old mappings back");
                        continue;
                    }
                    boolean inEffect = held == 0;
                    long count = N * (inEffect ? 0 : 1);
                    for (var e : writes.entrySet()) {
                        long k = e.getKey();
                        long start = e.getValue()[0];
                        long end = e.getValue()[1];
                        boolean present = r.get(k) == k;
                        count += present ? 1 : 0;
                        boolean acked = end != Long.MAX_VALUE;
                        if (!acked) {
                            continue;
                        }
                        if ((!inEffect || start > clearAt[1]) && !present) {
                            failures.add(where + ": acked key " + k + " lost (start " + start + " end " + end
                                    + ", clear " + clearAt[0] + ".." + clearAt[1] + ")");
                            break;
                        }
                        if (inEffect && end < clearAt[0] && present) {
                            failures.add(where + ": key " + k + " acked before the clear survived it");
                            break;
                        }
                    }
                    if (r.size() != count) {
                        failures.add(where + ": size " + r.size() + " counted " + count);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures: " + failures.subList(0, Math.min(10, failures.size())));
        assertTrue(cutRuns > runs / 4, "the cut fell inside the clear in " + cutRuns + " of " + runs + " runs");
    }
}
