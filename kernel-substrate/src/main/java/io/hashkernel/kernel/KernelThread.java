package io.hashkernel.kernel;

import org.agrona.concurrent.AgentRunner;

import java.time.Duration;

/**
 * A kernel thread: a platform thread of a {@link KernelProcess}, charged to its container,
 * running its {@link ThreadSpec.Body}'s duty cycles under an Agrona {@code AgentRunner}, pinned
 * to a CPU if its spec says so. A kill ends it at its next duty-cycle boundary or blocking call
 * (Java cannot stop a thread in the middle of its own code); the kernel releases what it holds
 * at once.
 */
public final class KernelThread {
    final long id;
    final KernelProcess process;
    final ThreadSpec spec;
    volatile ThreadState state = ThreadState.SCHEDULED;
    /** Set (under the kernel's lock) when it is killed or its process dies. */
    volatile boolean killed;
    volatile Throwable failure;
    AgentRunner runner;
    /** The platform thread running it. */
    volatile Thread platform;

    KernelThread(long id, KernelProcess process, ThreadSpec spec) {
        this.id = id;
        this.process = process;
        this.spec = spec;
    }

    /** Its id. */
    public long id() {
        return id;
    }

    /** Its name. */
    public String name() {
        return spec.name();
    }

    /** The process it runs in. */
    public KernelProcess process() {
        return process;
    }

    /** Where it is now. */
    public ThreadState state() {
        return killed ? ThreadState.DEAD : state;   // DEAD as soon as kill returns, whatever the thread writes after
    }

    /** What its body threw, if that is what ended it; else null. */
    public Throwable failure() {
        return failure;
    }

    /**
     * Waits up to {@code timeout} for its platform thread to end (after a kill or a failure).
     *
     * @return whether it ended
     * @throws InterruptedException if the caller is interrupted
     */
    public boolean join(Duration timeout) throws InterruptedException {
        Thread t = platform;
        if (t == null) {
            return true;                                 // never started
        }
        t.join(Math.max(1, timeout.toMillis()));
        return !t.isAlive();
    }

    @Override
    public String toString() {
        return "thread " + spec.name() + " (" + id + ", " + state + ")";
    }
}
