package io.hashkernel.table.internal;

import io.hashkernel.table.ConcurrentLongLongTable;

import java.lang.invoke.MethodHandles;
import java.util.Objects;

/**
 * What the persistent backend ({@code io.hashkernel.pm}) needs of a table beyond its public API:
 * the byte layout, adoption of memory that already holds a table, and where a key's words lie.
 * The module exports this package to {@code io.hashkernel.pm} alone; it is not an API.
 *
 * <p>The table package registers its {@link Access} when {@link ConcurrentLongLongTable} is
 * initialised (the JDK's {@code SharedSecrets} pattern), so the engine stays package-private.
 */
public final class TableInternals {

    /** The operations, implemented inside {@code io.hashkernel.table}. */
    public interface Access {
        /** Bytes of table memory for {@code capacity} slots (a power of two), side line included. */
        long bytesFor(long capacity);

        /** {@code requested} slots rounded up as the builders round them. */
        long roundCapacity(long requested);

        /**
         * Builds a table of {@code capacity} slots with {@code options}, whose memory provider
         * hands out memory that already holds a table of that capacity, seed and missing value.
         * With {@code mappings} -1 the memory may have been left half-written by a crash: the table
         * is repaired and its mappings counted; else the table is taken as it is, with that size.
         */
        Adopted adopt(ConcurrentLongLongTable.Builder options, long capacity, long mappings);

        /** Byte offset in the table's memory of the line {@code key} hashes to. */
        long homeLine(ConcurrentLongLongTable table, long key);

        /** Byte offset in the table's memory of {@code key}'s value word, or -1 if it has no slot. */
        long valueOffset(ConcurrentLongLongTable table, long key);
    }

    /**
     * An adopted table and what its repair found.
     *
     * @param table          the table, ready for use
     * @param repairedValues value words of unfinished writes that the repair cleared
     */
    public record Adopted(ConcurrentLongLongTable table, long repairedValues) {
    }

    private static volatile Access access;

    private TableInternals() {
    }

    /** Called once, by the table package. */
    public static void register(Access implementation) {
        Objects.requireNonNull(implementation, "implementation");
        if (access != null) {
            throw new IllegalStateException("table internals are already registered");
        }
        access = implementation;
    }

    /** The table package's implementation. */
    public static Access access() {
        Access a = access;
        if (a == null) {
            try {
                MethodHandles.lookup().ensureInitialized(ConcurrentLongLongTable.class);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
            a = access;
        }
        return a;
    }
}
