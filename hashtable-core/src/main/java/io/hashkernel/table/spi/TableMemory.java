package io.hashkernel.table.spi;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

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

    /**
     * {@code segment}, described as {@code description}, released by running {@code release}
     * once: the first {@link #close()} runs it, later ones do nothing.
     */
    static TableMemory of(MemorySegment segment, String description, Runnable release) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(release, "release");
        AtomicBoolean released = new AtomicBoolean();
        return new TableMemory() {
            @Override
            public MemorySegment segment() {
                return segment;
            }

            @Override
            public String description() {
                return description;
            }

            @Override
            public void close() {
                if (released.compareAndSet(false, true)) {
                    release.run();
                }
            }
        };
    }
}
