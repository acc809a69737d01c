package io.hashkernel.pm;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.internal.TableInternals;
import io.hashkernel.table.spi.MemoryProvider;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJ_Result;
import org.openjdk.jcstress.infra.results.JJ_Result;

import java.io.IOException;
import java.io.UncheckedIOException;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The durable table's protocols under races, on the simulated disk of {@code io.hashkernel.pm}
 * (this class sits in that package to reach it): the redo log's order of two writes to one key is
 * the table's; group commit acknowledges no write before its group is forced; in place, two
 * writers claiming in one line are both durable once acknowledged; a put racing {@code clear()}
 * is, after a power cut, where the live table has it, and the cleared key stays cleared.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t DurableWritesTest}
 */
public final class DurableWritesTest {
    private DurableWritesTest() {
    }

    static PersistentLongLongTable open(SimulatedDisk disk, Persistence way, Durability mode) {
        try {
            return PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(16).seed(SEED)
                    .missingValue(-1).persistence(way).durability(mode).open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static long recovered(SimulatedDisk after, long key) {
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(after.path()).storage(after).open()) {
            return t.get(key);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The values of {@code keys} after a power cut that keeps only what was made durable. */
    static long[] afterPowerCut(SimulatedDisk disk, long... keys) {
        SimulatedDisk cut = disk.cutToDurable();
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(cut.path()).storage(cut).open()) {
            long[] values = new long[keys.length];
            for (int i = 0; i < keys.length; i++) {
                values[i] = t.get(keys[i]);
            }
            return values;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The values of {@code k1} and {@code k2} after a power cut that keeps only what was made durable. */
    static void afterPowerCut(SimulatedDisk disk, long k1, long k2, JJ_Result r) {
        long[] values = afterPowerCut(disk, k1, k2);
        r.r1 = values[0];
        r.r2 = values[1];
    }

    private static final long SEED = 77;
    /** Five keys sharing one home line in a 16-slot table of seed {@link #SEED}. */
    static final long[] SAME_LINE = new long[5];

    static {
        try (ConcurrentLongLongTable probe = ConcurrentLongLongTable.builder().capacity(16).seed(SEED)
                .memory(MemoryProvider.gcManaged()).build()) {
            TableInternals.Access tables = TableInternals.access();
            long home = tables.homeLine(probe, 1);
            int n = 0;
            for (long k = 1; n < SAME_LINE.length; k++) {
                if (tables.homeLine(probe, k) == home) {
                    SAME_LINE[n++] = k;
                }
            }
        }
    }

    @JCStressTest
    @Description("Redo log: put(k, 1) races put(k, 2); replaying the log after a process crash gives the live value.")
    @Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "put 2, then put 1")
    @Outcome(id = "2, 2", expect = ACCEPTABLE, desc = "put 1, then put 2")
    @Outcome(expect = FORBIDDEN, desc = "the log's order differs from the table's")
    @State
    public static class RedoOrder {
        final SimulatedDisk disk = new SimulatedDisk();
        final PersistentLongLongTable table = open(disk, Persistence.REDO_LOG, Durability.NONE);

        @Actor
        public void one() {
            table.put(6, 1);
        }

        @Actor
        public void two() {
            table.put(6, 2);
        }

        @Arbiter
        public void after(JJ_Result r) {
            r.r1 = table.get(6);
            r.r2 = recovered(disk.processCrash(), 6);
        }
    }

    @JCStressTest
    @Description("Redo log, group commit: two acknowledged puts are both in the forced log.")
    @Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "both durable")
    @Outcome(expect = FORBIDDEN, desc = "a put was acknowledged before its group was forced")
    @State
    public static class GroupCommit {
        final SimulatedDisk disk = new SimulatedDisk();
        final PersistentLongLongTable table = open(disk, Persistence.REDO_LOG, Durability.BATCH);

        @Actor
        public void one() {
            table.put(1, 1);
        }

        @Actor
        public void two() {
            table.put(2, 2);
        }

        @Arbiter
        public void after(JJ_Result r) {
            afterPowerCut(disk, 1, 2, r);
        }
    }

    @JCStressTest
    @Description("In place: two puts race for the last slot of their home line; both are durable once acknowledged.")
    @Outcome(id = "13, 14", expect = ACCEPTABLE, desc = "both durable")
    @Outcome(expect = FORBIDDEN, desc = "an acknowledged put is missing after a power cut")
    @State
    public static class InPlaceClaims {
        final SimulatedDisk disk = new SimulatedDisk();
        final PersistentLongLongTable table = open(disk, Persistence.IN_PLACE, Durability.EACH);

        {
            for (int i = 0; i < 3; i++) {
                table.put(SAME_LINE[i], 10 + i);
            }
        }

        @Actor
        public void one() {
            table.put(SAME_LINE[3], 13);
        }

        @Actor
        public void two() {
            table.put(SAME_LINE[4], 14);
        }

        @Arbiter
        public void after(JJ_Result r) {
            afterPowerCut(disk, SAME_LINE[3], SAME_LINE[4], r);
        }
    }
    /** A table on {@code disk} that holds {@code 1 -> 1}, durably: the state a put racing a clear starts from. */
    static PersistentLongLongTable holdingOne(SimulatedDisk disk, Persistence way, Durability mode) {
        PersistentLongLongTable t = open(disk, way, mode);
        t.put(1, 1);
        t.flush();
        return t;
    }

    /** After a put of key 2 and a clear returned: keys 1 and 2 after a power cut, and key 2 live. */
    static void afterClearAndPut(SimulatedDisk disk, PersistentLongLongTable table, JJJ_Result r) {
        r.r3 = table.get(2);
        long[] values = afterPowerCut(disk, 1, 2);
        r.r1 = values[0];
        r.r2 = values[1];
    }

    @JCStressTest
    @Description("In place: put(2, 2) races clear(); after a power cut key 1 stays cleared and key 2 is as the live table has it.")
    @Outcome(id = "-1, 2, 2", expect = ACCEPTABLE, desc = "the put after the clear")
    @Outcome(id = "-1, -1, -1", expect = ACCEPTABLE, desc = "the put before the clear, which removed it")
    @Outcome(expect = FORBIDDEN, desc = "the clear undone, or key 2 not as the live table has it")
    @State
    public static class InPlaceClearRacesPut {
        final SimulatedDisk disk = new SimulatedDisk();
        final PersistentLongLongTable table = holdingOne(disk, Persistence.IN_PLACE, Durability.EACH);

        @Actor
        public void put() {
            table.put(2, 2);
        }

        @Actor
        public void clear() {
            table.clear();
        }

        @Arbiter
        public void after(JJJ_Result r) {
            afterClearAndPut(disk, table, r);
        }
    }

    @JCStressTest
    @Description("Redo log: put(2, 2) races clear(); after a power cut key 1 stays cleared and key 2 is as the live table has it.")
    @Outcome(id = "-1, 2, 2", expect = ACCEPTABLE, desc = "the put after the clear")
    @Outcome(id = "-1, -1, -1", expect = ACCEPTABLE, desc = "the put before the clear, which removed it")
    @Outcome(expect = FORBIDDEN, desc = "the clear undone, or key 2 not as the live table has it")
    @State
    public static class RedoClearRacesPut {
        final SimulatedDisk disk = new SimulatedDisk();
        final PersistentLongLongTable table = holdingOne(disk, Persistence.REDO_LOG, Durability.BATCH);

        @Actor
        public void put() {
            table.put(2, 2);
        }

        @Actor
        public void clear() {
            table.clear();
        }

        @Arbiter
        public void after(JJJ_Result r) {
            afterClearAndPut(disk, table, r);
        }
    }
}
