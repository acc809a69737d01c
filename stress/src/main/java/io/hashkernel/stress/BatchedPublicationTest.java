package io.hashkernel.stress;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.TableFullException;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJJ_Result;
import org.openjdk.jcstress.infra.results.JJJ_Result;
import org.openjdk.jcstress.infra.results.JJ_Result;

import static io.hashkernel.stress.PutGetPublicationTest.V1;
import static io.hashkernel.stress.PutGetPublicationTest.V2;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The batched calls and the asynchronous session publish like the single calls: each put inside
 * a {@code putAll} or a session is claimed by CAS on the key word and published by the store of
 * the value word, so a single {@code get} racing with it sees the key absent or with its whole
 * value, and present implies the value.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t BatchedPublicationTest}
 */
public final class BatchedPublicationTest {

    private BatchedPublicationTest() {
    }

    /** A batched put racing a single reader of the same key. */
    @JCStressTest
    @Description("putAll of a new key racing containsKey then get: present implies the value.")
    @Outcome(id = {"0, -1", "0, 1229782938533634594"}, expect = ACCEPTABLE, desc = "absent at first look")
    @Outcome(id = "1, 1229782938533634594", expect = ACCEPTABLE, desc = "present, with its value")
    @Outcome(id = "1, -1", expect = FORBIDDEN, desc = "present, then gone: the batched put was not linearizable")
    @Outcome(expect = FORBIDDEN, desc = "any other value")
    @State
    public static class BatchedPutSingleGet {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void writer() {
            table.putAll(new long[]{7}, new long[]{V1});
        }

        @Actor
        public void reader(JJ_Result r) {
            r.r1 = table.containsKey(7) ? 1 : 0;
            r.r2 = table.get(7);
        }
    }

    /**
     * A single put racing a batched reader that looks the key up twice in one {@code getAll}:
     * each lookup sees the key absent or with its whole value, the second no earlier than the
     * first, and never anything else (the batched lookup writes the key itself to a result whose
     * line it has not yet resolved; that must never come out).
     */
    @JCStressTest
    @Description("put of a new key racing getAll of it twice: absent or the value, in order, nothing else.")
    @Outcome(id = {"-1, -1", "-1, 1229782938533634594", "1229782938533634594, 1229782938533634594"},
            expect = ACCEPTABLE, desc = "absent, then present, or either throughout")
    @Outcome(id = "1229782938533634594, -1", expect = FORBIDDEN, desc = "present, then gone")
    @Outcome(expect = FORBIDDEN, desc = "any other value")
    @State
    public static class SinglePutBatchedGet {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void writer() {
            table.put(7, V1);
        }

        @Actor
        public void reader(JJ_Result r) {
            long[] out = new long[2];
            table.getAll(new long[]{7, 7}, out);
            r.r1 = out[0];
            r.r2 = out[1];
        }
    }

    /** A batched put and a single put of one new key: one claims the slot, neither is lost. */
    @JCStressTest
    @Description("putAll and put of one new key: exactly one sees it absent; the later value stays.")
    @Outcome(id = "1, 1, 2", expect = ACCEPTABLE, desc = "putAll first (it added the key), then put")
    @Outcome(id = "0, -1, 1", expect = ACCEPTABLE, desc = "put first, then putAll (an update)")
    @Outcome(expect = FORBIDDEN, desc = "both saw it absent (a lost update), or a wrong final value")
    @State
    public static class BatchedAndSinglePutOfOneKey {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void batched(JJJ_Result r) {
            r.r1 = table.putAll(new long[]{5}, new long[]{1});
        }

        @Actor
        public void single(JJJ_Result r) {
            r.r2 = table.put(5, 2);
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = table.get(5);
        }
    }

    /** Two batched puts of one new key: one claims the slot, the other finds it there. */
    @JCStressTest
    @Description("putAll and putAll of one new key: exactly one adds it; the later value stays.")
    @Outcome(id = "1, 0, 2", expect = ACCEPTABLE, desc = "the first putAll added the key, the second updated it")
    @Outcome(id = "0, 1, 1", expect = ACCEPTABLE, desc = "the second putAll added the key, the first updated it")
    @Outcome(expect = FORBIDDEN, desc = "both or neither added it (a lost or doubled key), or a wrong final value")
    @State
    public static class TwoBatchedPutsOfOneKey {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void first(JJJ_Result r) {
            r.r1 = table.putAll(new long[]{5}, new long[]{1});
        }

        @Actor
        public void second(JJJ_Result r) {
            r.r2 = table.putAll(new long[]{5}, new long[]{2});
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = table.get(5);
        }
    }

    /**
     * A {@code putAll} that puts one key twice (write-combined: only the later value is written)
     * racing a single put of that key: the call's two puts take effect in array order, the
     * single put before, between or after them, and exactly one of all three adds the key.
     */
    @JCStressTest
    @Description("putAll {k: 1, k: 2} racing put(k, 3): one of them adds k; the final value is the last put's.")
    @Outcome(id = "1, 2, 3", expect = ACCEPTABLE, desc = "putAll first, then put")
    @Outcome(id = "0, -1, 2", expect = ACCEPTABLE, desc = "put first, then putAll")
    @Outcome(id = "1, 1, 2", expect = ACCEPTABLE, desc = "put between the two puts of the call (combining never shows it)")
    @Outcome(expect = FORBIDDEN, desc = "two adds, none, a value put before another put, or a lost value")
    @State
    public static class RepeatedKeyInOneBatchedPut {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void batched(JJJ_Result r) {
            r.r1 = table.putAll(new long[]{5, 5}, new long[]{1, 2});
        }

        @Actor
        public void single(JJJ_Result r) {
            r.r2 = table.put(5, 3);
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = table.get(5);
        }
    }

    /**
     * Two batched puts of different new keys race for the last free slot of a one-line table:
     * the loser of the slot's CAS looks at the line again, finds it full, and fails with
     * {@link TableFullException}; the winner's key is stored with its value.
     */
    @JCStressTest
    @Description("putAll of two new keys racing for the one free slot: one stored, the other refused, none torn.")
    @Outcome(id = "1, -2, 1229782938533634594, -1", expect = ACCEPTABLE, desc = "the first took the slot")
    @Outcome(id = "-2, 1, -1, 3689348815028241476", expect = ACCEPTABLE, desc = "the second took the slot")
    @Outcome(expect = FORBIDDEN, desc = "both or neither stored, a key in another's slot, or a torn value")
    @State
    public static class BatchedPutsRaceForTheLastSlot {
        final ConcurrentLongLongTable table = Tables.oneLine();

        {
            table.putAll(new long[]{10, 11, 12}, new long[]{10, 11, 12});
        }

        @Actor
        public void first(JJJJ_Result r) {
            r.r1 = putOrFull(new long[]{1}, new long[]{V1});
        }

        @Actor
        public void second(JJJJ_Result r) {
            r.r2 = putOrFull(new long[]{2}, new long[]{V2});
        }

        private long putOrFull(long[] keys, long[] values) {
            try {
                return table.putAll(keys, values);
            } catch (TableFullException e) {
                return e.notPut() == 1 ? -2 : -3;
            }
        }

        @Arbiter
        public void after(JJJJ_Result r) {
            r.r3 = table.get(1);
            r.r4 = table.get(2);
        }
    }

    /**
     * Two writers race for slots of one line, one through {@code putAll} and {@code getAll}, the
     * other through the single calls; each then reads the other's key.
     */
    @JCStressTest
    @Description("putAll/getAll against put/get of two keys in one line: no value of another key, none lost.")
    @Outcome(id = {"-1, 1229782938533634594, 1229782938533634594, 3689348815028241476",
            "3689348815028241476, -1, 1229782938533634594, 3689348815028241476",
            "3689348815028241476, 1229782938533634594, 1229782938533634594, 3689348815028241476"},
            expect = ACCEPTABLE, desc = "each sees the other key absent or with its own value; both stored")
    @Outcome(id = "-1, -1, 1229782938533634594, 3689348815028241476", expect = ACCEPTABLE_INTERESTING,
            desc = "neither sees the other: acquire lookups (as for the single calls); x86 never shows it")
    @Outcome(expect = FORBIDDEN, desc = "a value of another key, a torn value, or a lost key")
    @State
    public static class BatchedTwoKeysOneLine {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void batched(JJJJ_Result r) {
            table.putAll(new long[]{1}, new long[]{V1});
            long[] out = new long[1];
            table.getAll(new long[]{2}, out);
            r.r1 = out[0];
        }

        @Actor
        public void single(JJJJ_Result r) {
            table.put(2, V2);
            r.r2 = table.get(1);
        }

        @Arbiter
        public void after(JJJJ_Result r) {
            r.r3 = table.get(1);
            r.r4 = table.get(2);
        }
    }

    /** A put through a session, flushed, racing a single reader; the session returns the previous value. */
    @JCStressTest
    @Description("session put of a new key racing containsKey then get: present implies the value.")
    @Outcome(id = {"0, -1, -1", "0, 1229782938533634594, -1"}, expect = ACCEPTABLE, desc = "absent at first look")
    @Outcome(id = "1, 1229782938533634594, -1", expect = ACCEPTABLE, desc = "present, with its value")
    @Outcome(expect = FORBIDDEN, desc = "present then gone, another value, or a wrong previous value")
    @State
    public static class SessionPutSingleGet {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void writer(JJJ_Result r) {
            LongLongSession s = table.session();
            s.put(42, 7, V1);
            s.flush();
            long[] ids = new long[1];
            long[] results = new long[1];
            r.r3 = s.poll(ids, results) == 1 && ids[0] == 42 ? results[0] : 99;
        }

        @Actor
        public void reader(JJJ_Result r) {
            r.r1 = table.containsKey(7) ? 1 : 0;
            r.r2 = table.get(7);
        }
    }
}
