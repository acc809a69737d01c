package io.hashkernel.stress;

import io.hashkernel.table.PartitionedLongLongTable;
import io.hashkernel.table.spi.MemoryProvider;
import io.hashkernel.table.spi.TableMemory;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJJ_Result;
import org.openjdk.jcstress.infra.results.JJJ_Result;
import org.openjdk.jcstress.infra.results.JJ_Result;
import org.openjdk.jcstress.infra.results.J_Result;

import java.util.concurrent.atomic.AtomicLong;

import static io.hashkernel.stress.PutGetPublicationTest.V1;
import static io.hashkernel.stress.PutGetPublicationTest.V2;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The partitioned table's message handoff: a write goes to the key's partition through a
 * single-producer single-consumer queue and is applied by whoever holds the partition's drain
 * lock (its owner thread, or a writer helping in {@code sync()}); {@code sync()} waits, or
 * drains, until it has been applied. One table with owner threads and one without (its writers
 * drain) serve every test instance; each instance uses keys of its own.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t PartitionedHandoffTest}
 */
public final class PartitionedHandoffTest {
    static final long MISSING = -1;
    private static final int KEY_POOL = 1 << 20;
    private static final PartitionedLongLongTable TABLE = PartitionedLongLongTable.builder().partitions(2)
            .capacity(4L * KEY_POOL).queueCapacity(1 << 12).maxProducers(1024).missingValue(MISSING).build();
    private static final PartitionedLongLongTable WRITERS_DRAIN = PartitionedLongLongTable.builder().partitions(2)
            .ownerThreads(false).capacity(4L * KEY_POOL).queueCapacity(1 << 12).maxProducers(1024)
            .missingValue(MISSING).build();
    /** Small partitions that keep growing (compacting) as the test instances' keys come and go. */
    private static final PartitionedLongLongTable GROWING = PartitionedLongLongTable.builder().partitions(2)
            .ownerThreads(false).capacity(128).queueCapacity(64).maxProducers(1024).missingValue(MISSING).build();
    private static final AtomicLong KEYS = new AtomicLong();

    /**
     * A key for one test instance, from a pool used round-robin (a removed key keeps its slot, so
     * fresh keys would fill the table); each instance's arbiter removes its key and syncs, so the
     * next instance to draw it, a million instances later, finds it absent.
     */
    static long nextKey() {
        return 1 + Math.floorMod(KEYS.getAndIncrement(), KEY_POOL);
    }

    static void release(long key) {
        release(TABLE, key);
    }

    static void release(PartitionedLongLongTable table, long key) {
        table.removeAsync(key);
        table.sync();
    }

    private PartitionedHandoffTest() {
    }

    /** A value sent and synced is seen by its sender, and by a reader that starts after. */
    @JCStressTest
    @Description("put then sync: the sender reads its value; a racing reader sees absent or the whole value.")
    @Outcome(id = {"1229782938533634594, -1", "1229782938533634594, 1229782938533634594"}, expect = ACCEPTABLE,
            desc = "the sender sees its write; the reader before or after it was applied")
    @Outcome(expect = FORBIDDEN, desc = "the sender did not see its synced write, or a torn value")
    @State
    public static class SentThenSynced {
        final long key = nextKey();

        @Actor
        public void sender(JJ_Result r) {
            TABLE.putAsync(key, V1);
            TABLE.sync();
            r.r1 = TABLE.get(key);
        }

        @Actor
        public void reader(JJ_Result r) {
            r.r2 = TABLE.get(key);
        }

        @Arbiter
        public void after(JJ_Result r) {
            release(key);
        }
    }

    /** Two producers write one key: the owner applies both, the last applied wins, whole. */
    @JCStressTest
    @Description("two producers put one key and sync: the final value is one of the two, never torn or lost.")
    @Outcome(id = {"1229782938533634594", "3689348815028241476"}, expect = ACCEPTABLE,
            desc = "one of the two writes was applied last")
    @Outcome(expect = FORBIDDEN, desc = "absent after both syncs, or a value nobody sent")
    @State
    public static class TwoProducersOneKey {
        final long key = nextKey();

        @Actor
        public void first() {
            TABLE.putAsync(key, V1);
            TABLE.sync();
        }

        @Actor
        public void second() {
            TABLE.putAsync(key, V2);
            TABLE.sync();
        }

        @Arbiter
        public void after(J_Result r) {
            r.r1 = TABLE.get(key);
            release(key);
        }
    }

    /** Without owner threads: the two writers drain the partition themselves, one at a time. */
    @JCStressTest
    @Description("no owner threads, two writers put one key and sync (each draining): one of the two values.")
    @Outcome(id = {"1229782938533634594", "3689348815028241476"}, expect = ACCEPTABLE,
            desc = "one of the two writes was applied last")
    @Outcome(expect = FORBIDDEN, desc = "absent after both syncs, or a value nobody sent")
    @State
    public static class WritersDrainOneKey {
        final long key = nextKey();

        @Actor
        public void first() {
            WRITERS_DRAIN.putAsync(key, V1);
            WRITERS_DRAIN.sync();
        }

        @Actor
        public void second() {
            WRITERS_DRAIN.putAsync(key, V2);
            WRITERS_DRAIN.sync();
        }

        @Arbiter
        public void after(J_Result r) {
            r.r1 = WRITERS_DRAIN.get(key);
            release(WRITERS_DRAIN, key);
        }
    }

    /**
     * Without owner threads: one writer's sync drains the other's queued write too (both keys
     * share a partition when they share an owner); each sees its own write after its sync.
     */
    @JCStressTest
    @Description("no owner threads, two writers put two keys, sync, read both: each sees its own.")
    @Outcome(id = {"1229782938533634594, 3689348815028241476, -1, -1",
            "1229782938533634594, 3689348815028241476, -1, 1229782938533634594",
            "1229782938533634594, 3689348815028241476, 3689348815028241476, -1",
            "1229782938533634594, 3689348815028241476, 3689348815028241476, 1229782938533634594"},
            expect = ACCEPTABLE, desc = "each writer sees its own write; the other's write applied or not yet")
    @Outcome(expect = FORBIDDEN, desc = "a writer did not see its synced write, or a torn value")
    @State
    public static class WritersDrainSentThenSynced {
        final long a = nextKey();
        final long b = nextKey();

        @Actor
        public void first(JJJJ_Result r) {
            WRITERS_DRAIN.putAsync(a, V1);
            WRITERS_DRAIN.sync();
            r.r1 = WRITERS_DRAIN.get(a);
            r.r3 = WRITERS_DRAIN.get(b);
        }

        @Actor
        public void second(JJJJ_Result r) {
            WRITERS_DRAIN.putAsync(b, V2);
            WRITERS_DRAIN.sync();
            r.r2 = WRITERS_DRAIN.get(b);
            r.r4 = WRITERS_DRAIN.get(a);
        }

        @Arbiter
        public void after(JJJJ_Result r) {
            release(WRITERS_DRAIN, a);
            release(WRITERS_DRAIN, b);
        }
    }

    /**
     * Without owner threads: a putAll that applies straight into the partition (under its drain
     * lock) races a put that goes through the queue and a sync that drains it.
     */
    @JCStressTest
    @Description("no owner threads, putAll (applied at once) and put (queued) of one key, both synced: one value.")
    @Outcome(id = {"1229782938533634594", "3689348815028241476"}, expect = ACCEPTABLE,
            desc = "one of the two writes was applied last")
    @Outcome(expect = FORBIDDEN, desc = "absent after both syncs, or a value nobody sent")
    @State
    public static class WritersDrainPutAllRacesPut {
        final long key = nextKey();
        final long[] keys = {key};
        final long[] values = {V1};

        @Actor
        public void bulk() {
            WRITERS_DRAIN.putAllAsync(keys, 0, values, 0, 1);
            WRITERS_DRAIN.sync();
        }

        @Actor
        public void single() {
            WRITERS_DRAIN.putAsync(key, V2);
            WRITERS_DRAIN.sync();
        }

        @Arbiter
        public void after(J_Result r) {
            r.r1 = WRITERS_DRAIN.get(key);
            release(WRITERS_DRAIN, key);
        }
    }

    /** The synchronous putIfAbsent, under the partition's lock, with owner threads draining too. */
    @JCStressTest
    @Description("two synchronous putIfAbsent of one new key: exactly one wins, the winner's value stays.")
    @Outcome(id = {"-1, 1229782938533634594, 1229782938533634594", "3689348815028241476, -1, 3689348815028241476"},
            expect = ACCEPTABLE, desc = "one won; the other saw the winner's value")
    @Outcome(expect = FORBIDDEN, desc = "both or neither won, or the value is not the winner's")
    @State
    public static class PutIfAbsentOnePartition {
        final long key = nextKey();

        @Actor
        public void first(JJJ_Result r) {
            r.r1 = TABLE.putIfAbsent(key, V1);
        }

        @Actor
        public void second(JJJ_Result r) {
            r.r2 = TABLE.putIfAbsent(key, V2);
        }

        @Arbiter
        public void after(JJJ_Result r) {
            r.r3 = TABLE.get(key);
            release(key);
        }
    }

    /** Without owner threads: a synchronous put after an asynchronous one of the same writer sees it. */
    @JCStressTest
    @Description("no owner threads: putAsync then put of one key by one writer, a second writer's put racing.")
    @Outcome(id = {"1229782938533634594, 3689348815028241476", "1229782938533634594, -6148914691236517206"},
            expect = ACCEPTABLE, desc = "the put returned the writer's own queued value; the other put before or after")
    @Outcome(id = "-6148914691236517206, 3689348815028241476", expect = ACCEPTABLE,
            desc = "the queued value was applied early (the writer's periodic drain), the other put came between")
    @Outcome(expect = FORBIDDEN, desc = "the queued write was not applied before the synchronous one")
    @State
    public static class WritersDrainAsyncThenSync {
        static final long V3 = 0xAAAA_AAAA_AAAA_AAAAL;
        final long key = nextKey();

        @Actor
        public void writer(JJ_Result r) {
            WRITERS_DRAIN.putAsync(key, V1);
            r.r1 = WRITERS_DRAIN.put(key, V2);
        }

        @Actor
        public void other() {
            WRITERS_DRAIN.put(key, V3);
        }

        @Arbiter
        public void after(JJ_Result r) {
            r.r2 = WRITERS_DRAIN.get(key);
            release(WRITERS_DRAIN, key);
        }
    }

    /**
     * A partition grows (its table copied and replaced, the old one released) under the lock of a
     * synchronous put, while a reader reads another key of the table: the reader sees it.
     */
    @JCStressTest
    @Description("a put that may grow its partition races a get of a present key: the get sees it, the put is kept.")
    @Outcome(id = "3689348815028241476, 1229782938533634594", expect = ACCEPTABLE,
            desc = "the reader saw the present key, from the old table or the new one")
    @Outcome(expect = FORBIDDEN, desc = "a key was missed or lost while the partition grew")
    @State
    public static class GrowthRacesGet {
        final long present = nextKey();
        final long added = nextKey();

        {
            GROWING.put(present, V2);
        }

        @Actor
        public void writer() {
            GROWING.put(added, V1);
        }

        @Actor
        public void reader(JJ_Result r) {
            r.r1 = GROWING.get(present);
        }

        @Arbiter
        public void after(JJ_Result r) {
            r.r2 = GROWING.get(added);
            GROWING.remove(present);
            GROWING.remove(added);
        }
    }

    /**
     * close() racing a synchronous put that grows the partition: the put either completes before
     * the partition is released or throws, and no partition table outlives close(). The memory is
     * GC-managed, so a growth copying from a released table would succeed and install a table
     * nobody frees, which is what the arbiter counts.
     */
    @JCStressTest
    @Description("close() against a put that grows the partition: every table is freed.")
    @Outcome(id = {"1, 0", "0, 0"}, expect = ACCEPTABLE,
            desc = "the put completed (1) or was refused (0); no table left open")
    @Outcome(expect = FORBIDDEN, desc = "a table outlived close()")
    @State
    public static class CloseRacesGrowingPut {
        final AtomicLong open = new AtomicLong();
        final PartitionedLongLongTable table = PartitionedLongLongTable.builder().partitions(1).ownerThreads(false)
                .capacity(4).maxProducers(1).missingValue(MISSING).memory(counting(open)).build();

        public CloseRacesGrowingPut() {
            for (long k = 1; k <= 3; k++) {
                table.put(k, k);                // 0.75 of 4 slots: the next new key grows the partition
            }
        }

        @Actor
        public void writer(JJ_Result r) {
            try {
                table.put(4, 4);
                r.r1 = 1;
            } catch (IllegalStateException shutDownOrClosed) {
                r.r1 = 0;
            }
        }

        @Actor
        public void closer() {
            table.close();
        }

        @Arbiter
        public void arbiter(JJ_Result r) {
            r.r2 = open.get();
        }
    }

    /** GC-managed memory that counts in {@code open} the tables not yet released. */
    static MemoryProvider counting(AtomicLong open) {
        return (bytes, alignment) -> {
            TableMemory memory = MemoryProvider.gcManaged().allocate(bytes, alignment);
            open.incrementAndGet();
            return TableMemory.of(memory.segment(), memory.description(), () -> {
                open.decrementAndGet();
                memory.close();
            });
        };
    }
}
