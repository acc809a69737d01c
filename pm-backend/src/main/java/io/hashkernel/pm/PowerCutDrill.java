package io.hashkernel.pm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * The power-cut drill: runs a random workload on a {@link PersistentLongLongTable} over a
 * simulated disk, cuts the power at a random point (before one of the disk's flushes, log writes,
 * forces or truncations, or between operations), keeps only what was durable plus a random
 * subset of what was not (unit by unit: 8 bytes, 64 bytes or 4 KiB, in turn), opens the table on
 * what is left, sometimes cutting the power again during that recovery, and checks it.
 *
 * <p>Each round does this three times in a row, the next workload running on the table the last
 * recovery opened, so that writes made after a recovery are cut too.
 *
 * <p>Checks, for every key: its value is the last acknowledged one, or one an operation that was
 * running at the cut wrote; a {@code clear()} running at the cut leaves every mapping or none. A
 * value that no operation ever wrote for that key is <em>torn</em>; any other departure (an
 * acknowledged write missing, an acknowledged removal undone) is <em>lost</em>. The table's size must equal its mappings. An exception while reopening is a
 * <em>recovery failure</em>. Both persistence ways run, under {@link Durability#EACH} and
 * {@link Durability#BATCH} ({@link Durability#NONE} promises nothing after a power cut).
 */
public final class PowerCutDrill {

    /**
     * What a drill found.
     *
     * @param cuts                power cuts made (not counting those during recovery)
     * @param cutsDuringRecovery  second cuts made while the table was being recovered
     * @param cutsDuringClear     cuts that fell inside a {@code clear()} (each checked: every mapping or none)
     * @param acknowledged        writes acknowledged before the cuts
     * @param lost                acknowledged writes missing afterwards
     * @param torn                values that were never written for their key
     * @param recoveryFailures    reopens that threw, or whose size did not match the mappings
     * @param failures            the first few failures, described
     */
    public record Report(long cuts, long cutsDuringRecovery, long cutsDuringClear, long acknowledged, long lost,
                         long torn, long recoveryFailures, List<String> failures) {
        /** Whether nothing was lost or torn and every recovery succeeded. */
        public boolean passed() {
            return lost == 0 && torn == 0 && recoveryFailures == 0;
        }
    }

    private static final int KEYS = 700;
    private static final int CAPACITY = 1024;
    private static final int OPS = 300;
    /** Workload, cut and recovery, this many times per round, each on the table the last one recovered. */
    private static final int EPOCHS = 3;
    private static final int[] UNITS = {8, 64, 4096};
    private static final Persistence[] WAYS = {Persistence.IN_PLACE, Persistence.REDO_LOG};
    private static final Durability[] MODES = {Durability.EACH, Durability.BATCH};

    private PowerCutDrill() {
    }

    /** Runs {@code cuts} power cuts from {@code seed}. */
    public static Report run(int cuts, long seed) {
        return run(cuts, seed, i -> { });
    }

    /**
     * Runs {@code cuts} power cuts from {@code seed}, calling {@code progress} with the number of
     * cuts done after each round. Round {@code i} (three cuts) uses persistence {@code i % 2},
     * durability {@code (i / 2) % 2} and unit {@code (i / 4) % 3} of the lists above, so any four
     * consecutive rounds cover both ways and modes.
     *
     * @throws IllegalArgumentException if {@code cuts} is negative
     */
    public static Report run(int cuts, long seed, IntConsumer progress) {
        return run(cuts, seed, progress, false);
    }

    /** {@link #run(int, long, IntConsumer)}, on a disk that drops table flushes where {@code broken}. */
    static Report run(int cuts, long seed, IntConsumer progress, boolean broken) {
        if (cuts < 0) {
            throw new IllegalArgumentException("cuts must be at least 0, was " + cuts);
        }
        Objects.requireNonNull(progress, "progress");
        Tally tally = new Tally();
        for (int i = 0, done = 0; done < cuts; i++) {
            int epochs = Math.min(EPOCHS, cuts - done);
            new Round(new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i), WAYS[i % 2], MODES[(i / 2) % 2],
                    UNITS[(i / 4) % 3], epochs, tally, new SimulatedDisk(broken)).run();
            done += epochs;
            progress.accept(done);
        }
        return new Report(cuts, tally.recoveryCuts, tally.clearCuts, tally.acknowledged, tally.lost, tally.torn,
                tally.recoveryFailures, List.copyOf(tally.failures));
    }

    private static final class Tally {
        long recoveryCuts;
        long clearCuts;
        long acknowledged;
        long lost;
        long torn;
        long recoveryFailures;
        final List<String> failures = new ArrayList<>();

        void fail(String what) {
            if (failures.size() < 10) {
                failures.add(what);
            }
        }
    }

    /** One cut: workload, cut, recovery, check. */
    private static final class Round {
        private final SplittableRandom random;
        private final Persistence way;
        private final Durability mode;
        private final int unit;
        private final int epochs;
        private final Tally tally;
        private final long missing;
        /** The value each key holds after every acknowledged write ({@code missing}: absent). */
        private final long[] model = new long[KEYS];
        /** Values the running operation may leave, per key. */
        private final long[][] running = new long[KEYS][];
        /** Whether the running operation is a clear: it may leave every mapping or none. */
        private boolean clearing;
        private SimulatedDisk disk;
        private long serial;

        Round(SplittableRandom random, Persistence way, Durability mode, int unit, int epochs, Tally tally,
              SimulatedDisk disk) {
            this.random = random;
            this.epochs = epochs;
            this.disk = disk;
            this.way = way;
            this.mode = mode;
            this.unit = unit;
            this.tally = tally;
            this.missing = random.nextBoolean() ? 0 : Long.MIN_VALUE;
            Arrays.fill(model, missing);
        }

        private PersistentLongLongTable open() throws java.io.IOException {
            return PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(CAPACITY).missingValue(missing)
                    .seed(random.nextLong()).persistence(way).durability(mode).checkpointBytes(4096).open();
        }

        /** A value only ever written once, for {@code key}: serial in the high bits, key in the low 16. */
        private long value(int key) {
            return ++serial << 16 | key;
        }

        void run() {
            PersistentLongLongTable table = null;
            for (int epoch = 0; epoch < epochs; epoch++) {
                disk.cutAfter(1 + random.nextInt(400));
                try {
                    if (table == null) {
                        table = open();
                    }
                    for (int op = 0; op < OPS; op++) {
                        table = step(table);
                    }
                } catch (SimulatedDisk.PowerCut cut) {
                    // the power went during an operation: running[] holds what it may have left
                } catch (java.io.IOException | RuntimeException e) {
                    tally.recoveryFailures++;
                    tally.fail(this + ": the workload failed: " + e);
                    return;
                }
                disk.noCut();
                table = recover();
                if (table == null || !check(table)) {
                    return;
                }
            }
        }

        private PersistentLongLongTable step(PersistentLongLongTable t) throws java.io.IOException {
            int kind = random.nextInt(100);
            int key = random.nextInt(KEYS);
            if (kind < 35) {
                long v = value(key);
                expect(key, v);
                t.put(key, v);
                acknowledge(key, v);
            } else if (kind < 50) {
                expect(key, missing);
                t.remove(key);
                acknowledge(key, missing);
            } else if (kind < 58) {
                long v = value(key);
                boolean absent = model[key] == missing;
                expect(key, absent ? v : model[key]);
                t.putIfAbsent(key, v);
                acknowledge(key, absent ? v : model[key]);
            } else if (kind < 66) {
                long v = value(key);
                boolean present = model[key] != missing;
                expect(key, present ? v : missing);
                t.replace(key, v);
                acknowledge(key, present ? v : missing);
            } else if (kind < 90) {
                int n = 1 + random.nextInt(24);
                long[] keys = new long[n];
                long[] values = new long[n];
                for (int i = 0; i < n; i++) {
                    int k = random.nextInt(KEYS);
                    keys[i] = k;
                    values[i] = value(k);
                    expect(k, values[i]);
                }
                t.putAll(keys, values);
                for (int i = 0; i < n; i++) {
                    acknowledge((int) keys[i], values[i]);
                }
            } else if (kind < 96) {
                int n = 1 + random.nextInt(12);
                long[] keys = new long[n];
                for (int i = 0; i < n; i++) {
                    keys[i] = random.nextInt(KEYS);
                    expect((int) keys[i], missing);
                }
                t.removeAll(keys);
                for (long k : keys) {
                    acknowledge((int) k, missing);
                }
            } else if (kind < 97) {
                clearing = true;
                t.clear();
                clearing = false;
                Arrays.fill(model, missing);
                tally.acknowledged++;
            } else {
                t.close(); // a clean close and reopen in the middle
                return open();
            }
            return t;
        }

        private void expect(int key, long value) {
            long[] r = running[key];
            running[key] = r == null ? new long[]{value} : append(r, value);
        }

        private static long[] append(long[] a, long v) {
            long[] b = Arrays.copyOf(a, a.length + 1);
            b[a.length] = v;
            return b;
        }

        private void acknowledge(int key, long value) {
            model[key] = value;
            running[key] = null;
            tally.acknowledged++;
        }

        /** Cuts the power now, then opens the table on what is left, maybe cut again meanwhile; null if that failed. */
        private PersistentLongLongTable recover() {
            disk = disk.cut(random, unit);
            for (int attempt = 0; ; attempt++) {
                if (attempt == 0 && random.nextInt(4) == 0) {
                    disk.cutAfter(1 + random.nextInt(3));
                }
                try {
                    PersistentLongLongTable t = open();
                    disk.noCut();
                    return t;
                } catch (SimulatedDisk.PowerCut again) {
                    tally.recoveryCuts++;
                    disk.noCut();
                    disk = disk.cut(random, unit);
                } catch (java.io.IOException | RuntimeException e) {
                    tally.recoveryFailures++;
                    tally.fail(this + ": reopening failed: " + e);
                    return null;
                }
            }
        }

        /**
         * Checks the recovered table against the model; what it holds becomes the model of the
         * next epoch (the writes that were running are now settled one way or the other).
         */
        private boolean check(PersistentLongLongTable table) {
            if (clearing) {
                clearing = false;
                tally.clearCuts++;
                boolean none = true;
                for (int k = 0; k < KEYS && none; k++) {
                    none = table.get(k) == missing;
                }
                if (none) { // the clear took effect; otherwise every key must be as before it
                    Arrays.fill(model, missing);
                }
            }
            long present = 0;
            boolean good = true;
            for (int k = 0; k < KEYS; k++) {
                long v = table.get(k);
                present += v != missing ? 1 : 0;
                if (!allowed(k, v)) {
                    good = false;
                    if (v != missing && ((v & 0xFFFF) != k || v >>> 16 > serial || v >>> 16 == 0)) {
                        tally.torn++;
                        tally.fail(this + ": key " + k + " holds " + v + ", never written for it");
                    } else {
                        tally.lost++;
                        tally.fail(this + ": key " + k + " holds " + v + ", expected " + model[k]
                                + (running[k] == null ? "" : " or one of " + Arrays.toString(running[k])));
                    }
                }
                model[k] = v;
                running[k] = null;
            }
            long[] seen = new long[1];
            table.forEach((k, v) -> seen[0]++);
            if (table.size() != present || seen[0] != present) {
                tally.recoveryFailures++;
                tally.fail(this + ": size " + table.size() + ", forEach " + seen[0] + ", mapped keys " + present);
                good = false;
            }
            return good;
        }

        private boolean allowed(int key, long v) {
            if (v == model[key]) {
                return true;
            }
            long[] r = running[key];
            if (r != null) {
                for (long x : r) {
                    if (x == v) {
                        return true;
                    }
                }
            }
            return false;
        }

        @Override
        public String toString() {
            return way + "/" + mode + "/" + unit + "B";
        }
    }
}
