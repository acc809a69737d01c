package io.hashkernel.kernel;

/**
 * Why a kernel call failed. The kernel's calls never throw for a refused request: they return a
 * {@link Result.Err} with one of these and a message that says what was wrong and what is allowed.
 */
public enum KernelError {
    /** An argument is out of its range (a negative quota, a size of zero, a null). */
    INVALID_ARGUMENT,
    /** The container, domain, frame or object named does not exist (or no longer does). */
    NO_SUCH_OBJECT,
    /** The container does not own the frame or object it names. */
    NOT_OWNER,
    /** A quota of the container (or of an ancestor, when creating a child) would be exceeded. */
    QUOTA_EXCEEDED,
    /** The frame pool has no free memory of the size (or contiguity) asked for. */
    OUT_OF_MEMORY,
    /** The domain is dead: it failed, or was killed, and has not been (or cannot be) restarted. */
    DOMAIN_DEAD,
    /** The call failed inside the domain; the domain was marked dead and its memory revoked. */
    DOMAIN_FAILED,
    /** The operation does not apply in the object's current state (a superpage not split, say). */
    INVALID_STATE,
    /** The kernel is closed. */
    KERNEL_CLOSED,
    /** The capability slot names nothing in the caller's table: never given, deleted, or forged. */
    NO_SUCH_CAPABILITY,
    /** The capability names an object that no longer exists (an endpoint destroyed, its process killed). */
    STALE_CAPABILITY,
    /** The capability lacks a right the call needs (read to receive, write to send, grant to pass it on). */
    NO_RIGHTS,
    /** A page of the virtual range asked for is already mapped (Atmosphere's {@code ErrorVaInUse}). */
    VA_IN_USE,
    /** No page is mapped at the virtual address. */
    NOT_MAPPED,
    /** A non-blocking send found the endpoint full, or a non-blocking receive found it empty. */
    WOULD_BLOCK,
    /** A blocking call's time ran out before it could complete. */
    TIMED_OUT,
    /** The calling kernel thread was killed while the call blocked. */
    THREAD_KILLED
}
