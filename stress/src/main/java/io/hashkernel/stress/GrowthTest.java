package io.hashkernel.stress;

import io.hashkernel.table.GrowingLongLongTable;
import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.spi.MemoryProvider;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJ_Result;
import org.openjdk.jcstress.infra.results.JJ_Result;
import org.openjdk.jcstress.infra.results.J_Result;

import static io.hashkernel.stress.PutGetPublicationTest.V1;
import static io.hashkernel.stress.PutGetPublicationTest.V2;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The growing table's migration protocol: writers register and a migration freezes the segment
 * and waits for them; readers read the frozen segment and retry on the new one when the old one
 * is released under them. Each instance has its own small table (16 slots) and migrates it with
 * {@code compact()}; most use garbage-collected memory (cheap), the {@code Released} cases memory
 * that the switch really releases, so that a reader still in the old segment meets closed memory.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t GrowthTest}
 */
public final class GrowthTest {
    static final long MISSING = -1;
    static final long KEY = 42;

    private GrowthTest() {
    }

    static GrowingLongLongTable small() {
        return small(MemoryProvider.gcManaged());
    }

    static GrowingLongLongTable small(MemoryProvider memory) {
        GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(16).missingValue(MISSING)
                .memory(memory).build();
        for (long k = 1; k <= 8; k++) {
            t.put(k * 1000, k);                      // neighbours in the lines being moved
        }
        return t;
    }

    /** A put racing the migration of its line is in the new segment afterwards. */
    @JCStressTest
    @Description("put of a new key races compact(): the value is there afterwards, with the neighbours.")
    @Outcome(id = "1229782938533634594, 8", expect = ACCEPTABLE, desc = "the put landed before or after the copy")
    @Outcome(expect = FORBIDDEN, desc = "the put was lost by the migration, or a neighbour was")
    @State
    public static class PutRacesMigration {
        final GrowingLongLongTable t = small();

        @Actor
        public void writer() {
            t.put(KEY, V1);
        }

        @Actor
        public void migrator() {
            t.compact();
        }

        @Arbiter
        public void after(JJ_Result r) {
            r.r1 = t.get(KEY);
            r.r2 = t.get(8000);
        }
    }

    /** A get racing the switch of segments (and the release of the old one) sees the value. */
    @JCStressTest
    @Description("get of a present key races compact() and the old segment's release: always the value.")
    @Outcome(id = "1229782938533634594", expect = ACCEPTABLE, desc = "read from the old or the new segment")
    @Outcome(expect = FORBIDDEN, desc = "absent, or another value, while the segments switched")
    @State
    public static class GetRacesSwitch {
        final GrowingLongLongTable t = small();

        {
            t.put(KEY, V1);
        }

        @Actor
        public void migrator() {
            t.compact();
        }

        @Actor
        public void reader(J_Result r) {
            r.r1 = t.get(KEY);
        }
    }

    /** An update racing a migration: the later value (by the writer's order) survives the copy. */
    @JCStressTest
    @Description("put V2 over V1 races compact(): V2 afterwards.")
    @Outcome(id = "3689348815028241476", expect = ACCEPTABLE, desc = "the update survived the migration")
    @Outcome(expect = FORBIDDEN, desc = "the old value came back, or the key was lost")
    @State
    public static class UpdateRacesMigration {
        final GrowingLongLongTable t = small();

        {
            t.put(KEY, V1);
        }

        @Actor
        public void writer() {
            t.put(KEY, V2);
        }

        @Actor
        public void migrator() {
            t.compact();
        }

        @Arbiter
        public void after(J_Result r) {
            r.r1 = t.get(KEY);
        }
    }

    /**
     * A session's piece (a put of a new key and a get of a present one) racing a migration: both
     * results are the single calls' and the put is in the new segment afterwards.
     */
    @JCStressTest
    @Description("session put of a new key and get of a present one, flushed, race compact().")
    @Outcome(id = "-1, 1, 1229782938533634594", expect = ACCEPTABLE,
            desc = "the piece ran on the old segment before the freeze, or on the new one")
    @Outcome(expect = FORBIDDEN, desc = "a wrong result, or the put was lost by the migration")
    @State
    public static class SessionRacesMigration {
        final GrowingLongLongTable t = small();

        @Actor
        public void session(JJJ_Result r) {
            LongLongSession s = t.session();
            s.put(0, KEY, V1);
            s.get(1, 1000);
            s.flush();
            long[] ids = new long[2];
            long[] results = new long[2];
            int n = s.poll(ids, results);
            r.r1 = n == 2 ? results[ids[0] == 0 ? 0 : 1] : -100 - n;
            r.r2 = n == 2 ? results[ids[0] == 1 ? 0 : 1] : -100 - n;
        }

        @Actor
        public void migrator() {
            t.compact();
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = t.get(KEY);
        }
    }

    /** As {@link GetRacesSwitch}, on memory the switch really releases: the reader retries on the new segment. */
    @JCStressTest
    @Description("get races compact() on released memory: always the value, never an exception.")
    @Outcome(id = "1229782938533634594", expect = ACCEPTABLE, desc = "read from the old or the new segment")
    @Outcome(expect = FORBIDDEN, desc = "absent, another value, or the closed memory's exception")
    @State
    public static class GetRacesReleasedSwitch {
        final GrowingLongLongTable t = small(Tables.RELEASED);

        {
            t.put(KEY, V1);
        }

        @Actor
        public void migrator() {
            t.compact();
        }

        @Actor
        public void reader(J_Result r) {
            r.r1 = t.get(KEY);
        }

        @Arbiter
        public void after(J_Result r) {
            t.close();                                   // release the shared arena now
        }
    }

    /**
     * A bulk lookup in place ({@code values == keys}) racing a migration on released memory: an
     * attempt cut short by the release is redone, and still has its keys.
     */
    @JCStressTest
    @Description("getAll(kv, kv) of two present keys races compact() on released memory: their values.")
    @Outcome(id = "1229782938533634594, 8", expect = ACCEPTABLE, desc = "from the old or the new segment")
    @Outcome(expect = FORBIDDEN, desc = "a value looked up as a key, or an exception")
    @State
    public static class InPlaceGetAllRacesReleasedSwitch {
        final GrowingLongLongTable t = small(Tables.RELEASED);

        {
            t.put(KEY, V1);
        }

        @Actor
        public void migrator() {
            t.compact();
        }

        @Actor
        public void reader(JJ_Result r) {
            long[] kv = {KEY, 8000};
            t.getAll(kv, kv);
            r.r1 = kv[0];
            r.r2 = kv[1];
        }

        @Arbiter
        public void after(JJ_Result r) {
            t.close();
        }
    }

    /** {@code clear()} racing a migration (a compaction copies every entry): the clear is not lost. */
    @JCStressTest
    @Description("put(KEY, V1); clear() races compact(): KEY is absent afterwards.")
    @Outcome(id = "-1, 0", expect = ACCEPTABLE, desc = "the clear switched after the compaction, or instead of it")
    @Outcome(expect = FORBIDDEN, desc = "the clear joined the compaction and cleared nothing")
    @State
    public static class ClearRacesMigration {
        final GrowingLongLongTable t = small();

        @Actor
        public void user() {
            t.put(KEY, V1);
            t.clear();
        }

        @Actor
        public void migrator() {
            t.compact();
        }

        @Arbiter
        public void after(JJ_Result r) {
            r.r1 = t.get(KEY);
            r.r2 = t.size();
        }
    }
}
