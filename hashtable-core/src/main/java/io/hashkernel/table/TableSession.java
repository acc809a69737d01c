package io.hashkernel.table;

import io.hashkernel.prefetch.batch.BatchPipeline;

import java.lang.foreign.MemorySegment;

import static io.hashkernel.table.LineTable.ABSENT;
import static io.hashkernel.table.LineTable.CLAIMED;
import static io.hashkernel.table.LineTable.GO_ON;
import static io.hashkernel.table.LineTable.WORD;
import static io.hashkernel.table.TableLayout.EMPTY_KEY;
import static io.hashkernel.table.TableLayout.NO_VALUE;

/**
 * The asynchronous pipeline of DRAMHiT (§3.1) over one {@link LineTable}: submit
 * finds, puts and removes tagged with ids of your choosing; the session batches them, prefetches
 * their cache lines and probes a batch while the next one's misses are in flight; {@link #poll}
 * hands back completed results, in completion order, which need not be submission order.
 *
 * <pre>{@code
 * LongLongSession s = table.session();
 * for (int i = 0; i < n; i++) {
 *     s.get(i, keys[i]);                 // id i
 *     int done = s.poll(ids, results);   // whatever has completed so far
 *     ...
 * }
 * s.flush();                             // complete everything submitted
 * int done = s.poll(ids, results);
 * }</pre>
 *
 * <p>Guarantees: every submitted id comes back from {@link #poll} exactly once, with the result
 * the single call would have returned: {@link #get} the value or the missing value; {@link #put}
 * and {@link #remove} the previous value or the missing value. The one exception is a put that
 * finds no free slot: the call that processed it ({@code get}, {@code put}, {@code remove} or
 * {@code flush}) throws {@link TableFullException} naming the first such id and counting them,
 * after finishing its own work: the request it submits is in the pipeline, and a {@code flush}
 * has completed everything else. Each request is linearizable on its own, somewhere
 * between its submission and its completion; requests on the same key take effect in submission
 * order; requests on different keys may take effect in any order. After {@link #flush()} nothing
 * is pending. Completed results wait, in memory that grows as needed, until polled.
 *
 * <p>A session belongs to one thread at a time and is not thread-safe; open one per thread. It
 * holds no native resources: drop it when done. Use after the table is closed throws
 * {@link IllegalStateException}.
 */
final class TableSession implements LongLongSession {
    private static final byte GET = 0;
    private static final byte PUT = 1;
    private static final byte REMOVE = 2;

    private final LineTable table;
    private final MemorySegment memory;
    private final long missing;
    private final BatchPipeline pipe;

    // Requests in the pipeline, by slot (the pipeline's tag).
    private final long[] keys;
    private final long[] words;
    private final long[] ids;
    private final byte[] ops;
    private final int[] freeSlots;
    private int freeCount;

    private final CompletionRing done = new CompletionRing();

    // Puts that found no free slot during the current call: reported when it returns.
    private int failed;
    private long failedId;
    private TableFullException failure;
    /** Slots claimed by puts since {@link #takeClaims()} (a growing table's reservation). */
    private long claims;

    TableSession(LineTable table, BatchPipeline pipe, int depth) {
        this.table = table;
        this.memory = table.memory();
        this.missing = table.missingValue();
        this.pipe = pipe;
        int slots = (depth + 1) * pipe.batch();
        keys = new long[slots];
        words = new long[slots];
        ids = new long[slots];
        ops = new byte[slots];
        freeSlots = new int[slots];
        for (int i = 0; i < slots; i++) {
            freeSlots[i] = slots - 1 - i;
        }
        freeCount = slots;
    }

    @Override
    public void get(long id, long key) {
        submit(GET, id, key, NO_VALUE);
    }

    @Override
    public void put(long id, long key, long value) {
        submit(PUT, id, key, table.encode(value));
    }

    @Override
    public void remove(long id, long key) {
        submit(REMOVE, id, key, NO_VALUE);
    }

    @Override
    public int poll(long[] ids, long[] results) {
        return done.poll(ids, results);
    }

    @Override
    public void flush() {
        table.ensureOpen();
        while (!pipe.isEmpty()) {
            round();
        }
        reportFailures();
    }

    @Override
    public int pending() {
        return pipe.pending();
    }

    @Override
    public int completed() {
        return done.size();
    }

    private void submit(byte op, long id, long key, long word) {
        table.ensureOpen();
        if (key == EMPTY_KEY) {
            complete(id, apply(op, table.sideValueOffset(), word));
            return;
        }
        while (!pipe.hasRoom()) {
            round();
        }
        // At most (depth + 1) * batch requests are in the pipeline and the batch being built has room, so
        // a slot is free.
        int slot = freeSlots[--freeCount];
        keys[slot] = key;
        words[slot] = word;
        ids[slot] = id;
        ops[slot] = op;
        pipe.add(slot, table.homeLine(key));
        reportFailures();
    }

    /** Throws, once, for the puts without room that this call's rounds met. */
    private void reportFailures() {
        if (failed == 0) {
            return;
        }
        TableFullException cause = failure;
        int n = failed;
        long first = failedId;
        failed = 0;
        failure = null;
        throw new TableFullException("put with id " + first + (n > 1 ? " and " + (n - 1)
                + " other puts of new keys found no free slot and were" : " found no free slot and was")
                + " not done; every other request was processed. " + cause.getMessage(), n);
    }

    /** The slots claimed by puts since the last call, and starts counting again. */
    long takeClaims() {
        long c = claims;
        claims = 0;
        return c;
    }

    /**
     * One round: issue the built batch, probe the one in flight. A put without room is recorded
     * for {@link #reportFailures}, so that no caller loses the request it was submitting.
     */
    private void round() {
        BatchPipeline p = pipe;
        p.issue();
        for (int j = 0, n = p.probeCount(); j < n; j++) {
            int slot = p.tag(j);
            long base = p.offset(j);
            byte op = ops[slot];
            long offset;
            try {
                offset = op == PUT ? table.claimStep(base, keys[slot], p.hops(j))
                        : table.findStep(base, keys[slot], p.hops(j));
            } catch (TableFullException e) {
                if (failed++ == 0) {
                    failure = e;
                    failedId = ids[slot];
                }
                freeSlots[freeCount++] = slot;
                continue;
            }
            if (offset == GO_ON) {
                p.requeue(j, table.nextLine(base));
                continue;
            }
            claims += offset & CLAIMED;
            long result = offset == ABSENT ? missing : apply(op, offset & ~CLAIMED, words[slot]);
            complete(ids[slot], result);
            freeSlots[freeCount++] = slot;
        }
        p.endProbe();
    }

    /** Applies a request to the value word at {@code offset}; returns the result the caller sees. */
    private long apply(byte op, long offset, long word) {
        final MemorySegment m = memory;
        switch (op) {
            case GET -> {
                return (long) WORD.getAcquire(m, offset) ^ missing;
            }
            case PUT -> {
                long previous = (long) WORD.getAndSet(m, offset, word);
                if (previous == NO_VALUE) {
                    table.addSize(1);
                }
                return previous ^ missing;
            }
            default -> {
                long previous = (long) WORD.getAndSet(m, offset, NO_VALUE);
                if (previous != NO_VALUE) {
                    table.addSize(-1);
                }
                return previous ^ missing;
            }
        }
    }

    private void complete(long id, long result) {
        done.add(id, result);
    }

    @Override
    public String toString() {
        return "TableSession[pending=" + pending() + ", completed=" + done.size() + ", batch=" + pipe.batch() + "]";
    }
}
