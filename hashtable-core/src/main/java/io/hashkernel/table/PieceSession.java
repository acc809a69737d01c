package io.hashkernel.table;

/**
 * A {@link LongLongSession} that gathers requests into pieces and runs each piece as a whole:
 * when a request arrives and {@link #PIECE} are waiting, and on {@link #flush()}. Subclasses say how a piece
 * runs ({@link #runPiece()}); {@link #runInOrder(LongLongMap)} is the plain way, request by request
 * through the map's own calls with runs of lookups batched into one {@code getAll}.
 *
 * <p>Per-key order and linearizability come from running a piece's requests in submission order,
 * each as the single call (or as an element of a bulk call, which is linearizable per element and
 * keeps the order of one key's elements).
 */
abstract class PieceSession implements LongLongSession {
    /** Requests run together. */
    static final int PIECE = 1024;

    static final byte GET = 0;
    static final byte PUT = 1;
    static final byte REMOVE = 2;

    final long[] ids = new long[PIECE];
    final long[] keys = new long[PIECE];
    final long[] values = new long[PIECE];
    final byte[] ops = new byte[PIECE];
    /** Requests gathered. */
    int count;
    /** Puts among them. */
    int puts;
    final CompletionRing done = new CompletionRing();
    private final long missingValue;
    private long[] runKeys;
    private long[] runValues;

    PieceSession(long missingValue) {
        this.missingValue = missingValue;
    }

    /** Throws {@link IllegalStateException} if the map is closed. */
    abstract void ensureOpen();

    /** Runs the {@link #count} gathered requests, adds their completions, and empties the piece. */
    abstract void runPiece();

    @Override
    public final void get(long id, long key) {
        submit(GET, id, key, missingValue);
    }

    @Override
    public final void put(long id, long key, long value) {
        LineTable.requireStorable(value, missingValue);
        submit(PUT, id, key, value);
    }

    @Override
    public final void remove(long id, long key) {
        submit(REMOVE, id, key, missingValue);
    }

    @Override
    public final int poll(long[] outIds, long[] results) {
        return done.poll(outIds, results);
    }

    @Override
    public final void flush() {
        ensureOpen();
        if (count > 0) {
            runPiece();
        }
    }

    @Override
    public final int pending() {
        return count;
    }

    @Override
    public final int completed() {
        return done.size();
    }

    /**
     * Takes one request. A full piece runs first, so a submit that throws (the piece could not
     * run) has not taken its request, and the piece stays pending for the next submit or flush.
     */
    private void submit(byte op, long id, long key, long value) {
        ensureOpen();
        if (count == PIECE) {
            runPiece();
        }
        ids[count] = id;
        keys[count] = key;
        values[count] = value;
        ops[count] = op;
        puts += op == PUT ? 1 : 0;
        count++;
    }

    /** Forgets the piece once it has run. */
    final void emptied() {
        count = 0;
        puts = 0;
    }

    /**
     * Runs the piece on {@code map} in submission order: each run of lookups as one
     * {@code getAll}, each put and remove as the single call. Every request completes except
     * puts of new keys without room; those are reported after the rest by one
     * {@link TableFullException} naming the first one's id and counting them. Any other failure
     * is thrown at once: the request that failed is not done (a lookup is kept), and the requests
     * after it stay pending.
     */
    final void runInOrder(LongLongMap map) {
        TableFullException full = null;
        long fullId = 0;
        int failed = 0;
        int i = 0;
        try {
            while (i < count) {
                if (ops[i] == GET) {
                    int end = i + 1;
                    while (end < count && ops[end] == GET) {
                        end++;
                    }
                    lookUp(map, i, end - i);
                    i = end;
                    continue;
                }
                long result;
                try {
                    result = ops[i] == PUT ? map.put(keys[i], values[i]) : map.remove(keys[i]);
                } catch (TableFullException e) {
                    if (full == null) {
                        full = e;
                        fullId = ids[i];
                    }
                    failed++;
                    i++;
                    continue;
                } catch (RuntimeException e) {
                    IllegalStateException notDone = new IllegalStateException((ops[i] == PUT ? "put" : "remove")
                            + " with id " + ids[i] + " failed and was not done; the " + (count - i - 1)
                            + " requests after it stay pending: " + e.getMessage(), e);
                    i++;
                    if (full != null) {
                        notDone.addSuppressed(full);
                    }
                    throw notDone;
                }
                done.add(ids[i++], result);
            }
        } finally {
            keepFrom(i);
        }
        if (full != null) {
            throw new TableFullException("put with id " + fullId + (failed > 1 ? " and " + (failed - 1)
                    + " later puts of new keys found no room and were" : " found no room and was")
                    + " not done; every other request completed. " + full.getMessage(), failed);
        }
    }

    /** Keeps the requests from {@code first} on as the pending ones. */
    private void keepFrom(int first) {
        int n = count - first;
        System.arraycopy(ids, first, ids, 0, n);
        System.arraycopy(keys, first, keys, 0, n);
        System.arraycopy(values, first, values, 0, n);
        System.arraycopy(ops, first, ops, 0, n);
        count = n;
        int p = 0;
        for (int k = 0; k < n; k++) {
            p += ops[k] == PUT ? 1 : 0;
        }
        puts = p;
    }

    private void lookUp(LongLongMap map, int from, int length) {
        if (length == 1) {
            done.add(ids[from], map.get(keys[from]));
            return;
        }
        if (runKeys == null) {
            runKeys = new long[PIECE];
            runValues = new long[PIECE];
        }
        System.arraycopy(keys, from, runKeys, 0, length);
        map.getAll(runKeys, 0, runValues, 0, length);
        for (int k = 0; k < length; k++) {
            done.add(ids[from + k], runValues[k]);
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[pending=" + count + ", completed=" + done.size() + "]";
    }
}
