package io.hashkernel.table;

/** Completed (id, result) pairs of a session waiting to be polled: a FIFO ring that doubles when full. Not thread-safe. */
final class CompletionRing {
    private long[] ids = new long[64];
    private long[] values = new long[64];
    private int head;
    private int count;

    /** Appends one completion. */
    void add(long id, long result) {
        if (count == ids.length) {
            // Unroll the ring into arrays twice the size.
            int capacity = ids.length;
            long[] i2 = new long[capacity * 2];
            long[] v2 = new long[capacity * 2];
            int first = capacity - head;
            System.arraycopy(ids, head, i2, 0, first);
            System.arraycopy(ids, 0, i2, first, head);
            System.arraycopy(values, head, v2, 0, first);
            System.arraycopy(values, 0, v2, first, head);
            ids = i2;
            values = v2;
            head = 0;
        }
        int at = (head + count) & (ids.length - 1);
        ids[at] = id;
        values[at] = result;
        count++;
    }

    /** Moves up to {@code min(count, ids.length, results.length)} completions out, oldest first; returns how many. */
    int poll(long[] outIds, long[] outResults) {
        int n = Math.min(count, Math.min(outIds.length, outResults.length));
        int mask = ids.length - 1;
        for (int i = 0; i < n; i++) {
            int at = (head + i) & mask;
            outIds[i] = ids[at];
            outResults[i] = values[at];
        }
        head = (head + n) & mask;
        count -= n;
        return n;
    }

    /** Completions waiting. */
    int size() {
        return count;
    }
}
