package io.hashkernel.kernel.kv;

/**
 * The key-value store domain's service, as the {@link KvService}'s server calls it: a
 * {@code long → long} map whose writes are durable when {@link #putAll} returns. Keys are any
 * {@code long}; values any {@code long} but {@link KvService#MISSING}.
 */
public interface KvStore {
    /**
     * Puts {@code n} pairs: durable (through the persistent backend's redo log) when it returns
     * true, and then visible to {@link #getAll}. False, with nothing written, if the keys it does
     * not hold yet would take it past its limit of keys (3/4 of its capacity: below where its
     * tables could fill, so a put is refused, never half done). If it throws, none of them was
     * acknowledged.
     */
    boolean putAll(long[] keys, long[] values, int n);

    /** The values of {@code n} keys ({@link KvService#MISSING} for an absent one). */
    void getAll(long[] keys, long[] values, int n);

    /** How many keys it holds. */
    long size();
}
