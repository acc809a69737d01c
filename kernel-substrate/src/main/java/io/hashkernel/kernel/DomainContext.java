package io.hashkernel.kernel;

import io.hashkernel.table.spi.MemoryProvider;

import java.lang.foreign.MemorySegment;

/**
 * What domain code gets from the kernel: memory from its container's frames, scoped to this
 * incarnation of the domain. Every segment it hands out is revoked (throws
 * {@link IllegalStateException} on access) when the segment is freed or the domain dies; the
 * frames go back to the pool, zeroed before their next use.
 */
public interface DomainContext {
    /** The domain's name. */
    String name();

    /** Which incarnation this is: 0 at creation, one more at each restart. */
    int incarnation();

    /**
     * {@code bytes} zero-filled bytes aligned to {@code alignment}: one 4 KiB frame for up to
     * 4 KiB, else as many contiguous 2 MiB frames as it takes, charged to the domain's container.
     *
     * @throws IllegalArgumentException if the request is invalid, a quota is exhausted or the
     *                                  pool has no such memory (the message names which)
     * @throws IllegalStateException    if the domain is dead
     */
    MemorySegment allocate(long bytes, long alignment);

    /**
     * Frees a segment {@link #allocate} returned (the whole of it), revoking it.
     *
     * @throws IllegalArgumentException if it is not a live allocation of this domain
     */
    void free(MemorySegment segment);

    /**
     * The domain's memory as a table's {@link MemoryProvider}: a table built with it lives in
     * the domain's frames and dies with the domain (closing the table afterwards is harmless).
     */
    MemoryProvider memory();

    /**
     * Has {@code resource} closed when this incarnation ends (it fails, is killed, or the kernel
     * closes), under the kernel's lock, before its memory goes back: for what lives outside the
     * frames, such as an open file whose lock a restarted incarnation needs. Resources close last
     * registered first; what they throw is dropped. Registered after the end, it closes at once.
     */
    void closeOnRevoke(AutoCloseable resource);
}
