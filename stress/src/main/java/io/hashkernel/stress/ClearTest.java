package io.hashkernel.stress;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.LongLongMap;
import io.hashkernel.table.PartitionedLongLongTable;
import io.hashkernel.table.spi.MemoryProvider;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJ_Result;
import org.openjdk.jcstress.infra.results.J_Result;

import static io.hashkernel.stress.PutGetPublicationTest.V1;
import static io.hashkernel.stress.PutGetPublicationTest.V2;
import static io.hashkernel.stress.Tables.MISSING;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * {@code clear()} racing other operations. The fixed table's clear removes each mapping as
 * {@code remove} would (its key keeps its slot); the partitioned table's switches the partition
 * to fresh memory under its drain lock. Either way no key ever shows another key's value, a put
 * racing the clear is either cleared or whole, and the size agrees with the entries.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t ClearTest}
 */
public final class ClearTest {
    static final long KEY = 1;
    static final long OTHER = 2;

    private ClearTest() {
    }

    static long entries(LongLongMap map) {
        long[] n = {0};
        map.forEach((k, v) -> n[0]++);
        return n[0];
    }

    static PartitionedLongLongTable partitioned() {
        return PartitionedLongLongTable.builder().partitions(1).ownerThreads(false).capacity(4).missingValue(MISSING)
                .memory(MemoryProvider.gcManaged()).seed(1).build();
    }

    /** A put racing clear(): afterwards the key is mapped to its value or absent, and size() says which. */
    @JCStressTest
    @Description("put(KEY, V1) races clear() on a one-line table: the value, size and entries agree.")
    @Outcome(id = {"1229782938533634594, 1, 1", "-1, 0, 0"}, expect = ACCEPTABLE,
            desc = "the put came after the clear reached its slot, or before")
    @Outcome(expect = FORBIDDEN, desc = "a torn slot: the value without its key, or a size that disagrees")
    @State
    public static class PutRacesClear {
        final ConcurrentLongLongTable t = Tables.oneLine();

        @Actor
        public void writer() {
            t.put(KEY, V1);
        }

        @Actor
        public void clearer() {
            t.clear();
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r1 = t.get(KEY);
            r.r2 = t.size();
            r.r3 = entries(t);
        }
    }

    /**
     * A reader of one key racing {@code clear(); put(OTHER, V2)}: it sees its key's value or
     * nothing, never the other key's value in the slot its key had.
     */
    @JCStressTest
    @Description("get(KEY) races clear(); put(OTHER, V2) on a one-line table: never V2.")
    @Outcome(id = {"1229782938533634594", "-1"}, expect = ACCEPTABLE, desc = "before or after the clear")
    @Outcome(expect = FORBIDDEN, desc = "the other key's value")
    @State
    public static class ReadRacesClearAndPut {
        final ConcurrentLongLongTable t = Tables.oneLine();

        {
            t.put(KEY, V1);
        }

        @Actor
        public void writer() {
            t.clear();
            t.put(OTHER, V2);
        }

        @Actor
        public void reader(J_Result r) {
            r.r1 = t.get(KEY);
        }
    }

    /** As {@link ReadRacesClearAndPut}, on a partitioned table whose readers read the partition directly. */
    @JCStressTest
    @Description("partitioned: get(KEY) races clear(); put(OTHER, V2): never V2.")
    @Outcome(id = {"1229782938533634594", "-1"}, expect = ACCEPTABLE, desc = "before or after the clear")
    @Outcome(expect = FORBIDDEN, desc = "the other key's value")
    @State
    public static class PartitionedReadRacesClearAndPut {
        final PartitionedLongLongTable t = partitioned();

        {
            t.put(KEY, V1);
        }

        @Actor
        public void writer() {
            t.clear();
            t.put(OTHER, V2);
        }

        @Actor
        public void reader(J_Result r) {
            r.r1 = t.get(KEY);
        }
    }
}
