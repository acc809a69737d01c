package io.hashkernel.stress;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.spi.MemoryProvider;
import io.hashkernel.table.spi.TableMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Small tables for stress states: one line of four slots, so every key collides with every other. */
final class Tables {
    /** The missing value of every stress table. */
    static final long MISSING = -1;

    private Tables() {
    }

    /**
     * Memory that {@code close()} really releases (a shared arena's): a read of it after a
     * migration released it throws, as a table on mmap'ed memory would, where GC-managed memory
     * would still answer.
     */
    static final MemoryProvider RELEASED = (bytes, alignment) -> {
        Arena arena = Arena.ofShared();
        MemorySegment segment = arena.allocate(bytes, alignment);
        return TableMemory.of(segment, "Arena.ofShared (released on close)", arena::close);
    };

    /** A 4-slot table (a single cache line) on GC-managed memory; jcstress creates millions. */
    static ConcurrentLongLongTable oneLine() {
        return ConcurrentLongLongTable.builder().capacity(4).missingValue(MISSING)
                .memory(MemoryProvider.gcManaged()).seed(1).build();
    }
}
