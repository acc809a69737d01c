package io.hashkernel.bytes;

import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A map from byte strings to byte strings: what {@link ConcurrentBytesMap} (in memory) and the
 * durable {@code io.hashkernel.pm.PersistentBytesMap} have in common, so that code such as a
 * Kafka Streams store can run on either.
 *
 * <p>Guarantees every implementation gives: keys and values are copied in (the caller may reuse
 * its arrays after a call) and every array returned is a fresh copy; single-key calls are
 * linearizable and safe from any number of threads; {@link #size()}, {@link #forEach} and
 * {@link #forEachKey} are weakly consistent with concurrent writes (a mapping present throughout
 * is seen exactly once); after {@link #close()} every method but {@code close()} and
 * {@link #isClosed()} throws {@link IllegalStateException}. Null keys and values throw
 * {@link NullPointerException}. What an implementation adds (durability, a memory limit) its own
 * javadoc states.
 */
public interface BytesMap extends AutoCloseable {

    /** The value of {@code key}, a fresh array, or {@code null} if it is absent. */
    byte[] get(byte[] key);

    /** Whether {@code key} is mapped. */
    boolean containsKey(byte[] key);

    /**
     * The values of {@code keys} into {@code values} (fresh arrays, {@code null} for absent
     * keys); each lookup linearizable on its own.
     *
     * @throws IllegalArgumentException if the arrays' lengths differ
     */
    void getAll(byte[][] keys, byte[][] values);

    /**
     * Maps {@code key} to {@code value}.
     *
     * @return the previous value (a fresh array), or {@code null} if there was none
     */
    byte[] put(byte[] key, byte[] value);

    /**
     * As {@link #put} without returning the previous value, so without copying it.
     *
     * @return whether the key was absent
     */
    boolean set(byte[] key, byte[] value);

    /**
     * Maps {@code key} to {@code value} only if it is absent.
     *
     * @return the current value (a fresh array) if present (nothing changed), else {@code null}
     */
    byte[] putIfAbsent(byte[] key, byte[] value);

    /**
     * Removes the mapping of {@code key}.
     *
     * @return the removed value (a fresh array), or {@code null} if it was absent
     */
    byte[] remove(byte[] key);

    /**
     * Writes every pair in order: {@code values[i] == null} removes {@code keys[i]}, else
     * maps it as {@link #set} does. Each pair is a single-key write of its own; an
     * implementation may make the call cheaper as a whole (one flush for all of it, say).
     *
     * @throws IllegalArgumentException if the arrays' lengths differ
     * @throws NullPointerException     if an array or a key is null (nothing is then written)
     */
    default void putAll(byte[][] keys, byte[][] values) {
        checkPairs(keys, values);
        for (int i = 0; i < keys.length; i++) {
            if (values[i] == null) {
                remove(keys[i]);
            } else {
                set(keys[i], values[i]);
            }
        }
    }

    /**
     * Checks {@link #putAll}'s arguments as every implementation does before it writes anything.
     *
     * @throws IllegalArgumentException if the arrays' lengths differ
     * @throws NullPointerException     if an array or a key is null
     */
    static void checkPairs(byte[][] keys, byte[][] values) {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        if (keys.length != values.length) {
            throw new IllegalArgumentException("keys and values differ in length: " + keys.length + " and " + values.length);
        }
        for (int i = 0; i < keys.length; i++) {
            Objects.requireNonNull(keys[i], "keys[" + i + "]");
        }
    }

    /** Mappings; weakly consistent with concurrent writes. */
    long size();

    /** Calls {@code action} with a copy of each mapping's key and value; weakly consistent. */
    void forEach(BiConsumer<byte[], byte[]> action);

    /** As {@link #forEach}, the keys only. */
    void forEachKey(Consumer<byte[]> action);

    /** Whether {@link #close()} was called. */
    boolean isClosed();

    /** Releases the map's memory (and files); idempotent. */
    @Override
    void close();
}
