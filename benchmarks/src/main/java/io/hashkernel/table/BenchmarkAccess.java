package io.hashkernel.table;

import java.lang.foreign.MemorySegment;

/**
 * What the benchmarks read of a table that its API does not offer: the table's memory (htbench
 * measures the memory limit over the very lines the table uses) and which line compare runs.
 * It lives in the table's package, on the class path beside it; the table's module does not
 * export these to users.
 */
public final class BenchmarkAccess {

    private BenchmarkAccess() {
    }

    /** A read-only view of {@code table}'s memory; reads throw once the table is closed. */
    public static MemorySegment readOnlyMemory(ConcurrentLongLongTable table) {
        return table.engine().readOnlyMemory();
    }

    /** {@code vector-512} or {@code scalar}, with the reason. */
    public static String lineCompare() {
        return LineTable.lineCompare();
    }
}
