package io.hashkernel.table.spi;

import java.lang.foreign.MemorySegment;

/**
 * A block of memory handed to a table by a {@link MemoryProvider}.
 *
 * <p>Contract: {@link #segment()} is zero-filled when handed over, at least as large and as
 * aligned as requested, and accessible from every thread until {@link #close()}. After
 * {@code close()} an access to the segment must throw {@link IllegalStateException} (as a closed
 * {@link java.lang.foreign.Arena}'s segments do) or still reach valid memory (as a GC-managed
 * arena's do); it must never reach unmapped memory. {@code close()} is idempotent.
 */
public interface TableMemory extends AutoCloseable {
    /** The memory. */
    MemorySegment segment();

    /** How the memory was obtained, in one line, for reports. */
    String description();

    /** Releases the memory; idempotent. */
    @Override
    void close();

    /**
     * Bytes of the segment backed by huge pages now, or -1 where unknown (the default).
     */
    default long hugePageBytes() {
        return -1;
    }
}
