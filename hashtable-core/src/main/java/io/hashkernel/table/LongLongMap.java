package io.hashkernel.table;

/**
 * A concurrent map from {@code long} keys to {@code long} values, with no boxing.
 *
 * <p>Every {@code long} is a valid key. One value, {@link #missingValue()}, chosen when the map is
 * built, is reserved: it is what lookups return for an absent key, and storing it is refused with
 * {@link IllegalArgumentException}.
 *
 * <p>Unless an implementation says otherwise, single-key operations are linearizable and
 * lock-free; {@link #size()}, {@link #forEach} and {@link #clear()} are weakly consistent with
 * concurrent updates (exact when no update runs). After {@link #close()} every method except
 * {@code close()}, {@link #isClosed()}, {@link #capacity()} and {@link #missingValue()} throws
 * {@link IllegalStateException}.
 */
public interface LongLongMap extends AutoCloseable {

    /** The reserved value returned for absent keys. */
    long missingValue();

    /** The value mapped to {@code key}, or {@link #missingValue()}. */
    long get(long key);

    /** Whether {@code key} is mapped. */
    boolean containsKey(long key);

    /**
     * Maps {@code key} to {@code value}.
     *
     * @return the previous value, or {@link #missingValue()} if there was none
     * @throws IllegalArgumentException if {@code value} is the missing value
     * @throws TableFullException       if the key is new and no slot is left
     */
    long put(long key, long value);

    /**
     * Maps {@code key} to {@code value} only if it is absent.
     *
     * @return the current value if present (nothing changed), else {@link #missingValue()}
     * @throws IllegalArgumentException if {@code value} is the missing value
     * @throws TableFullException       if the key is new and no slot is left
     */
    long putIfAbsent(long key, long value);

    /**
     * Maps {@code key} to {@code value} only if it is present.
     *
     * @return the previous value, or {@link #missingValue()} if absent (nothing changed)
     * @throws IllegalArgumentException if {@code value} is the missing value
     */
    long replace(long key, long value);

    /**
     * Maps {@code key} to {@code newValue} only if it is currently mapped to {@code expectedValue}.
     *
     * @return whether the value was replaced
     * @throws IllegalArgumentException if either value is the missing value
     */
    boolean replace(long key, long expectedValue, long newValue);

    /**
     * Removes the mapping of {@code key}.
     *
     * @return the removed value, or {@link #missingValue()} if absent
     */
    long remove(long key);

    /**
     * Removes the mapping of {@code key} only if it is mapped to {@code expectedValue}.
     *
     * @return whether the mapping was removed
     */
    boolean remove(long key, long expectedValue);

    /** The number of mappings; exact when no update runs concurrently. */
    long size();

    /** Whether {@link #size()} is zero. */
    default boolean isEmpty() {
        return size() == 0;
    }

    /**
     * Hands every mapping to {@code action}. Weakly consistent: a mapping present for the whole
     * traversal is seen exactly once; one added or removed meanwhile may or may not be seen.
     */
    void forEach(LongLongConsumer action);

    /** Removes every mapping; not atomic with respect to concurrent updates. */
    void clear();

    /** The number of slots, i.e. how many distinct keys the map can hold. */
    long capacity();

    /** Whether {@link #close()} has been called. */
    boolean isClosed();

    /** Releases the memory; idempotent. Later use throws {@link IllegalStateException}. */
    @Override
    void close();
}
