package io.hashkernel.table;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static io.hashkernel.table.BatchedApiTest.MISSING;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Write-combined {@code putAll}s (calls whose keys repeat): a put that a later put of its key in
 * the call supersedes writes nothing, so no other thread may ever see its value, and the call's
 * count of new keys and the table's size stay exact.
 */
@Tag("lines")
class CombinedPutTest {
    /** Set in the value of every put that a later put of its key in the same call supersedes. */
    private static final long SUPERSEDED = 1L << 62;
    private static final long[] HOT = {0, 1, 2, 3, Long.MIN_VALUE, -1};

    @Test
    void noThreadSeesTheValueOfASupersededPut() throws Exception {
        for (int batch : new int[] {1, 5, 64}) {
            for (int depth = 1; depth <= 2; depth++) {
                twoCombiningWritersAndAReader(batch, depth);
            }
        }
    }

    /**
     * Two writers put overlapping hot keys (every put but the last of a key in a call marked
     * {@link #SUPERSEDED}), while a reader gets, removes and looks up the hot keys in bulk. Cold
     * keys are chosen off the hot keys' combining slots, so that each superseded put is combined
     * (a key that shares a slot with another is not).
     */
    private static void twoCombiningWritersAndAReader(int batch, int depth) throws Exception {
        Set<Integer> hotSlots = new HashSet<>();
        for (long k : HOT) {
            assertTrue(hotSlots.add(LineTable.combiningSlot(k)), "hot keys share a combining slot");
        }
        List<Long> coldKeys = new ArrayList<>();
        for (long k = 100; coldKeys.size() < 1500; k++) {
            if (!hotSlots.contains(LineTable.combiningSlot(k))) {
                coldKeys.add(k);
            }
        }
        long[] cold = coldKeys.stream().mapToLong(Long::longValue).toArray();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        try (ConcurrentLongLongTable t = BatchedApiTest.table("native", 1 << 12, batch, depth, 5)) {
            Thread[] writers = new Thread[2];
            for (int id = 0; id < writers.length; id++) {
                long writer = id + 1;
                writers[id] = new Thread(() -> {
                    try {
                        SplittableRandom r = new SplittableRandom(writer * 17);
                        long serial = 0;
                        for (int call = 0; call < 400; call++) {
                            int length = 64 + r.nextInt(900); // within one combining window
                            long[] keys = new long[length];
                            long[] values = new long[length];
                            for (int i = 0; i < length; i++) {
                                keys[i] = r.nextInt(4) == 0 ? cold[r.nextInt(cold.length)] : HOT[r.nextInt(HOT.length)];
                            }
                            keys[1] = keys[0]; // a repeat in the head of the call: combining is on
                            Map<Long, Integer> last = new HashMap<>();
                            for (int i = 0; i < length; i++) {
                                last.put(keys[i], i);
                            }
                            for (int i = 0; i < length; i++) {
                                values[i] = writer << 58 | ++serial | (last.get(keys[i]) != i ? SUPERSEDED : 0);
                            }
                            t.putAll(keys, values);
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                });
            }
            Thread reader = new Thread(() -> {
                try {
                    SplittableRandom r = new SplittableRandom(3);
                    long[] found = new long[HOT.length];
                    while (!stop.get()) {
                        long k = HOT[r.nextInt(HOT.length)];
                        checkNotSuperseded(r.nextInt(8) == 0 ? t.remove(k) : t.get(k));
                        if (r.nextInt(4) == 0) {
                            t.getAll(HOT, found);
                            for (long v : found) {
                                checkNotSuperseded(v);
                            }
                        }
                        if (r.nextInt(16) == 0) {
                            t.removeAll(new long[] {cold[r.nextInt(cold.length)], HOT[r.nextInt(HOT.length)]});
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            reader.start();
            for (Thread w : writers) {
                w.start();
            }
            for (Thread w : writers) {
                w.join();
            }
            stop.set(true);
            reader.join();
            if (failure.get() != null) {
                throw new AssertionError("batch " + batch + ", depth " + depth, failure.get());
            }
            Map<Long, Long> present = BatchedApiTest.contents(t);
            assertEquals(present.size(), t.size(), "size against the keys present, batch " + batch + ", depth " + depth);
            for (long v : present.values()) {
                checkNotSuperseded(v);
            }
        }
    }

    private static void checkNotSuperseded(long value) {
        if (value != MISSING && (value & SUPERSEDED) != 0) {
            throw new AssertionError("saw the value of a superseded put: 0x" + Long.toHexString(value));
        }
    }

    @Test
    void aFullTableRefusesEveryRepeatOfANewKeyAndSaysHowFullItIs() {
        for (int batch : new int[] {1, 2, 64}) {
            try (ConcurrentLongLongTable t = BatchedApiTest.table("native", 8, batch, 2, 3)) {
                for (long k = 1; k <= 8; k++) {
                    t.put(k, k);
                }
                for (int length : new int[] {1, 64, 65, 1025, 70_000}) {
                    long[] keys = new long[length];
                    long[] values = new long[length];
                    Arrays.fill(keys, 99);
                    Arrays.setAll(values, i -> i);
                    TableFullException e = assertThrows(TableFullException.class, () -> t.putAll(keys, values));
                    assertEquals(length, e.notPut());
                    assertTrue(e.getMessage().contains("(" + t.size() + " mapped"), e.getMessage());
                    Arrays.fill(keys, 0); // key 0 lives in its side cell, never full
                    assertEquals(t.get(0) == MISSING ? 1 : 0, t.putAll(keys, values));
                    assertEquals(length - 1, t.get(0));
                    assertEquals(9, t.size());
                }
            }
        }
    }

    @Test
    void aCallThatFillsTheTableNamesTheSizeAfterItsOwnPuts() {
        try (ConcurrentLongLongTable t = BatchedApiTest.table("native", 64, 64, 1, 9)) {
            long[] keys = new long[200];
            long[] values = new long[200];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = 1 + i / 2; // each key twice: combined, 100 keys for 64 slots
                values[i] = i;
            }
            TableFullException e = assertThrows(TableFullException.class, () -> t.putAll(keys, values));
            assertEquals(64, t.size());
            assertEquals(2 * (100 - 64), e.notPut());
            assertTrue(e.getMessage().contains("(64 mapped"), e.getMessage());
        }
    }

    /**
     * The bit set of superseded puts, over call lengths around the word and window boundaries and
     * key pools from one key to nearly no repeats, one call after another on one thread (the
     * scratch table's earlier contents must never count): equal to the rule written out plainly,
     * a fresh direct-mapped table a window, the window's keys newest first.
     */
    @Test
    void combiningMarksExactlyThePutsThatALaterPutOfTheirWindowSupersedes() {
        SplittableRandom r = new SplittableRandom(23);
        int[] lengths = {1, 2, 63, 64, 65, 127, 128, 1023, 1024, 1025, 2047, 2048, 2049, 3000, 65_536, 65_537, 70_000};
        long[] pools = {1, 3, 50, 700, 2000, 1L << 40};
        for (int round = 0; round < 3; round++) {
            for (int length : lengths) {
                for (long pool : pools) {
                    int offset = r.nextInt(130);
                    long[] keys = new long[offset + length];
                    for (int i = 0; i < keys.length; i++) {
                        long k = r.nextLong(pool);
                        keys[i] = k == 1 ? 0 : k == 2 ? Long.MIN_VALUE : k == 3 ? -1 : k * 0x9E3779B97F4A7C15L;
                    }
                    long[] expected = supersededByTheRule(keys, offset, length);
                    long[] actual = LineTable.combine(keys, offset, length);
                    String call = "length " + length + ", pool " + pool;
                    if (expected == null) {
                        assertEquals(null, actual, call + ": no repeat in the sample, no combining");
                        continue;
                    }
                    assertTrue(actual != null && actual.length >= expected.length, call);
                    assertEquals(Arrays.toString(expected),
                            Arrays.toString(Arrays.copyOf(actual, expected.length)), call);
                }
            }
        }
    }

    /** {@link LineTable#combine}'s rule, plainly: null without a repeat in the sample, else bit i where a later put of the window has key i's slot and key. */
    private static long[] supersededByTheRule(long[] keys, int offset, int length) {
        final int slots = 1024;
        final int window = 1024;
        final int sample = 64;
        long[] slotKey = new long[slots];
        boolean[] used = new boolean[slots];
        boolean repeat = false;
        for (int i = 0; i < Math.min(length, sample) && !repeat; i++) {
            int h = LineTable.combiningSlot(keys[offset + i]);
            repeat = used[h] && slotKey[h] == keys[offset + i];
            used[h] = true;
            slotKey[h] = keys[offset + i];
        }
        if (!repeat) {
            return null;
        }
        long[] bits = new long[(length + 63) / 64];
        for (int end = length; end > 0; end -= window) {
            Arrays.fill(used, false);
            for (int i = end - 1; i >= Math.max(0, end - window); i--) {
                long k = keys[offset + i];
                int h = LineTable.combiningSlot(k);
                if (used[h] && slotKey[h] == k) {
                    bits[i / 64] |= 1L << (i % 64);
                }
                used[h] = true;
                slotKey[h] = k;
            }
        }
        return bits;
    }
}
