package io.hashkernel.table;

/**
 * An asynchronous session on a map, in the style of DRAMHiT (§3.1): submit lookups, puts and
 * removes tagged with ids of your choosing; the session batches and prefetches them; {@link #poll}
 * hands back completed results in completion order, which need not be submission order.
 *
 * <p>Guarantees of every implementation: every submitted id comes back from {@link #poll}
 * exactly once, with the result the single call would have returned ({@code get}: the value or
 * the missing value; {@code put} and {@code remove}: the previous value or the missing value),
 * except a put that finds no room, for which the call that processed it throws
 * {@link TableFullException} naming the first such id and counting them, after finishing its own
 * work (the request it submits is taken; a {@code flush} completes everything else).
 * Each request is linearizable on its own, somewhere between its submission and its
 * completion; requests on the same key take effect in submission order. After {@link #flush()}
 * nothing is pending. Completed results wait, in memory that grows as needed, until polled.
 *
 * <p>A session belongs to one thread at a time and is not thread-safe; open one per thread.
 * Use after its map is closed throws {@link IllegalStateException}.
 */
public interface LongLongSession {

    /** Submits a lookup of {@code key}; its result is the value, or the missing value. */
    void get(long id, long key);

    /**
     * Submits {@code put(key, value)}; its result is the previous value, or the missing value.
     *
     * @throws IllegalArgumentException if {@code value} is the missing value (nothing submitted)
     */
    void put(long id, long key, long value);

    /** Submits {@code remove(key)}; its result is the removed value, or the missing value. */
    void remove(long id, long key);

    /**
     * Moves up to {@code min(ids.length, results.length)} completed results into the arrays,
     * oldest completion first, and returns how many.
     */
    int poll(long[] ids, long[] results);

    /** Completes every submitted request; their results wait for {@link #poll}. */
    void flush();

    /** Requests submitted and not yet completed. */
    int pending();

    /** Results completed and not yet polled. */
    int completed();
}
