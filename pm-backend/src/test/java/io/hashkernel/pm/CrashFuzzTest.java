package io.hashkernel.pm;

import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.TableFullException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A crash fuzzer: the power-cut drill's check (acknowledged state, or a value a running call wrote)
 * with what the drill leaves out: a table that fills up, clear(), sessions, switching persistence
 * and durability at each reopen, odd keys (0, -1, MIN, MAX) and missing values 0, -1, MIN;
 * cuts before the n-th disk call, at recovery too, and process crashes under NONE.
 * {@code -Dfuzz.runs=N} runs N seeds (3000 by default).
 */
class CrashFuzzTest {
    static final long[] KEYS;

    static {
        KEYS = new long[40];
        KEYS[0] = 0;
        KEYS[1] = -1;
        KEYS[2] = Long.MIN_VALUE;
        KEYS[3] = Long.MAX_VALUE;
        for (int i = 4; i < KEYS.length; i++) {
            KEYS[i] = i * 0x9E3779B97F4A7C15L;
        }
    }

    static final boolean VERBOSE = Boolean.getBoolean("fuzz.verbose");
    static final int WATCH = Integer.getInteger("fuzz.watch", -1);

    static final class Failure extends RuntimeException {
        Failure(String m) {
            super(m, null, false, false);
        }
    }

    static final class Run {
        final SplittableRandom random;
        final long missing;
        final long seed;
        final int capacity;
        final long[] model = new long[KEYS.length];
        final long[][] running = new long[KEYS.length][];
        SimulatedDisk disk = new SimulatedDisk();
        long serial;
        boolean noneUsed;
        final StringBuilder trace = new StringBuilder();
        final Map<Long, Integer> index = new HashMap<>();

        Run(long s) {
            random = new SplittableRandom(s);
            long[] ms = {0, -1, Long.MIN_VALUE};
            missing = ms[random.nextInt(3)];
            seed = random.nextLong();
            capacity = random.nextBoolean() ? 32 : 64;
            Arrays.fill(model, missing);
            for (int i = 0; i < KEYS.length; i++) {
                index.put(KEYS[i], i);
            }
        }

        PersistentLongLongTable open() throws IOException {
            Persistence p = random.nextBoolean() ? Persistence.IN_PLACE : Persistence.REDO_LOG;
            if (Boolean.getBoolean("fuzz.inplace")) {
                p = Persistence.IN_PLACE;
            }
            Durability[] ds = Durability.values();
            Durability d = ds[random.nextInt(ds.length)];
            if (d == Durability.NONE) {
                noneUsed = true;
            }
            trace.append(" open(").append(p).append(',').append(d).append(')');
            return PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(capacity).missingValue(missing)
                    .seed(seed).persistence(p).durability(d).checkpointBytes(4096).open();
        }

        long value(int i) {
            long v = ++serial << 8 | i;
            return v == missing ? ++serial << 8 | i : v;
        }

        void expect(int i, long v) {
            if (VERBOSE && i == WATCH) {
                trace.append("\n     expect ").append(v).append(" at ").append(new Throwable().getStackTrace()[1]);
            }
            long[] r = running[i];
            running[i] = r == null ? new long[]{v} : append(r, v);
        }

        static long[] append(long[] a, long v) {
            long[] b = Arrays.copyOf(a, a.length + 1);
            b[a.length] = v;
            return b;
        }

        void ack(int i, long v) {
            if (VERBOSE && i == WATCH) {
                trace.append("\n     ack ").append(v).append(" (was ").append(model[i]).append(") at ")
                        .append(new Throwable().getStackTrace()[1]);
            }
            model[i] = v;
            running[i] = null;
        }

        boolean allowed(int i, long v) {
            if (v == model[i]) {
                return true;
            }
            if (running[i] != null) {
                for (long x : running[i]) {
                    if (x == v) {
                        return true;
                    }
                }
            }
            return false;
        }

        /** Settles keys of a call that threw TableFullException: what the table says now must be allowed. */
        void settle(PersistentLongLongTable t, int[] idx) {
            for (int i : idx) {
                long v = t.get(KEYS[i]);
                if (!allowed(i, v)) {
                    throw new Failure("after TableFullException key " + KEYS[i] + " holds " + v + ", model " + model[i]);
                }
                ack(i, v);
            }
        }

        void check(PersistentLongLongTable t, String when) {
            long present = 0;
            for (int i = 0; i < KEYS.length; i++) {
                long v = t.get(KEYS[i]);
                present += v != missing ? 1 : 0;
                if (!allowed(i, v)) {
                    throw new Failure(when + ": key " + KEYS[i] + " holds " + v + ", expected " + model[i]
                            + (running[i] == null ? "" : " or one of " + Arrays.toString(running[i])));
                }
                model[i] = v;
                running[i] = null;
            }
            List<Long> seen = new ArrayList<>();
            t.forEach((k, v) -> seen.add(k));
            if (t.size() != present || seen.size() != present) {
                throw new Failure(when + ": size " + t.size() + ", forEach " + seen + ", present " + present);
            }
        }

        PersistentLongLongTable step(PersistentLongLongTable t) throws IOException {
            int kind = random.nextInt(100);
            int i = random.nextInt(KEYS.length);
            long k = KEYS[i];
            if (VERBOSE) trace.append(" op" + kind);
            if (kind < 30) {
                long v = value(i);
                expect(i, v);
                long prev;
                try {
                    prev = t.put(k, v);
                } catch (TableFullException e) {
                    ack(i, model[i]);
                    return t;
                }
                if (prev != model[i]) {
                    throw new Failure("put(" + k + ") returned " + prev + ", model " + model[i]);
                }
                ack(i, v);
            } else if (kind < 42) {
                expect(i, missing);
                long prev = t.remove(k);
                if (prev != model[i]) {
                    throw new Failure("remove(" + k + ") returned " + prev + ", model " + model[i]);
                }
                ack(i, missing);
            } else if (kind < 48) {
                long v = value(i);
                boolean absent = model[i] == missing;
                expect(i, absent ? v : model[i]);
                try {
                    t.putIfAbsent(k, v);
                } catch (TableFullException e) {
                    ack(i, model[i]);
                    return t;
                }
                ack(i, absent ? v : model[i]);
            } else if (kind < 52) {
                long v = value(i);
                boolean present = model[i] != missing;
                expect(i, present ? v : missing);
                t.replace(k, v);
                ack(i, present ? v : missing);
            } else if (kind < 55) {
                long v = value(i);
                boolean present = model[i] != missing;
                if (present) {
                    expect(i, v);
                    t.replace(k, model[i], v);
                    ack(i, v);
                } else {
                    t.remove(k, v);
                }
            } else if (kind < 72) {
                int n = 1 + random.nextInt(12);
                long[] keys = new long[n];
                long[] values = new long[n];
                int[] idx = new int[n];
                for (int j = 0; j < n; j++) {
                    int x = j > 0 && random.nextInt(4) == 0 ? idx[random.nextInt(j)] : random.nextInt(KEYS.length);
                    idx[j] = x;
                    keys[j] = KEYS[x];
                    values[j] = value(x);
                    expect(x, values[j]);
                }
                try {
                    t.putAll(keys, values);
                } catch (TableFullException e) {
                    settle(t, idx);
                    return t;
                }
                for (int j = 0; j < n; j++) {
                    ack(idx[j], values[j]);
                }
            } else if (kind < 80) {
                int n = 1 + random.nextInt(8);
                long[] keys = new long[n];
                int[] idx = new int[n];
                for (int j = 0; j < n; j++) {
                    idx[j] = random.nextInt(KEYS.length);
                    keys[j] = KEYS[idx[j]];
                    expect(idx[j], missing);
                }
                t.removeAll(keys);
                for (int x : idx) {
                    ack(x, missing);
                }
            } else if (kind < 82) {
                for (int x = 0; x < KEYS.length; x++) {
                    expect(x, missing);
                }
                t.clear();
                for (int x = 0; x < KEYS.length; x++) {
                    ack(x, missing);
                }
            } else if (kind < 92) {
                session(t);
            } else if (kind < 95) {
                t.flush();
            } else {
                t.close();
                return open();
            }
            return t;
        }

        void session(PersistentLongLongTable t) {
            LongLongSession s = t.session();
            int n = 1 + random.nextInt(8);
            long[] sim = model.clone();
            Map<Long, Long> expected = new HashMap<>();
            int[] idx = new int[n];
            long[] finals = new long[n];
            boolean[] writes = new boolean[n];
            boolean[] isPut = new boolean[n];
            for (int j = 0; j < n; j++) {
                int x = random.nextInt(KEYS.length);
                idx[j] = x;
                int kind = random.nextInt(3);
                long id = 1000 + j;
                if (kind == 0) {
                    long v = value(x);
                    expect(x, v);
                    expected.put(id, sim[x]);
                    sim[x] = v;
                    finals[j] = v;
                    writes[j] = true;
                    isPut[j] = true;
                    s.put(id, KEYS[x], v);
                } else if (kind == 1) {
                    expect(x, missing);
                    expected.put(id, sim[x]);
                    sim[x] = missing;
                    writes[j] = true;
                    finals[j] = missing;
                    s.remove(id, KEYS[x]);
                } else {
                    expected.put(id, sim[x]);
                    s.get(id, KEYS[x]);
                }
            }
            boolean full = false;
            try {
                s.flush();
            } catch (TableFullException e) {
                full = true;
            }
            long[] ids = new long[64];
            long[] res = new long[64];
            int got = s.poll(ids, res);
            if (full) {
                settle(t, idx);
                return;
            }
            if (got != n) {
                throw new Failure("session: " + got + " results for " + n + " requests");
            }
            for (int j = 0; j < got; j++) {
                Long e = expected.remove(ids[j]);
                if (e == null || e != res[j]) {
                    throw new Failure("session: id " + ids[j] + " result " + res[j] + ", expected " + e);
                }
            }
            for (int j = 0; j < n; j++) {
                if (writes[j]) {
                    ack(idx[j], finals[j]);
                }
            }
            for (int j = 0; j < n; j++) {
                ack(idx[j], sim[idx[j]]);
            }
        }

        PersistentLongLongTable recover(boolean process) {
            disk.noCut();
            if (process) {
                disk = disk.processCrash();
            } else {
                int[] units = {8, 64, 4096};
                disk = random.nextInt(4) == 0 || Boolean.getBoolean("fuzz.durableonly") ? disk.cutToDurable()
                        : disk.cut(random, units[random.nextInt(3)]);
            }
            if (VERBOSE) {
                dump();
            }
            for (int attempt = 0; ; attempt++) {
                if (attempt < 3 && random.nextInt(3) == 0) {
                    disk.cutAfter(1 + random.nextInt(4));
                }
                try {
                    PersistentLongLongTable t = open();
                    disk.noCut();
                    return t;
                } catch (SimulatedDisk.PowerCut again) {
                    trace.append(" [cut in recovery]");
                    disk.noCut();
                    disk = process ? disk.processCrash()
                            : Boolean.getBoolean("fuzz.durableonly") ? disk.cutToDurable() : disk.cut(random, 8);
                } catch (IOException | RuntimeException e) {
                    throw new Failure("reopening failed: " + e);
                }
            }
        }

        void dump() {
            try {
                Storage.LogFile f = disk.openLog();
                long size = f.size();
                java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                f.read(h, 0);
                trace.append("\n   LOG size ").append(size).append(" gen ").append(h.getLong(16));
                long at = 64;
                while (at + 24 <= size) {
                    java.nio.ByteBuffer g = java.nio.ByteBuffer.allocate(16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    f.read(g, at);
                    int n = g.getInt(4);
                    if (n <= 0 || n > 100) { trace.append("\n     @" + at + " garbage magic " + Integer.toHexString(g.getInt(0))); break; }
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(24 + 16 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                    f.read(b, at);
                    java.util.zip.CRC32C c = new java.util.zip.CRC32C();
                    c.update(b.array(), 0, 16 + 16 * n);
                    boolean ok = (int) c.getValue() == b.getInt(16 + 16 * n);
                    trace.append("\n     @" + at + " magic " + Integer.toHexString(g.getInt(0)) + " n " + n + " gen " + g.getLong(8) + " crc " + ok + ":");
                    for (int e = 0; e < n; e++) {
                        long k = b.getLong(16 + 16 * e);
                        if (WATCH >= 0 && k == KEYS[WATCH]) trace.append(" [" + (b.getLong(24 + 16 * e) ^ missing) + "]");
                    }
                    at += 24 + 16 * n;
                }
                Storage.TableFile tf = disk.openTable();
                var seg = tf.segment();
                for (long o = 4096; o < 4096 + capacity * 16L; o += 16) {
                    if (WATCH >= 0 && seg.get(java.lang.foreign.ValueLayout.JAVA_LONG, o) == KEYS[WATCH]) {
                        trace.append("\n   TABLE slot @" + (o - 4096) + " value " + (seg.get(java.lang.foreign.ValueLayout.JAVA_LONG, o + 8) ^ missing));
                    }
                }
                tf.close();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }

        void run() throws IOException {
            PersistentLongLongTable t = null;
            for (int epoch = 0; epoch < 4; epoch++) {
                noneUsed = t != null && t.durability() == Durability.NONE;
                disk.cutAfter(1 + random.nextInt(150));
                boolean cut = false;
                try {
                    if (t == null) {
                        t = open();
                    }
                    for (int op = 0; op < 120; op++) {
                        t = step(t);
                    }
                } catch (SimulatedDisk.PowerCut c) {
                    cut = true;
                }
                trace.append(cut ? " CUT" : " END").append(" log?").append(disk.logExists());
                // NONE promises nothing after a power cut: crash the process instead
                boolean process = noneUsed || random.nextInt(4) == 0;
                t = recover(process);
                check(t, "epoch " + epoch + (process ? " after process crash" : " after power cut"));
            }
        }
    }

    /** Seeds whose replay ran out of slots and needed the rebuild from a snapshot log. */
    @Test
    void replaysThatRunOutOfSlots() throws IOException {
        for (long seed : new long[]{12482, 36546}) {
            new Run(seed).run();
        }
    }

    @Test
    void fuzz() {
        List<String> failures = new ArrayList<>();
        int n = Integer.getInteger("fuzz.runs", 3000);
        for (long s = Long.getLong("fuzz.from", 0); s < n && failures.size() < Integer.getInteger("fuzz.maxfail", 8); s++) {
            Run r = new Run(s);
            try {
                r.run();
            } catch (IOException | RuntimeException | Error e) {
                failures.add("seed " + s + " missing=" + r.missing + " cap=" + r.capacity + ": " + e
                        + "\n   trace:" + r.trace);
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
}
