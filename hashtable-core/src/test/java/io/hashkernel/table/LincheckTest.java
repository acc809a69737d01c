package io.hashkernel.table;

import io.hashkernel.table.spi.MemoryProvider;
import org.jetbrains.kotlinx.lincheck.paramgen.LongGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * Lincheck (stress mode): random concurrent scenarios of each table's single-key operations,
 * {@code clear()} and the growing table's {@code compact()} included, checked for
 * linearizability against the table itself run sequentially ({@code size()} is only weakly
 * consistent, so it is not among them). Few keys and small tables, so that operations meet and the
 * growing table migrates within a scenario.
 */
class LincheckTest {
    static final long MISSING = -1;

    static StressOptions options() {
        return new StressOptions().iterations(30).invocationsPerIteration(400).threads(2).actorsPerThread(3)
                .actorsBefore(3).actorsAfter(1);
    }

    /** The operations every map shares. */
    @Param(name = "key", gen = LongGen.class, conf = "0:4")
    @Param(name = "value", gen = LongGen.class, conf = "1:3")
    abstract static class MapOps {
        final LongLongMap map;

        MapOps(LongLongMap map) {
            this.map = map;
        }

        @Operation
        public long get(@Param(name = "key") long key) {
            return map.get(key);
        }

        @Operation
        public long put(@Param(name = "key") long key, @Param(name = "value") long value) {
            return map.put(key, value);
        }

        @Operation
        public long putIfAbsent(@Param(name = "key") long key, @Param(name = "value") long value) {
            return map.putIfAbsent(key, value);
        }

        @Operation
        public long remove(@Param(name = "key") long key) {
            return map.remove(key);
        }

        @Operation
        public boolean replace(@Param(name = "key") long key, @Param(name = "value") long expected,
                               @Param(name = "value") long value) {
            return map.replace(key, expected, value);
        }

        /** A bulk put of one key: 1 where the key was absent. */
        @Operation
        public long putAllOne(@Param(name = "key") long key, @Param(name = "value") long value) {
            return map.putAll(new long[]{key}, new long[]{value});
        }

        /**
         * A bulk put of one key twice (write-combined where the table combines: only the second
         * value is written): 1 where the key was absent, and the second value stays.
         */
        @Operation
        public long putAllTwice(@Param(name = "key") long key, @Param(name = "value") long first,
                                @Param(name = "value") long second) {
            return map.putAll(new long[]{key, key}, new long[]{first, second});
        }

        /** A bulk lookup in place (each element of a bulk call is linearizable on its own: one here). */
        @Operation
        public long getInPlace(@Param(name = "key") long key) {
            long[] kv = {key};
            map.getAll(kv, kv);
            return kv[0];
        }
    }

    public static class Fixed extends MapOps {
        public Fixed() {
            super(ConcurrentLongLongTable.builder().capacity(64).missingValue(MISSING)
                    .memory(MemoryProvider.gcManaged()).build());
        }
    }

    public static class Growing extends MapOps {
        public Growing() {
            super(GrowingLongLongTable.builder().capacity(4).missingValue(MISSING)
                    .memory(MemoryProvider.gcManaged()).build());
        }

        @Operation
        public void clear() {
            map.clear();
        }

        @Operation
        public void compact() {
            ((GrowingLongLongTable) map).compact();
        }
    }

    /** Two partitions, writers draining; growth from 64 slots a partition. */
    public static class Partitioned extends MapOps {
        public Partitioned() {
            super(PartitionedLongLongTable.builder().partitions(2).ownerThreads(false).capacity(4).missingValue(MISSING)
                    .memory(MemoryProvider.gcManaged()).build());
        }
    }

    /**
     * One partition, with {@code clear()}: a partitioned table clears one partition at a time
     * (each atomically, the whole weakly consistent), so only one partition makes it atomic.
     */
    public static class OnePartition extends MapOps {
        public OnePartition() {
            super(PartitionedLongLongTable.builder().partitions(1).ownerThreads(false).capacity(4).missingValue(MISSING)
                    .memory(MemoryProvider.gcManaged()).build());
        }

        @Operation
        public void clear() {
            map.clear();
        }
    }

    @Test
    void fixedTableIsLinearizable() {
        options().check(Fixed.class);
    }

    @Test
    void growingTableIsLinearizableWithClearAndCompact() {
        options().check(Growing.class);
    }

    @Test
    void partitionedTableIsLinearizable() {
        options().check(Partitioned.class);
    }

    @Test
    void partitionedTableOfOnePartitionIsLinearizableWithClear() {
        options().check(OnePartition.class);
    }
}
