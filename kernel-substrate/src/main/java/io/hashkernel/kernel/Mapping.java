package io.hashkernel.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A 4 KiB frame in a process's address space, or in flight between two (moving with a message).
 * While mapped, the process reaches it through {@code segment}, re-scoped to {@code arena}; the
 * arena is closed when the page is unmapped, sent, or its process dies, so the old segment throws
 * from then on. Written under the kernel's lock.
 */
final class Mapping {
    final long id;
    final long frame;
    /** The container holding the frame. */
    long container;
    /** The process it is mapped in, or null while in flight. */
    KernelProcess process;
    long vpn;
    Arena arena;
    MemorySegment segment;

    Mapping(long id, long frame, long container) {
        this.id = id;
        this.frame = frame;
        this.container = container;
    }
}
