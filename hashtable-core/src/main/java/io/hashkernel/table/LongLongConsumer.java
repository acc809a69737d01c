package io.hashkernel.table;

/** Receives a key and its value, as {@link LongLongMap#forEach} hands them over; no boxing. */
@FunctionalInterface
public interface LongLongConsumer {
    /** Accepts one mapping. */
    void accept(long key, long value);
}
