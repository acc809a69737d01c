package io.hashkernel.table;

import io.hashkernel.table.spi.MemoryProvider;

/**
 * Every implementation of {@link LongLongMap} in the configurations the contract suite and the
 * model test run: the fixed table, the growing table from a tiny capacity, and the partitioned
 * table with and without owner threads and with a single partition.
 */
enum Flavor {
    FIXED {
        @Override
        LongLongMap build(long capacity, long maxCapacity, long missing) {
            return ConcurrentLongLongTable.builder().capacity(maxCapacity).missingValue(missing)
                    .memory(MemoryProvider.gcManaged()).build();
        }
    },
    GROWING {
        @Override
        LongLongMap build(long capacity, long maxCapacity, long missing) {
            return GrowingLongLongTable.builder().capacity(4).maxCapacity(maxCapacity).missingValue(missing)
                    .memory(MemoryProvider.gcManaged()).build();
        }
    },
    PARTITIONED_OWNER_THREADS {
        @Override
        LongLongMap build(long capacity, long maxCapacity, long missing) {
            return PartitionedLongLongTable.builder().partitions(2).capacity(Math.min(capacity, maxCapacity))
                    .maxCapacity(maxCapacity).missingValue(missing).memory(MemoryProvider.gcManaged()).build();
        }
    },
    PARTITIONED_WRITERS_DRAIN {
        @Override
        LongLongMap build(long capacity, long maxCapacity, long missing) {
            return PartitionedLongLongTable.builder().partitions(3).ownerThreads(false)
                    .capacity(Math.min(capacity, maxCapacity)).maxCapacity(maxCapacity).missingValue(missing)
                    .memory(MemoryProvider.gcManaged()).build();
        }
    },
    PARTITIONED_ONE {
        @Override
        LongLongMap build(long capacity, long maxCapacity, long missing) {
            return PartitionedLongLongTable.builder().partitions(1).ownerThreads(false)
                    .capacity(Math.min(capacity, maxCapacity)).maxCapacity(maxCapacity).missingValue(missing)
                    .memory(MemoryProvider.gcManaged()).build();
        }
    };

    /**
     * A map of this flavour that can hold at least {@code capacity} keys, and (where it grows, or
     * for the fixed table) at most {@code maxCapacity} slots.
     */
    abstract LongLongMap build(long capacity, long maxCapacity, long missing);

    /** A map with room for {@code capacity} keys that never fills in a test. */
    LongLongMap build(long capacity, long missing) {
        return build(capacity, Math.max(capacity * 4, 1024), missing);
    }

    /** Whether the map's writes can be asynchronous (then {@link #sync} makes them visible). */
    boolean partitioned() {
        return this.name().startsWith("PARTITIONED");
    }

    /** Waits until this thread's asynchronous writes, if the map takes any, are applied. */
    static void sync(LongLongMap map) {
        if (map instanceof PartitionedLongLongTable p) {
            p.sync();
        }
    }
}
