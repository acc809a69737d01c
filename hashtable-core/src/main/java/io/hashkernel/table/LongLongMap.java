package io.hashkernel.table;

/**
 * A concurrent map from {@code long} keys to {@code long} values, with no boxing.
 *
 * <p>Every {@code long} is a valid key. One value, {@link #missingValue()}, chosen when the map is
 * built, is reserved: it is what lookups return for an absent key, and storing it is refused with
 * {@link IllegalArgumentException}.
 *
 * <p>Single-key operations are linearizable. Whether they are lock-free depends on the
 * implementation, which says so: every operation of {@link ConcurrentLongLongTable} is; the
 * reads of {@link GrowingLongLongTable} and {@link PartitionedLongLongTable} are, while a growing
 * table's writes wait during a migration and a partitioned table's synchronous writes take their
 * partition's lock. {@link #size()}, {@link #forEach} and {@link #clear()} are weakly consistent
 * with concurrent updates (exact when no update runs), and never corrupt: the size is never
 * negative, and no key is ever seen with another key's value. After {@link #close()} every
 * method except {@code close()}, {@link #isClosed()}, {@link #capacity()} and
 * {@link #missingValue()} throws {@link IllegalStateException}.
 *
 * <p>Where 0 is a value you store, build the map with another {@code missingValue}: the default
 * of every builder is 0, and {@code put(k, 0)} then throws {@link IllegalArgumentException}.
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

    // ------------------------------------------------------------ bulk calls
    //
    // Each element of a bulk call is linearizable on its own, as the single call; two elements on
    // the same key take effect in the order of the array. Elements on different keys may take
    // effect in any order (the batched implementations answer a key found on its home line before
    // one that probes further), so the whole is equal in effect to the loop of single calls in
    // some order that keeps each key's order, not necessarily the array's. The defaults are the
    // loop. Ranges are checked before anything happens.

    /** {@code getAll(keys, 0, values, 0, keys.length)}. */
    default void getAll(long[] keys, long[] values) {
        getAll(keys, 0, values, 0, keys.length);
    }

    /**
     * Looks up {@code length} keys: {@code values[valuesOffset + i] = get(keys[keysOffset + i])}.
     *
     * @throws IndexOutOfBoundsException if a range is outside its array
     * @throws IllegalArgumentException  if the two ranges overlap other than exactly (in place)
     */
    default void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        for (int i = 0; i < length; i++) {
            values[valuesOffset + i] = get(keys[keysOffset + i]);
        }
    }

    /** {@code putAll(keys, 0, values, 0, keys.length)}. */
    default long putAll(long[] keys, long[] values) {
        return putAll(keys, 0, values, 0, keys.length);
    }

    /**
     * Maps {@code keys[keysOffset + i]} to {@code values[valuesOffset + i]} for each {@code i}, in order
     * (of two puts of one key, the later value stays).
     *
     * @return how many of the puts found their key absent (new mappings)
     * @throws IndexOutOfBoundsException if a range is outside its array
     * @throws IllegalArgumentException  if a value is the missing value; checked before any put
     * @throws TableFullException        if new keys found no free slot; every other key was put,
     *                                   and {@link TableFullException#notPut()} says how many were not
     */
    default long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        BulkRanges.checkValues(values, valuesOffset, length, missingValue());
        long added = 0;
        for (int i = 0; i < length; i++) {
            if (put(keys[keysOffset + i], values[valuesOffset + i]) == missingValue()) {
                added++;
            }
        }
        return added;
    }

    /** {@code removeAll(keys, 0, keys.length)}. */
    default long removeAll(long[] keys) {
        return removeAll(keys, 0, keys.length);
    }

    /**
     * Removes the mappings of {@code length} keys.
     *
     * @return how many mappings were removed
     * @throws IndexOutOfBoundsException if the range is outside the array
     */
    default long removeAll(long[] keys, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, keys.length);
        long removed = 0;
        for (int i = 0; i < length; i++) {
            if (remove(keys[offset + i]) != missingValue()) {
                removed++;
            }
        }
        return removed;
    }

    /** {@code containsAll(keys, 0, present, 0, keys.length)}. */
    default int containsAll(long[] keys, boolean[] present) {
        return containsAll(keys, 0, present, 0, keys.length);
    }

    /**
     * Checks {@code length} keys: {@code present[presentOffset + i] = containsKey(keys[keysOffset + i])}.
     *
     * @return how many are present
     * @throws IndexOutOfBoundsException if a range is outside its array
     */
    default int containsAll(long[] keys, int keysOffset, boolean[] present, int presentOffset, int length) {
        java.util.Objects.checkFromIndexSize(keysOffset, length, keys.length);
        java.util.Objects.checkFromIndexSize(presentOffset, length, present.length);
        int count = 0;
        for (int i = 0; i < length; i++) {
            boolean p = containsKey(keys[keysOffset + i]);
            present[presentOffset + i] = p;
            count += p ? 1 : 0;
        }
        return count;
    }

    /** The number of mappings; exact when no update runs concurrently, and never negative. */
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

    /**
     * Removes every mapping. Safe while other threads use the map, but not atomic with respect to
     * them unless the implementation says so: a mapping made during the call may stay.
     */
    void clear();

    /**
     * A new asynchronous session on this map, for one thread at a time: see
     * {@link LongLongSession} for what every session guarantees, and each implementation for how
     * it runs the requests.
     *
     * @throws IllegalStateException if the map is closed
     */
    LongLongSession session();

    /** The number of slots now, i.e. how many distinct keys the map can hold before it grows (if it grows). */
    long capacity();

    /** Bytes of memory the map holds now. */
    long memoryBytes();

    /**
     * Bytes of the map's memory backed by huge pages now (pages are backed as they are first
     * written), or -1 where its memory cannot tell.
     */
    long hugePageBytes();

    /**
     * How the map's memory was obtained and placed, e.g. {@code mmap+madvise(MADV_HUGEPAGE)},
     * including any placement or huge-page request the kernel refused.
     */
    String memoryDescription();

    /** Whether {@link #close()} has been called. */
    boolean isClosed();

    /** Releases the memory; idempotent. Later use throws {@link IllegalStateException}. */
    @Override
    void close();
}
