package io.hashkernel.stress;

import io.hashkernel.table.ConcurrentLongLongTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * putIfAbsent exclusivity: of two racing putIfAbsent calls on one absent key exactly one wins (sees
 * the missing value), the loser sees the winner's value, and the winner's value stays.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t PutIfAbsentTest}
 */
public final class PutIfAbsentTest {
    private PutIfAbsentTest() {
    }

    /** Two putIfAbsent calls of one new key: the claim and the value CAS race. */
    @JCStressTest
    @Description("Two putIfAbsent of one new key: one winner, the loser sees its value.")
    @Outcome(id = {"-1, 1, 1", "2, -1, 2"}, expect = ACCEPTABLE, desc = "one winner, value kept")
    @Outcome(expect = FORBIDDEN, desc = "two winners, no winner, or a lost value")
    @State
    public static class NewKey {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void first(JJJ_Result r) {
            r.r1 = table.putIfAbsent(3, 1);
        }

        @Actor
        public void second(JJJ_Result r) {
            r.r2 = table.putIfAbsent(3, 2);
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = table.get(3);
        }
    }

    /** putIfAbsent on a removed key (slot claimed, value empty) races another putIfAbsent. */
    @JCStressTest
    @Description("Two putIfAbsent of a removed key whose slot is still claimed: one winner.")
    @Outcome(id = {"-1, 1, 1", "2, -1, 2"}, expect = ACCEPTABLE, desc = "one winner, value kept")
    @Outcome(expect = FORBIDDEN, desc = "two winners, no winner, or a lost value")
    @State
    public static class RemovedKey {
        final ConcurrentLongLongTable table = Tables.oneLine();

        {
            table.put(3, 9);
            table.remove(3);
        }

        @Actor
        public void first(JJJ_Result r) {
            r.r1 = table.putIfAbsent(3, 1);
        }

        @Actor
        public void second(JJJ_Result r) {
            r.r2 = table.putIfAbsent(3, 2);
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = table.get(3);
        }
    }

    /** putIfAbsent of one key racing a put of another key for the same free slot of the line. */
    @JCStressTest
    @Description("putIfAbsent(4) and put(5) race for the same first free slot of a shared line.")
    @Outcome(id = "-1, -1, 1, 2", expect = ACCEPTABLE, desc = "both stored, each in its own slot")
    @Outcome(expect = FORBIDDEN, desc = "a key lost or its value swapped")
    @State
    public static class TwoKeysOneSlot {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void first(org.openjdk.jcstress.infra.results.JJJJ_Result r) {
            r.r1 = table.putIfAbsent(4, 1);
        }

        @Actor
        public void second(org.openjdk.jcstress.infra.results.JJJJ_Result r) {
            r.r2 = table.put(5, 2);
        }

        @Arbiter
        public void after(org.openjdk.jcstress.infra.results.JJJJ_Result r) {
            r.r3 = table.get(4);
            r.r4 = table.get(5);
        }
    }
}
