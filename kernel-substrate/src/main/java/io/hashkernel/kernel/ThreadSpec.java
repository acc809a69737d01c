package io.hashkernel.kernel;

import java.util.Objects;

/**
 * What a kernel thread runs: a name, the CPU it is pinned to (through {@code numa}; {@link #ANY_CPU}
 * leaves it to the scheduler), how it idles between duty cycles that found no work, and its body.
 *
 * @param name for messages and the platform thread's name
 * @param cpu  an online CPU, or {@link #ANY_CPU}
 * @param idle how it waits when a duty cycle did no work
 * @param body its duty cycle
 */
public record ThreadSpec(String name, int cpu, Idle idle, Body body) {
    /** No pinning. */
    public static final int ANY_CPU = -1;

    public ThreadSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(idle, "idle");
        Objects.requireNonNull(body, "body");
    }

    /** A thread of {@code body}, not pinned, backing off when idle. */
    public static ThreadSpec of(String name, Body body) {
        return new ThreadSpec(name, ANY_CPU, Idle.BACKOFF, body);
    }

    /** This spec pinned to {@code cpu}. */
    public ThreadSpec pinnedTo(int cpu) {
        return new ThreadSpec(name, cpu, idle, body);
    }

    /** This spec idling as {@code idle} says. */
    public ThreadSpec idling(Idle idle) {
        return new ThreadSpec(name, cpu, idle, body);
    }

    /**
     * One duty cycle of a kernel thread (as Agrona's {@code Agent.doWork}): it does some work and
     * says how much; 0 makes the thread idle before the next cycle. Anything it throws kills the
     * thread (not its process), and {@link KernelThread#failure()} keeps it.
     */
    @FunctionalInterface
    public interface Body {
        /** Does one cycle of work; returns how much was done (0: none, idle a while). */
        int doWork() throws Exception;
    }

    /** How a thread waits after a duty cycle that did no work (Agrona's idle strategies). */
    public enum Idle {
        /** Spin: lowest latency, a whole CPU. */
        BUSY_SPIN,
        /** Yield the CPU each time. */
        YIELD,
        /** Spin, then yield, then park for up to a millisecond. */
        BACKOFF
    }
}
