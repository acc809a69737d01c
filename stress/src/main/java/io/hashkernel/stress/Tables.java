package io.hashkernel.stress;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.spi.MemoryProvider;

/** Small tables for stress states: one line of four slots, so every key collides with every other. */
final class Tables {
    /** The missing value of every stress table. */
    static final long MISSING = -1;

    private Tables() {
    }

    /** A 4-slot table (a single cache line) on GC-managed memory; jcstress creates millions. */
    static ConcurrentLongLongTable oneLine() {
        return ConcurrentLongLongTable.builder().capacity(4).missingValue(MISSING)
                .memory(MemoryProvider.gcManaged()).seed(1).build();
    }
}
