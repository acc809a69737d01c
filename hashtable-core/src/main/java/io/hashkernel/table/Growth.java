package io.hashkernel.table;

/**
 * The one growth policy and the one copy of the growing table and the partitioned table's
 * partitions: when a table grows, to what size, whether a copy at the maximum is worth it, and
 * the chunked copy of a table's mapped entries (removed keys are left behind).
 */
final class Growth {
    /** Claimed (or reserved) slots / capacity at which a table grows. */
    static final double GROW_AT = 0.75;
    /** Lines copied at a time: one helper's claim in a migration, one pass of a partition's copy. */
    static final int CHUNK_LINES = 1024;

    private Growth() {
    }

    /** Slots a table of {@code capacity} takes before it grows. */
    static long limitOf(long capacity) {
        return (long) (capacity * GROW_AT);
    }

    /**
     * The capacity a table of {@code capacity} grows to for {@code need} entries: doubled until
     * they fill at most half its limit, up to {@code max}.
     */
    static long grownCapacity(long capacity, long need, long max) {
        long target = capacity;
        while (limitOf(target) / 2 < need && target < max) {
            target <<= 1;
        }
        return target;
    }

    /**
     * Whether copying a table of {@code capacity} at its size, with {@code claimed} slots taken and
     * {@code live} entries, would reclaim too few slots to be worth it (at the maximum capacity).
     */
    static boolean reclaimsLittle(long claimed, long live, long capacity) {
        return claimed - live < capacity / 16;
    }

    /**
     * Copies the mapped entries of {@code from} into {@code to}, {@value #CHUNK_LINES} lines at a
     * time, by one thread ({@code exclusive}: {@code to} has no other writer), while no one
     * writes to {@code from}: a partition's growth.
     */
    static void copyAll(LineTable from, LineTable to, boolean exclusive) {
        int chunk = (int) Math.min(CHUNK_LINES, from.lines());
        long[] keys = new long[chunk * TableLayout.SLOTS_PER_LINE];
        long[] values = new long[keys.length];
        for (long line = 0; line < from.lines(); line += chunk) {
            from.copyMappedInto(to, line, chunk, keys, values, exclusive);
        }
    }
}
