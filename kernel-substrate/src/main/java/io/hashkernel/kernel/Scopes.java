package io.hashkernel.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The kernel's one restricted FFM call: a slice of the pool re-scoped to the arena that revokes it. */
final class Scopes {
    private Scopes() {
    }

    /**
     * {@code slice} (of the kernel's own pool mapping) as a segment of {@code arena}: it throws
     * {@link IllegalStateException} on access once the arena is closed, while the kernel's view
     * stays valid.
     */
    @SuppressWarnings("restricted")
    static MemorySegment revocable(MemorySegment slice, Arena arena) {
        return slice.reinterpret(arena, null);
    }
}
