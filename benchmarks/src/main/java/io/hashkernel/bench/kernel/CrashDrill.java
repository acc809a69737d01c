package io.hashkernel.bench.kernel;

import io.hashkernel.kernel.ContainerId;
import io.hashkernel.kernel.Domain;
import io.hashkernel.kernel.DomainSpec;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.Quota;
import io.hashkernel.kernel.RestartPolicy;
import io.hashkernel.kernel.Result;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Clients call a domain through its generated proxy while, optionally, the domain is crashed at a
 * fixed interval: every call must come back as a result or an error, the kernel's invariants
 * must hold after every crash, and no frame may be left held once the domain's container is
 * killed. Reports the answered calls per second.
 */
public final class CrashDrill {
    private CrashDrill() {
    }

    /**
     * What a drill saw.
     *
     * @param ok          calls that returned their value
     * @param failed      calls that failed with the domain ({@code DOMAIN_FAILED}: they met a crash)
     * @param dead        calls that found it between a crash and its restart ({@code DOMAIN_DEAD})
     * @param escaped     calls that threw instead of returning a result (must be 0)
     * @param crashes     crashes made
     * @param violations  invariant violations seen after a crash or at the end (must be empty)
     * @param leaked      4 KiB frames still held after the container was killed (must be 0)
     * @param seconds     how long the clients called
     */
    public record Report(long ok, long failed, long dead, long escaped, int crashes, List<String> violations,
                         long leaked, double seconds) {
        /** Calls answered (with a value or an error) per second. */
        public double answeredPerSecond() {
            return (ok + failed + dead) / seconds;
        }

        /** Calls that returned their value, per second. */
        public double okPerSecond() {
            return ok / seconds;
        }
    }

    /**
     * Runs {@code clients} client threads for {@code duration}, crashing the domain every
     * {@code crashEvery} (never, if null).
     */
    public static Report run(Duration duration, Duration crashEvery, int clients) {
        if (clients < 1 || clients > 64) {
            throw new IllegalArgumentException("clients must be between 1 and 64, was " + clients);
        }
        try (Kernel kernel = Kernel.builder().memoryBytes(64L << 20).build()) {
            ContainerId container = kernel.newContainer(kernel.root(), new Quota(4096, 8, 64)).orElseThrow();
            Domain<Runnable> caller = kernel.newDomain(container, new DomainSpec<>("caller", Runnable.class,
                    ctx -> () -> { }, RestartPolicy.never())).orElseThrow();
            Domain<Echo> domain = kernel.newDomain(container, new DomainSpec<>("echo", Echo.class,
                    ctx -> new EchoService(ctx, caller), RestartPolicy.always())).orElseThrow();
            EchoProxy echo = new EchoProxy(domain);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ok = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            AtomicLong dead = new AtomicLong();
            AtomicLong escaped = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                long seed = c;
                threads.add(Thread.ofPlatform().name("client-" + c).start(() -> {
                    long n = 0, okN = 0, failedN = 0, deadN = 0, escapedN = 0;
                    while (!stop.get()) {
                        long x = seed << 32 | n++;
                        try {
                            Result<Long> r = echo.store(x);
                            if (r instanceof Result.Ok<Long>(Long v) && v == x) {
                                okN++;
                            } else if (r.error() == KernelError.DOMAIN_FAILED) {
                                failedN++;
                            } else if (r.error() == KernelError.DOMAIN_DEAD) {
                                deadN++;
                            } else {
                                escapedN++;          // a wrong value or another error: not an answer
                            }
                        } catch (Throwable t) {
                            escapedN++;
                        }
                    }
                    ok.addAndGet(okN);
                    failed.addAndGet(failedN);
                    dead.addAndGet(deadN);
                    escaped.addAndGet(escapedN);
                }));
            }
            List<String> violations = new ArrayList<>();
            int crashes = 0;
            long start = System.nanoTime();
            long end = start + duration.toNanos();
            long next = crashEvery == null ? Long.MAX_VALUE : start + crashEvery.toNanos();
            for (long now = start; now < end; now = System.nanoTime()) {
                if (now >= next) {
                    if (echo.crash().error() != KernelError.DOMAIN_FAILED) {
                        violations.add("crash " + crashes + " did not fail the domain");
                    }
                    crashes++;
                    violations.addAll(kernel.checkInvariants());
                    next += crashEvery.toNanos();
                }
                LockSupport.parkNanos(Math.min(next, end) - now);
            }
            stop.set(true);
            double seconds = (System.nanoTime() - start) / 1e9;
            for (Thread t : threads) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while joining the clients", e);
                }
            }
            violations.addAll(kernel.checkInvariants());
            kernel.killContainer(container).orElseThrow();
            violations.addAll(kernel.checkInvariants());
            long leaked = kernel.totalFrames() - kernel.freeFrames();
            return new Report(ok.get(), failed.get(), dead.get(), escaped.get(), crashes, List.copyOf(violations),
                    leaked, seconds);
        }
    }
}
