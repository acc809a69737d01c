package io.hashkernel.pm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.hashkernel.pm.PersistentBytesMapTest.contents;
import static io.hashkernel.pm.PersistentBytesMapTest.copyFiles;
import static io.hashkernel.pm.PersistentBytesMapTest.key;
import static io.hashkernel.pm.PersistentBytesMapTest.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Power cuts of a {@link PersistentBytesMap}: the files are copied while the map is open (what the
 * page cache held), then everything past the forced part of the newest log is damaged as a power
 * cut may leave it (any subset of 8-byte, 64-byte or 4 KiB units kept, zeroed or garbage, and the
 * file cut anywhere). The reopened map must hold the state after some prefix of the writes, no
 * shorter than the acknowledged ones.
 */
class BytesMapCrashTest {

    private static final int[] UNITS = {8, 64, 4096};

    @Test
    void aPowerCutKeepsEveryAcknowledgedWriteAndAPrefixOfTheRest(@TempDir Path dir) throws Exception {
        int checked = 0;
        int cutShort = 0;
        for (int trial = 0; trial < 36; trial++) {
            SplittableRandom r = new SplittableRandom(1000 + trial);
            Durability durability = Durability.values()[trial % 3];
            Path d = dir.resolve("m" + trial);
            Path cut = dir.resolve("cut" + trial);
            // states.get(i): the state after the i-th record the map applied; acked: records acknowledged.
            List<Map<ByteBuffer, ByteBuffer>> states = new ArrayList<>();
            Map<ByteBuffer, ByteBuffer> model = new HashMap<>();
            states.add(new HashMap<>());
            int acked = 0;
            // Half the NONE trials never checkpoint (a checkpoint forces the log) nor buffer their
            // writes: their files keep an unforced tail for the cut. The other trials checkpoint
            // often, and NONE ones among them may let writes wait in the buffer.
            boolean keepTail = durability == Durability.NONE && r.nextBoolean();
            boolean behind = durability == Durability.NONE && !keepTail && r.nextBoolean();
            long checkpointBytes = keepTail ? 1 << 24 : 4096 << r.nextInt(6);
            try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(durability).writeBehind(behind)
                    .checkpointBytes(checkpointBytes).open()) {
                int ops = 50 + r.nextInt(600);
                for (int i = 0; i < ops; i++) {
                    int n = r.nextInt(6) == 0 ? 1 + r.nextInt(6) : 1;
                    byte[][] keys = new byte[n][];
                    byte[][] values = new byte[n][];
                    for (int j = 0; j < n; j++) {
                        keys[j] = key(r.nextInt(120));
                        values[j] = r.nextInt(5) == 0 ? null : value(r);
                        // A put is always logged; a removal only where the key was there.
                        boolean logged = true;
                        if (values[j] != null) {
                            model.put(ByteBuffer.wrap(keys[j]), ByteBuffer.wrap(values[j]));
                        } else {
                            logged = model.remove(ByteBuffer.wrap(keys[j])) != null;
                        }
                        if (logged) {
                            states.add(new HashMap<>(model));
                        }
                    }
                    if (n == 1 && values[0] != null) {
                        m.set(keys[0], values[0]);
                    } else if (n == 1) {
                        m.remove(keys[0]);
                    } else {
                        m.putAll(keys, values);
                    }
                    if (durability != Durability.NONE) {
                        acked = states.size() - 1;
                    } else if (r.nextInt(20) == 0) {
                        m.flush();
                        acked = states.size() - 1;
                    }
                }
                m.awaitCheckpoints(); // the copy below is of files at rest; crashes inside checkpoints: PersistentBytesMapTest
                long[] forced = m.durableEnd();
                copyFiles(d, cut);
                powerCut(cut.resolve(String.format("%016x.log", forced[0])), forced[1], r);
            }
            try (PersistentBytesMap m = PersistentBytesMap.builder(cut).open()) {
                Map<ByteBuffer, ByteBuffer> got = contents(m);
                int match = -1;
                for (int i = states.size() - 1; i >= acked && match < 0; i--) {
                    if (states.get(i).equals(got)) {
                        match = i;
                    }
                }
                if (match < 0) {
                    fail("trial " + trial + " (" + durability + "): the recovered state is no prefix of at least "
                            + acked + " of " + (states.size() - 1) + " writes; " + m.recovery());
                }
                checked++;
                cutShort += m.recovery().truncatedBytes() > 0 ? 1 : 0;
            }
        }
        assertEquals(36, checked);
        assertTrue(cutShort >= 3, "the cuts reached records past the forced part in " + cutShort + " trials");
    }

    /** Leaves the bytes of {@code log} past {@code forced} as a power cut might. */
    static void powerCut(Path log, long forced, SplittableRandom r) throws IOException {
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            assertTrue(forced <= size, "the forced end " + forced + " is inside the file of " + size);
            int unit = UNITS[r.nextInt(UNITS.length)];
            int mode = r.nextInt(3); // 0: keep each unit or not; 1: also garbage; 2: only cut the file
            if (mode < 2) {
                for (long at = forced - forced % unit; at < size; at += unit) {
                    long from = Math.max(at, forced);
                    int len = (int) Math.min(unit - (from - at), size - from);
                    int what = r.nextInt(3);
                    if (what == 0) {
                        continue; // this unit reached the disk
                    }
                    byte[] bytes = new byte[len];
                    if (what == 2 && mode == 1) {
                        r.nextBytes(bytes);
                    }
                    ch.write(ByteBuffer.wrap(bytes), from);
                }
            }
            if (mode == 2 ? size > forced : r.nextBoolean()) {
                ch.truncate(forced + r.nextLong(size - forced + (mode == 2 ? 0 : 1)));
            }
        }
    }

    @Test
    void concurrentWritersAndCheckpointsReopenToTheLastState(@TempDir Path dir) throws Exception {
        Path d = dir.resolve("m");
        Map<ByteBuffer, ByteBuffer> last;
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(Durability.BATCH).checkpointBytes(8192).open()) {
            AtomicBoolean stop = new AtomicBoolean();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            Thread[] writers = new Thread[3];
            for (int t = 0; t < writers.length; t++) {
                int id = t;
                writers[t] = new Thread(() -> {
                    SplittableRandom r = new SplittableRandom(id);
                    try {
                        for (int i = 0; i < 1500; i++) {
                            byte[] k = key(r.nextInt(200));
                            if (r.nextInt(6) == 0) {
                                m.remove(k);
                            } else if (r.nextInt(10) == 0) {
                                m.putAll(new byte[][] {k, key(r.nextInt(200))}, new byte[][] {value(r), null});
                            } else {
                                m.put(k, value(r));
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                });
                writers[t].start();
            }
            Thread checkpointer = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        m.checkpoint();
                        m.get(key(1));
                    } catch (Throwable e) {
                        errors.add(e);
                        return;
                    }
                }
            });
            checkpointer.start();
            for (Thread w : writers) {
                w.join();
            }
            stop.set(true);
            checkpointer.join();
            assertTrue(errors.isEmpty(), errors.toString());
            last = contents(m);
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(last, contents(m), m.recovery().toString());
            assertTrue(m.recovery().snapshotRecords() > 0, m.recovery().toString());
        }
        assertTrue(Files.exists(d.resolve("lock")));
    }
}
