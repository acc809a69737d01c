package io.hashkernel.kernel;

/** Where a {@link KernelThread} is. */
public enum ThreadState {
    /** Runnable: started, or between two duty cycles (idling, per its idle strategy). */
    SCHEDULED,
    /** In a duty cycle of its body. */
    RUNNING,
    /** In a blocking send or receive, waiting for an endpoint. */
    BLOCKED,
    /** Killed, failed, or its process or container died: it runs no more duty cycles. */
    DEAD
}
