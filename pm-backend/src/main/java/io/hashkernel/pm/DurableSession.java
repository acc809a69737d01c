package io.hashkernel.pm;

import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.TableFullException;

/**
 * The session of a {@link PersistentLongLongTable}: requests are collected into batches of the
 * table's batch size; a full batch (or {@link #flush()}) runs as one durable call
 * ({@link PersistentLongLongTable#run}), after which its results can be polled. Results come back in
 * submission order, which is one of the completion orders the session contract allows.
 */
final class DurableSession implements LongLongSession {
    static final byte GET = 0;
    static final byte PUT = 1;
    static final byte REMOVE = 2;

    private final PersistentLongLongTable table;
    private final byte[] kinds;
    private final long[] ids;
    private final long[] keys;
    private final long[] values;
    private final long[] results;
    private final boolean[] noRoom;
    private int pending;
    /** Completed (id, result) pairs, oldest at {@code head}. */
    private long[] doneIds = new long[64];
    private long[] doneResults = new long[64];
    private int head;
    private int tail;

    DurableSession(PersistentLongLongTable table, int batch) {
        this.table = table;
        this.kinds = new byte[batch];
        this.ids = new long[batch];
        this.keys = new long[batch];
        this.values = new long[batch];
        this.results = new long[batch];
        this.noRoom = new boolean[batch];
    }

    @Override
    public void get(long id, long key) {
        submit(GET, id, key, 0);
    }

    @Override
    public void put(long id, long key, long value) {
        table.word(value); // refuses the missing value before anything is submitted
        submit(PUT, id, key, value);
    }

    @Override
    public void remove(long id, long key) {
        submit(REMOVE, id, key, 0);
    }

    private void submit(byte kind, long id, long key, long value) {
        table.ensureOpen();
        kinds[pending] = kind;
        ids[pending] = id;
        keys[pending] = key;
        values[pending] = value;
        if (++pending == kinds.length) {
            runBatch();
        }
    }

    private void runBatch() {
        int n = pending;
        pending = 0;
        int full = table.run(kinds, keys, values, results, noRoom, n);
        if (tail + n > doneIds.length) {
            int live = tail - head;
            int size = Math.max(doneIds.length, 2 * (live + n));
            long[] i = new long[size];
            long[] r = new long[size];
            System.arraycopy(doneIds, head, i, 0, live);
            System.arraycopy(doneResults, head, r, 0, live);
            doneIds = i;
            doneResults = r;
            head = 0;
            tail = live;
        }
        for (int i = 0; i < n; i++) {
            if (full > 0 && noRoom[i]) {
                continue; // a put that found no room does not come back (the session contract)
            }
            doneIds[tail] = ids[i];
            doneResults[tail++] = results[i];
        }
        if (full > 0) {
            throw new TableFullException("table full: the put of id " + firstNoRoom(n) + " and " + (full - 1)
                    + " other puts of this batch found no free slot and did nothing; the rest of the batch completed",
                    full);
        }
    }

    private long firstNoRoom(int n) {
        for (int i = 0; i < n; i++) {
            if (noRoom[i]) {
                return ids[i];
            }
        }
        return -1;
    }

    @Override
    public int poll(long[] outIds, long[] outResults) {
        int n = Math.min(Math.min(outIds.length, outResults.length), tail - head);
        System.arraycopy(doneIds, head, outIds, 0, n);
        System.arraycopy(doneResults, head, outResults, 0, n);
        head += n;
        if (head == tail) {
            head = 0;
            tail = 0;
        }
        return n;
    }

    @Override
    public void flush() {
        if (pending > 0) {
            runBatch();
        }
    }

    @Override
    public int pending() {
        return pending;
    }

    @Override
    public int completed() {
        return tail - head;
    }

    @Override
    public String toString() {
        return "DurableSession[pending=" + pending + ", completed=" + (tail - head) + ", batch="
                + kinds.length + "]";
    }
}
