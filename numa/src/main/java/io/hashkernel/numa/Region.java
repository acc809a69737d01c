package io.hashkernel.numa;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A zero-filled block of native memory with the report of how it was obtained.
 *
 * <p>Guarantees: the segment is exactly the requested size and aligned as requested; it is
 * accessible from any thread until {@link #close()}; after {@code close()} every access to it,
 * from any thread, throws {@link IllegalStateException} (the memory is unmapped only once no
 * thread can reach it, so a racing access throws rather than crashing the JVM). Closing twice is
 * harmless.
 */
public final class Region implements AutoCloseable {
    private final Arena arena;
    private final MemorySegment segment;
    private final Placement placement;
    private final AtomicBoolean closed = new AtomicBoolean();

    Region(Arena arena, MemorySegment segment, Placement placement) {
        this.arena = arena;
        this.segment = segment;
        this.placement = placement;
    }

    /** The memory; throws on access once the region is closed. */
    public MemorySegment segment() {
        return segment;
    }

    /** The size in bytes, as requested. */
    public long byteSize() {
        return segment.byteSize();
    }

    /** How the memory was obtained. */
    public Placement placement() {
        return placement;
    }

    /**
     * Bytes of the region backed by transparent huge pages now ({@code /proc/self/smaps}); -1
     * where that cannot be read. Pages are backed when first touched, so ask after writing.
     */
    public long hugePageBytes() {
        if (placement.explicitHugePageSize() > 0) {
            return segment.byteSize();   // made of hugetlb pages, reserved when mapped
        }
        return HugePages.anonHugeBytes(segment.address(), segment.byteSize());
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return closed.get();
    }

    /** Releases the memory (munmap, or the arena's free); idempotent and thread-safe. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "Region[" + MachineMemory.format(byteSize()) + ", " + placement.describe()
                + (isClosed() ? ", closed]" : "]");
    }
}
