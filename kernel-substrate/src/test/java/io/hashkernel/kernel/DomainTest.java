package io.hashkernel.kernel;

import io.hashkernel.table.ConcurrentLongLongTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Domains: calls, failures that revoke memory and restart, and tables living in a domain. */
class DomainTest {
    /** A service keeping a counter in its own memory, and a table in its frames. */
    interface Counter {
        long increment();

        long get();

        /** Throws in the middle of a call, after writing to its memory. */
        long crash();

        MemorySegment leak();

        long putAndGet(long key, long value);

        long lookup(long key);
    }

    static final class CounterService implements Counter {
        final MemorySegment cell;
        final ConcurrentLongLongTable table;

        CounterService(DomainContext ctx) {
            cell = ctx.allocate(8, 8);
            table = ConcurrentLongLongTable.builder().capacity(1024).memory(ctx.memory()).build();
        }

        @Override
        public long increment() {
            long v = cell.get(ValueLayout.JAVA_LONG, 0) + 1;
            cell.set(ValueLayout.JAVA_LONG, 0, v);
            return v;
        }

        @Override
        public long get() {
            return cell.get(ValueLayout.JAVA_LONG, 0);
        }

        @Override
        public long crash() {
            increment();
            throw new IllegalStateException("the service broke mid-call");
        }

        @Override
        public MemorySegment leak() {
            return cell;
        }

        @Override
        public long lookup(long key) {
            return table.get(key);
        }

        @Override
        public long putAndGet(long key, long value) {
            table.put(key, value);
            return table.get(key);
        }
    }

    private Kernel kernel;
    private ContainerId container;

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(8 * FrameSize.HUGE.bytes()).build();
        container = kernel.newContainer(kernel.root(), new Quota(64, 4, 8)).orElseThrow();
    }

    @AfterEach
    void close() {
        assertEquals(List.of(), kernel.checkInvariants());
        kernel.close();
    }

    private Domain<Counter> counter(RestartPolicy restart) {
        return kernel.newDomain(container, new DomainSpec<>("counter", Counter.class, CounterService::new, restart))
                .orElseThrow();
    }

    @Test
    void aDomainThatThrowsMidCallIsRevokedAndRestarts() {
        Domain<Counter> d = counter(RestartPolicy.always());
        assertEquals(1L, d.call(Counter::increment).orElseThrow());
        assertEquals(42L, d.call(c -> c.putAndGet(7, 42)).orElseThrow());
        MemorySegment leaked = d.call(Counter::leak).orElseThrow();
        assertEquals(1L, leaked.get(ValueLayout.JAVA_LONG, 0), "alive, its memory can be read");
        long held = kernel.usage(container).orElseThrow().hugeFrames();

        Result<Long> r = d.call(Counter::crash);
        Result.Err<?> e = assertInstanceOf(Result.Err.class, r);
        assertEquals(KernelError.DOMAIN_FAILED, e.error());
        assertEquals("the service broke mid-call", e.cause().getMessage());
        assertThrows(IllegalStateException.class, () -> leaked.get(ValueLayout.JAVA_LONG, 0), "revoked");
        assertEquals(List.of(), kernel.checkInvariants());

        assertTrue(d.isAlive());
        assertEquals(1, d.restarts());
        assertEquals(1L, d.call(Counter::increment).orElseThrow(), "the restart starts from fresh, zeroed memory");
        assertEquals(0L, d.call(c -> c.lookup(7)).orElseThrow(), "the restart's table is new");
        assertEquals(held, kernel.usage(container).orElseThrow().hugeFrames(), "the old frames went back");
        assertEquals(6, d.calls());
        assertEquals(1, d.failures());
    }

    @Test
    void aDomainThatMayNotRestartStaysDeadAndHoldsNothing() {
        Domain<Counter> d = counter(RestartPolicy.never());
        long free = kernel.freeFrames();
        d.call(Counter::increment).orElseThrow();
        assertEquals(KernelError.DOMAIN_FAILED, d.call(Counter::crash).error());
        assertFalse(d.isAlive());
        Result<Long> dead = d.call(Counter::get);
        assertEquals(KernelError.DOMAIN_DEAD, dead.error());
        Kernel.Usage u = kernel.usage(container).orElseThrow();
        assertEquals(0, u.smallFrames() + u.hugeFrames());
        assertTrue(kernel.freeFrames() > free, "the factory's frames are back too");
        assertEquals(1, u.objects(), "the dead domain is still an object until killed");
        assertTrue(kernel.killDomain(d).isOk());
    }

    @Test
    void killingTheContainerKillsItsDomains() {
        Domain<Counter> d = counter(RestartPolicy.always());
        MemorySegment leaked = d.call(Counter::leak).orElseThrow();
        assertTrue(kernel.killContainer(container).isOk());
        assertFalse(d.isAlive());
        assertFalse(kernel.exists(d));
        assertEquals(KernelError.DOMAIN_DEAD, d.call(Counter::get).error());
        assertThrows(IllegalStateException.class, () -> leaked.get(ValueLayout.JAVA_LONG, 0));
        assertEquals(KernelError.NO_SUCH_OBJECT, kernel.killDomain(d).error());
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
    }

    @Test
    void aFactoryThatFailsLeavesNothing() {
        AtomicReference<MemorySegment> got = new AtomicReference<>();
        Result<Domain<Counter>> r = kernel.newDomain(container, new DomainSpec<>("broken", Counter.class, ctx -> {
            got.set(ctx.allocate(4096, 4096));
            throw new IllegalArgumentException("cannot start");
        }, RestartPolicy.always()));
        assertEquals(KernelError.DOMAIN_FAILED, r.error());
        assertThrows(IllegalStateException.class, () -> got.get().get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(new Kernel.Usage(new Quota(64, 4, 8), 0, 0, 0, new Quota(0, 0, 0)), kernel.usage(container).orElseThrow());
    }

    @Test
    void domainMemoryIsChargedAndQuotaErrorsNameTheContainer() {
        AtomicReference<DomainContext> context = new AtomicReference<>();
        Domain<Runnable> d = kernel.newDomain(container, new DomainSpec<>("mem", Runnable.class, ctx -> {
            context.set(ctx);
            return () -> { };
        }, RestartPolicy.never())).orElseThrow();
        DomainContext ctx = context.get();
        MemorySegment big = ctx.allocate(5 << 20, 64);           // three superpages
        assertEquals(5 << 20, big.byteSize());
        assertEquals(3, kernel.usage(container).orElseThrow().hugeFrames());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ctx.allocate(4 << 20, 64));
        assertTrue(e.getMessage().contains("container " + container.id()) && e.getMessage().contains("2 MiB"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ctx.allocate(0, 8));
        assertThrows(IllegalArgumentException.class, () -> ctx.allocate(8, 3));
        assertThrows(IllegalArgumentException.class, () -> ctx.free(big.asSlice(0, 4096)), "a slice is not an allocation");
        assertThrows(IllegalArgumentException.class, () -> ctx.free(MemorySegment.ofArray(new byte[8])));
        ctx.free(big);
        assertThrows(IllegalStateException.class, () -> big.get(ValueLayout.JAVA_BYTE, 0), "freed memory is revoked");
        assertThrows(IllegalArgumentException.class, () -> ctx.free(big), "freed once");
        assertEquals(0, kernel.usage(container).orElseThrow().hugeFrames());
        assertTrue(kernel.killDomain(d).isOk());
        assertThrows(IllegalStateException.class, () -> ctx.allocate(8, 8), "a dead incarnation allocates nothing");
    }

    @Test
    void badDomainSpecsAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new DomainSpec<>("x", String.class, ctx -> "", RestartPolicy.never()), "not an interface");
        assertThrows(IllegalArgumentException.class, () -> new RestartPolicy(-1));
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.newDomain(null, null).error());
        Result<Domain<Runnable>> wrong = kernel.newDomain(container, new DomainSpec<>("wrong", Runnable.class,
                ctx -> null, RestartPolicy.never()));
        assertEquals(KernelError.DOMAIN_FAILED, wrong.error());
        ContainerId tiny = kernel.newContainer(kernel.root(), new Quota(0, 0, 1)).orElseThrow();
        kernel.newDomain(tiny, new DomainSpec<>("one", Runnable.class, ctx -> () -> { }, RestartPolicy.never())).orElseThrow();
        Result<Domain<Runnable>> two = kernel.newDomain(tiny, new DomainSpec<>("two", Runnable.class, ctx -> () -> { },
                RestartPolicy.never()));
        assertEquals(KernelError.QUOTA_EXCEEDED, two.error());
    }

    /**
     * Calls racing failures: every call returns its value or an error, each failure revokes the
     * incarnation it hit, and the domain keeps serving. A call that reads revoked memory fails:
     * it never returns a value read from a dead incarnation's memory.
     */
    @Test
    void callsRacingFailuresGetAValueOrAnError() {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            Domain<Counter> d = counter(RestartPolicy.always());
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong values = new AtomicLong();
            AtomicLong failed = new AtomicLong();
            AtomicLong dead = new AtomicLong();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    while (!stop.get()) {
                        Result<Long> r = d.call(Counter::increment);
                        if (r instanceof Result.Ok<Long>(Long v)) {
                            assertTrue(v >= 1, "a value of live memory");
                            values.incrementAndGet();
                        } else if (r.error() == KernelError.DOMAIN_FAILED) {
                            failed.incrementAndGet();       // it read memory revoked under it
                        } else {
                            assertEquals(KernelError.DOMAIN_DEAD, r.error(), r.toString());
                            dead.incrementAndGet();         // between a death and its restart
                        }
                    }
                } catch (Throwable t) {
                    unexpected.set(t);
                }
            });
            for (int i = 0; i < 200; i++) {
                for (long seen = values.get(); values.get() == seen && unexpected.get() == null; ) {
                    Thread.onSpinWait();                     // a value from each incarnation before it crashes
                }
                assertEquals(KernelError.DOMAIN_FAILED, d.call(Counter::crash).error());
            }
            stop.set(true);
            caller.join();
            assertNull(unexpected.get());
            assertTrue(values.get() >= 200);
            assertTrue(d.isAlive());
            assertEquals(200, d.restarts(), "each crash killed its incarnation once; a call failing in it after did not");
            assertEquals(200 + failed.get(), d.failures());
            assertEquals(values.get() + failed.get() + 200, d.calls(), "every call that found it alive was counted");
        });
    }
}
