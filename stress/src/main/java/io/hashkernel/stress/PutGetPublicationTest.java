package io.hashkernel.stress;

import io.hashkernel.table.ConcurrentLongLongTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;
import org.openjdk.jcstress.infra.results.JJJJ_Result;
import org.openjdk.jcstress.infra.results.JJJ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Publication of a put: a key is claimed by CAS on its key word and published by the store of its
 * value word. A reader racing with puts must see, for each key, either nothing or exactly the value
 * put for that key: never another key's value, never half a value, never "present" without the
 * value. All keys share one cache line (a 4-slot table), so the puts race for the same slots.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t PutGetPublicationTest}
 */
public final class PutGetPublicationTest {
    static final long V1 = 0x1111_1111_2222_2222L;
    static final long V2 = 0x3333_3333_4444_4444L;

    private PutGetPublicationTest() {
    }

    /**
     * Two writers each claim a slot of the one line for their own key and then look up the other
     * writer's key. Each lookup sees the other key absent or with exactly its own value.
     */
    @JCStressTest
    @Description("Two puts of different keys into one line; each writer then reads the other's key.")
    @Outcome(id = {"-1, 1229782938533634594, 1229782938533634594, 3689348815028241476",
            "3689348815028241476, -1, 1229782938533634594, 3689348815028241476",
            "3689348815028241476, 1229782938533634594, 1229782938533634594, 3689348815028241476"},
            expect = ACCEPTABLE, desc = "each sees the other key absent or with its own value; both stored")
    @Outcome(id = "-1, -1, 1229782938533634594, 3689348815028241476", expect = ACCEPTABLE_INTERESTING,
            desc = "neither sees the other: lookups are acquire loads (as in ConcurrentHashMap), so a"
                    + " Dekker pattern over two keys is not sequentially consistent on weak CPUs; x86 never shows it")
    @Outcome(expect = FORBIDDEN, desc = "a value of another key, a torn value, or a lost key")
    @State
    public static class TwoKeysOneLine {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void writer1(JJJJ_Result r) {
            table.put(1, V1);
            r.r1 = table.get(2);
        }

        @Actor
        public void writer2(JJJJ_Result r) {
            table.put(2, V2);
            r.r2 = table.get(1);
        }

        @Arbiter
        public void after(JJJJ_Result r) {
            r.r3 = table.get(1);
            r.r4 = table.get(2);
        }
    }

    /** A reader that saw the key present must see its value. */
    @JCStressTest
    @Description("containsKey then get of a key being put: present implies the value.")
    @Outcome(id = {"0, -1", "0, 1229782938533634594"}, expect = ACCEPTABLE, desc = "absent at first look")
    @Outcome(id = "1, 1229782938533634594", expect = ACCEPTABLE, desc = "present, with its value")
    @Outcome(id = "1, -1", expect = FORBIDDEN, desc = "present, then gone: the put was not linearizable")
    @Outcome(expect = FORBIDDEN, desc = "any other value")
    @State
    public static class PresentImpliesValue {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void writer() {
            table.put(7, V1);
        }

        @Actor
        public void reader(JJ_Result r) {
            r.r1 = table.containsKey(7) ? 1 : 0;
            r.r2 = table.get(7);
        }
    }

    /** An update of a present key is seen whole, old or new, and the key never reads absent. */
    @JCStressTest
    @Description("put over an existing value racing a reader; the previous value comes back once.")
    @Outcome(id = {"1229782938533634594, 1229782938533634594, 3689348815028241476",
            "1229782938533634594, 3689348815028241476, 3689348815028241476"}, expect = ACCEPTABLE,
            desc = "reader saw old or new; the put returned the old value")
    @Outcome(expect = FORBIDDEN, desc = "absent, torn, or a wrong previous value")
    @State
    public static class UpdateIsAtomic {
        final ConcurrentLongLongTable table = Tables.oneLine();

        {
            table.put(9, V1);
        }

        @Actor
        public void writer(JJJ_Result r) {
            r.r1 = table.put(9, V2);
        }

        @Actor
        public void reader(JJJ_Result r) {
            r.r2 = table.get(9);
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = table.get(9);
        }
    }

    /** Two puts of one new key: one claims the slot, and each returns what the other left. */
    @JCStressTest
    @Description("Two puts of one new key: exactly one sees it absent; the last value store wins.")
    @Outcome(id = {"-1, 1, 2", "2, -1, 1"}, expect = ACCEPTABLE, desc = "one put after the other")
    @Outcome(expect = FORBIDDEN, desc = "both saw it absent (a lost update), or a wrong final value")
    @State
    public static class TwoPutsOneKey {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void first(JJJ_Result r) {
            r.r1 = table.put(5, 1);
        }

        @Actor
        public void second(JJJ_Result r) {
            r.r2 = table.put(5, 2);
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = table.get(5);
        }
    }
}
