package io.hashkernel.kernel;

import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * An isolation domain: a service built by its {@link DomainSpec}'s factory, with memory of its
 * own, called through {@link #call}. A call that throws anything at all comes back as
 * {@link KernelError#DOMAIN_FAILED}; the domain is then dead: every segment it was given is
 * revoked (throws on access), its frames are back in the pool, and its restart policy may
 * recreate it for the next call.
 *
 * <p>Thread-safe: calls run concurrently, without the kernel's lock. A call racing the domain's
 * death returns either its result or an error, never a value from a half-dead domain's memory
 * (reading revoked memory throws inside the call, which then fails).
 *
 * @param <S> the service interface
 */
public final class Domain<S> {
    final Kernel kernel;
    final long id;
    final long container;
    final DomainSpec<S> spec;
    /** The running incarnation, or null while dead. Written under the kernel's lock. */
    volatile Incarnation<S> live;
    /** Restarts so far. Written under the kernel's lock. */
    volatile int restarts;
    /** Whether it was killed (a killed domain is never restarted). Written under the kernel's lock. */
    boolean killed;
    /** The context of an incarnation whose factory is running, or null. Under the kernel's lock. */
    Kernel.Context starting;
    private final LongAdder calls = new LongAdder();
    private final LongAdder failures = new LongAdder();

    Domain(Kernel kernel, long id, long container, DomainSpec<S> spec) {
        this.kernel = kernel;
        this.id = id;
        this.container = container;
        this.spec = spec;
    }

    /** One life of the domain: its service and the context its memory comes from. */
    record Incarnation<S>(int number, S service, Kernel.Context context) {
    }

    /**
     * Calls {@code body} on the domain's service: its value, or {@link KernelError#DOMAIN_DEAD}
     * if the domain is dead, or {@link KernelError#DOMAIN_FAILED} (with the cause) if it threw, in
     * which case the domain is dead and recreated where its policy allows (one try: a factory
     * that fails again leaves it dead). A null body is {@link KernelError#INVALID_ARGUMENT}.
     */
    public <R> Result<R> call(Function<? super S, ? extends R> body) {
        if (body == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "call needs a body, was null");
        }
        Incarnation<S> inc = live;
        if (inc == null) {
            return Result.err(KernelError.DOMAIN_DEAD, "domain " + spec.name() + " (" + id + ") is dead"
                    + (killed ? " (killed)" : ", restarts used: " + restarts + " of " + spec.restart().maxRestarts()));
        }
        calls.increment();
        try {
            return Result.ok(body.apply(inc.service()));
        } catch (Throwable t) {
            failures.increment();
            kernel.failed(this, inc, t);
            return new Result.Err<>(KernelError.DOMAIN_FAILED, "domain " + spec.name() + " (" + id
                    + ") failed in a call and was revoked" + (live != null ? "; it has restarted" : ""), t);
        }
    }

    /** The domain's id. */
    public long id() {
        return id;
    }

    /** The domain's name. */
    public String name() {
        return spec.name();
    }

    /** The container it is charged to. */
    public ContainerId container() {
        return new ContainerId(container);
    }

    /** Whether it runs (has a live incarnation). */
    public boolean isAlive() {
        return live != null;
    }

    /** How many times it was recreated after a failure. */
    public int restarts() {
        return restarts;
    }

    /** Calls made (each one that found it alive). */
    public long calls() {
        return calls.sum();
    }

    /** Calls that failed inside it. */
    public long failures() {
        return failures.sum();
    }

    @Override
    public String toString() {
        return "Domain[" + spec.name() + ", id=" + id + (live != null ? ", incarnation " + live.number() : ", dead") + "]";
    }
}
