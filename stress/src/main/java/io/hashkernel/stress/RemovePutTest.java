package io.hashkernel.stress;

import io.hashkernel.table.ConcurrentLongLongTable;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJJ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * remove and put on one key: remove returns the value word to "no value" while the key keeps its
 * slot; a racing put stores into the same slot. Results are (put's previous, remove's result,
 * final value, final size); every outcome must be one of the two serial orders.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t RemovePutTest}
 */
public final class RemovePutTest {
    private RemovePutTest() {
    }

    /** The key is present (value 1) when put(2) and remove race. */
    @JCStressTest
    @Description("put(k, 2) races remove(k) on a present key.")
    @Outcome(id = "-1, 1, 2, 1", expect = ACCEPTABLE, desc = "remove, then put")
    @Outcome(id = "1, 2, -1, 0", expect = ACCEPTABLE, desc = "put, then remove")
    @Outcome(expect = FORBIDDEN, desc = "not a serial order")
    @State
    public static class PresentKey {
        final ConcurrentLongLongTable table = Tables.oneLine();

        {
            table.put(6, 1);
        }

        @Actor
        public void put(JJJJ_Result r) {
            r.r1 = table.put(6, 2);
        }

        @Actor
        public void remove(JJJJ_Result r) {
            r.r2 = table.remove(6);
        }

        @Arbiter
        public void after(JJJJ_Result r) {
            r.r3 = table.get(6);
            r.r4 = table.size();
        }
    }

    /** The key is absent (never put) when put(2) and remove race: the put may claim the slot. */
    @JCStressTest
    @Description("put(k, 2) races remove(k) on an absent key.")
    @Outcome(id = "-1, -1, 2, 1", expect = ACCEPTABLE, desc = "remove found nothing, then put")
    @Outcome(id = "-1, 2, -1, 0", expect = ACCEPTABLE, desc = "put, then remove")
    @Outcome(expect = FORBIDDEN, desc = "not a serial order")
    @State
    public static class AbsentKey {
        final ConcurrentLongLongTable table = Tables.oneLine();

        @Actor
        public void put(JJJJ_Result r) {
            r.r1 = table.put(6, 2);
        }

        @Actor
        public void remove(JJJJ_Result r) {
            r.r2 = table.remove(6);
        }

        @Arbiter
        public void after(JJJJ_Result r) {
            r.r3 = table.get(6);
            r.r4 = table.size();
        }
    }

    /** remove(k, expected) racing put(k): the conditional remove only removes the value it expects. */
    @JCStressTest
    @Description("remove(k, 1) races put(k, 2) on a key holding 1.")
    @Outcome(id = "-1, 1, 2, 1", expect = ACCEPTABLE, desc = "conditional remove, then put")
    @Outcome(id = "1, 0, 2, 1", expect = ACCEPTABLE, desc = "put, then the remove finds 2 and keeps it")
    @Outcome(expect = FORBIDDEN, desc = "not a serial order")
    @State
    public static class ConditionalRemove {
        final ConcurrentLongLongTable table = Tables.oneLine();

        {
            table.put(6, 1);
        }

        @Actor
        public void put(JJJJ_Result r) {
            r.r1 = table.put(6, 2);
        }

        @Actor
        public void remove(JJJJ_Result r) {
            r.r2 = table.remove(6, 1) ? 1 : 0;
        }

        @Arbiter
        public void after(JJJJ_Result r) {
            r.r3 = table.get(6);
            r.r4 = table.size();
        }
    }
}
