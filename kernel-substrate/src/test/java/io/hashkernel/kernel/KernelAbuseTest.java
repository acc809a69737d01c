package io.hashkernel.kernel;

import io.hashkernel.table.ConcurrentLongLongTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The kernel under abuse: sizes and quotas at the limits of {@code long}, factories that kill
 * their own domain or container or close the kernel, restarts that keep failing, memory held by a
 * JDK I/O operation while it is revoked, closing while calls run, and many threads at once. Every
 * kernel call returns a result, nothing reaches freed memory, the JVM never faults, and the
 * invariants hold.
 */
class KernelAbuseTest {
    private Kernel kernel;
    private ContainerId container;

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(8 * FrameSize.HUGE.bytes()).build();
        container = kernel.newContainer(kernel.root(), new Quota(64, 4, 8)).orElseThrow();
    }

    @AfterEach
    void close() {
        kernel.close();
    }

    /** A domain that hands out its context, so the test can allocate as the domain. */
    private Domain<Runnable> plain(ContainerId in, AtomicReference<DomainContext> ctx) {
        return kernel.newDomain(in, new DomainSpec<>("plain", Runnable.class, c -> {
            ctx.set(c);
            return () -> { };
        }, RestartPolicy.never())).orElseThrow();
    }

    // ------------------------------------------------------------------ 1. bad input throws

    /** allocateShared with a size near Long.MAX_VALUE: an error, not an overflowed frame count. */
    @Test
    void allocateSharedWithHugeSizeReturnsAnError() {
        Domain<Runnable> d = plain(container, new AtomicReference<>());
        Kernel.Usage before = kernel.usage(container).orElseThrow();
        Result<XRef> r = assertDoesNotThrow(() -> kernel.allocateShared(d, Long.MAX_VALUE),
                "a kernel call threw on bad input");
        assertFalse(r.isOk());
        assertEquals(before, kernel.usage(container).orElseThrow(), "a refused request changes nothing");
        assertEquals(List.of(), kernel.checkInvariants());
    }

    /** The same size through DomainContext.allocate: IllegalArgumentException, and nothing stays charged. */
    @Test
    void domainAllocateWithHugeSizeIsRefusedAndLeaksNothing() {
        AtomicReference<DomainContext> ctx = new AtomicReference<>();
        Domain<Runnable> d = plain(container, ctx);
        assertThrows(IllegalArgumentException.class, () -> ctx.get().allocate(Long.MAX_VALUE, 8),
                "documented: IllegalArgumentException for an invalid request");
        assertEquals(0, kernel.usage(container).orElseThrow().hugeFrames(), "nothing charged for a refused request");
        assertTrue(kernel.killDomain(d).isOk());
        assertEquals(0, kernel.usage(container).orElseThrow().hugeFrames(), "the dead domain's container holds a frame nobody can free");
    }

    /** A quota of Long.MAX_VALUE objects is refused (the check cannot overflow). */
    @Test
    void aChildQuotaOfMaxObjectsIsRefused() {
        Result<ContainerId> r = kernel.newContainer(kernel.root(), new Quota(0, 0, Long.MAX_VALUE));
        assertEquals(KernelError.QUOTA_EXCEEDED, r.error(), "got " + r);
        assertEquals(List.of(), kernel.checkInvariants());
    }

    /** Domain.call(null) is INVALID_ARGUMENT and leaves the domain alive. */
    @Test
    void aNullBodyIsInvalidArgumentAndDoesNotKillTheDomain() {
        Domain<Runnable> d = plain(container, new AtomicReference<>());
        Result<Object> r = d.call(null);
        assertEquals(KernelError.INVALID_ARGUMENT, r.error(), "got " + r);
        assertTrue(d.isAlive());
    }

    // ------------------------------------------------------------ 3. reentrant factories

    /**
     * A factory that allocates, then kills its own container (reentrantly, under the kernel lock):
     * the kill revokes what the factory allocated, newDomain fails, and no segment reaches the
     * frame that the next allocation gets.
     */
    @Test
    void aFactoryKillingItsContainerLeavesNoLiveSegmentOnFreedFrames() {
        AtomicReference<MemorySegment> seg = new AtomicReference<>();
        Result<Domain<Runnable>> r = kernel.newDomain(container, new DomainSpec<>("suicidal", Runnable.class, c -> {
            MemorySegment s = c.allocate(4096, 8);
            seg.set(s);
            kernel.killContainer(container).orElseThrow();
            return () -> s.set(ValueLayout.JAVA_LONG, 0, 0xBAD);
        }, RestartPolicy.never()));
        List<String> violations = kernel.checkInvariants();

        // Another container gets the freed frame and stores a secret in it.
        ContainerId other = kernel.newContainer(kernel.root(), new Quota(64, 4, 8)).orElseThrow();
        AtomicReference<DomainContext> otherCtx = new AtomicReference<>();
        plain(other, otherCtx);
        MemorySegment victim = otherCtx.get().allocate(4096, 8);
        victim.set(ValueLayout.JAVA_LONG, 0, 0x5EC2E7);
        boolean sameFrame = victim.address() == seg.get().address();
        long seen;
        try {
            seen = seg.get().get(ValueLayout.JAVA_LONG, 0);
        } catch (IllegalStateException revoked) {
            seen = -1;
        }
        if (r.isOk()) {
            r.orElseThrow().call(x -> {
                x.run();
                return null;
            });                                                   // a write through a revoked segment must throw
        }
        long after = victim.get(ValueLayout.JAVA_LONG, 0);
        assertTrue(!r.isOk() && violations.isEmpty() && seen == -1 && after == 0x5EC2E7,
                "newDomain returned " + r + "; invariants " + violations + "; the dead container's segment "
                        + (sameFrame ? "aliases" : "does not alias") + " the other domain's new frame and reads "
                        + Long.toHexString(seen) + "; the other domain's value is now " + Long.toHexString(after));
    }

    /** A factory that kills its own domain during a restart: the domain stays dead. */
    @Test
    void aDomainKilledByItsFactoryDuringARestartStaysDead() {
        AtomicReference<Domain<Runnable>> self = new AtomicReference<>();
        Domain<Runnable> d = kernel.newDomain(container, new DomainSpec<Runnable>("k", Runnable.class, c -> {
            if (c.incarnation() > 0) {
                kernel.killDomain(self.get()).orElseThrow();
            }
            return () -> {
                throw new IllegalStateException("crash");
            };
        }, RestartPolicy.always())).orElseThrow();
        self.set(d);
        assertEquals(KernelError.DOMAIN_FAILED, d.call(x -> {
            x.run();
            return null;
        }).error());
        assertFalse(d.isAlive(), "killDomain: 'it is never restarted', yet it runs incarnation " + d.restarts());
        assertEquals(List.of(), kernel.checkInvariants());
    }

    /** A factory that closes the kernel (reentrantly): newDomain must return an error, not throw. */
    @Test
    void aFactoryClosingTheKernelGetsAnError() {
        Result<Domain<Runnable>> r = assertDoesNotThrow(() -> kernel.newDomain(container,
                new DomainSpec<Runnable>("closer", Runnable.class, c -> {
                    kernel.close();
                    return () -> { };
                }, RestartPolicy.never())));
        assertFalse(r.isOk(), "a domain of a closed kernel: " + r);
    }

    // -------------------------------------------------------- 5. restarts under the lock

    /**
     * RestartPolicy.always() and a factory that fails at restart (its container is out of memory,
     * say): one try a failure, so other kernel calls do not wait behind a retry loop.
     */
    @Test
    void aFactoryThatKeepsFailingAtRestartDoesNotHoldTheKernelLock() throws Exception {
        AtomicBoolean healed = new AtomicBoolean();
        AtomicInteger attempts = new AtomicInteger();
        Domain<Runnable> d = kernel.newDomain(container, new DomainSpec<Runnable>("flaky", Runnable.class, c -> {
            if (c.incarnation() > 0 && !healed.get()) {
                attempts.incrementAndGet();
                throw new IllegalStateException("cannot start now");
            }
            return () -> {
                throw new IllegalStateException("crash");
            };
        }, RestartPolicy.always())).orElseThrow();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<Result<Object>> crash = pool.submit(() -> d.call(x -> {
                x.run();
                return null;
            }));
            Thread.sleep(300);
            Future<Long> other = pool.submit(kernel::freeFrames);
            boolean blocked;
            try {
                other.get(2, TimeUnit.SECONDS);
                blocked = false;
            } catch (TimeoutException e) {
                blocked = true;
            }
            int tries = attempts.get();
            healed.set(true);                                     // lets the loop end
            crash.get(10, TimeUnit.SECONDS);
            other.get(10, TimeUnit.SECONDS);
            assertFalse(blocked, "freeFrames() waited > 2 s for the kernel lock while failed() ran the factory "
                    + tries + " times in a row");
        } finally {
            healed.set(true);
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------- 2. revocation that cannot close

    /**
     * A domain's segment used as the buffer of a blocking channel write (the JDK acquires the
     * segment's session for the write): killDomain cannot close its arena yet, so the frames wait
     * in quarantine, and the kill still completes without throwing.
     */
    @Test
    void killingADomainWhoseMemoryIsInAnIoCallDoesNotThrow() throws Exception {
        AtomicReference<DomainContext> ctx = new AtomicReference<>();
        Domain<Runnable> d = plain(container, ctx);
        MemorySegment seg = ctx.get().allocate(FrameSize.HUGE.bytes(), 8);
        Pipe pipe = Pipe.open();
        CountDownLatch started = new CountDownLatch(1);
        Thread writer = new Thread(() -> {
            started.countDown();
            try {
                ByteBuffer b = seg.asByteBuffer();
                while (b.hasRemaining()) {
                    pipe.sink().write(b);                         // blocks: nobody reads the pipe yet
                }
            } catch (Exception ignored) {
                // revoked or closed
            }
        });
        writer.start();
        started.await();
        Thread.sleep(300);
        Throwable thrown = null;
        Result<Void> r = null;
        try {
            r = kernel.killDomain(d);
        } catch (Throwable t) {
            thrown = t;
        } finally {
            Thread drain = new Thread(() -> {
                ByteBuffer sinkhole = ByteBuffer.allocate(1 << 16);
                try {
                    while (pipe.source().read(sinkhole.clear()) > 0) {
                        // drain
                    }
                } catch (Exception ignored) {
                    // closed
                }
            });
            drain.setDaemon(true);
            drain.start();
            writer.join(5000);
            pipe.sink().close();
        }
        List<String> violations = kernel.checkInvariants();
        assertTrue(thrown == null && r != null && r.isOk() && violations.isEmpty(),
                "killDomain threw " + thrown + ", returned " + r + "; invariants after: " + violations);
    }

    // -------------------------------------------------------------- after kernel.close()

    /** A table built on domain memory, closed after the kernel: "its close() afterwards is harmless". */
    @Test
    void closingADomainTableAfterTheKernelClosedIsHarmless() {
        AtomicReference<ConcurrentLongLongTable> table = new AtomicReference<>();
        kernel.newDomain(container, new DomainSpec<Runnable>("t", Runnable.class, c -> {
            table.set(ConcurrentLongLongTable.builder().capacity(256).memory(c.memory()).build());
            return () -> { };
        }, RestartPolicy.never())).orElseThrow();
        kernel.close();
        assertThrows(IllegalStateException.class, () -> table.get().get(1), "revoked");
        assertDoesNotThrow(() -> table.get().close());
    }

    /** A factory that kills its own container: the creation fails, and nothing stays held. */
    @Test
    void aFactoryKillingItsContainerFailsTheCreation() {
        Result<Domain<Runnable>> r = kernel.newDomain(container, new DomainSpec<Runnable>("suicidal", Runnable.class, c -> {
            c.allocate(4096, 8);
            kernel.killContainer(container).orElseThrow();
            return () -> {
                throw new IllegalStateException("crash");
            };
        }, RestartPolicy.never()));
        assertEquals(KernelError.DOMAIN_FAILED, r.error(), "no domain that the kernel no longer knows: " + r);
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
    }

    /**
     * A segment given to a factory that killed its own container is revoked, so after
     * kernel.close() unmaps the pool an access throws instead of faulting. Run in a child JVM, so
     * a fault would fail the test rather than end the test run.
     */
    @Test
    void aRevokedSegmentThrowsAfterKernelCloseInsteadOfFaulting() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/hashkernel-hs_err_%p.log", "-cp", cp,
                KeptSegmentMain.class.getName())
                .redirectErrorStream(true).start();
        String out;
        try (var in = p.getInputStream()) {
            out = new String(in.readAllBytes());
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "the child JVM crashed:\n" + out.lines().limit(12).reduce("", (a, b) -> a + b + "\n"));
        assertTrue(out.contains("revoked"), out);
    }

    /** Child JVM of {@link #aRevokedSegmentThrowsAfterKernelCloseInsteadOfFaulting}. */
    public static final class KeptSegmentMain {
        public static void main(String[] args) {
            Kernel k = Kernel.builder().memoryBytes(4 * FrameSize.HUGE.bytes()).build();
            ContainerId c = k.newContainer(k.root(), new Quota(64, 4, 8)).orElseThrow();
            AtomicReference<MemorySegment> kept = new AtomicReference<>();
            k.newDomain(c, new DomainSpec<Runnable>("keeper", Runnable.class, ctx -> {
                kept.set(ctx.allocate(4096, 8));
                k.killContainer(c).orElseThrow();
                return () -> { };
            }, RestartPolicy.never()));
            k.close();
            try {
                System.out.println("read freed memory: " + kept.get().get(ValueLayout.JAVA_LONG, 0));
                System.exit(3);
            } catch (IllegalStateException e) {
                System.out.println("revoked: " + e.getMessage());
            }
        }
    }

    /** kernel.close() while threads use domain memory, a domain table and an XRef: only IllegalStateException. */
    @Test
    void closeWhileCallsRun() {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int round = 0; round < 20; round++) {
                Kernel k = Kernel.builder().memoryBytes(4 * FrameSize.HUGE.bytes()).build();
                ContainerId c = k.newContainer(k.root(), new Quota(128, 2, 8)).orElseThrow();
                AtomicReference<MemorySegment> seg = new AtomicReference<>();
                AtomicReference<io.hashkernel.table.GrowingLongLongTable> grow = new AtomicReference<>();
                Domain<java.util.function.LongSupplier> d = k.newDomain(c, new DomainSpec<java.util.function.LongSupplier>(
                        "x", java.util.function.LongSupplier.class, ctx -> {
                            MemorySegment s = ctx.allocate(64 << 10, 64);
                            seg.set(s);
                            grow.set(io.hashkernel.table.GrowingLongLongTable.builder().capacity(64).memory(ctx.memory()).build());
                            return () -> s.get(ValueLayout.JAVA_LONG, 8);
                        }, RestartPolicy.always())).orElseThrow();
                XRef x = k.allocateShared(d, 4096).orElseThrow();
                AtomicBoolean stop = new AtomicBoolean();
                AtomicReference<Throwable> bad = new AtomicReference<>();
                Thread[] ts = new Thread[3];
                for (int i = 0; i < ts.length; i++) {
                    int role = i;
                    ts[i] = new Thread(() -> {
                        long key = 1;
                        while (!stop.get()) {
                            try {
                                switch (role) {
                                    case 0 -> d.call(java.util.function.LongSupplier::getAsLong);
                                    case 1 -> grow.get().put(key++, 1);
                                    default -> x.getLong(0);
                                }
                            } catch (IllegalStateException expected) {
                                // revoked
                            } catch (Throwable t) {
                                bad.compareAndSet(null, t);
                            }
                        }
                    });
                    ts[i].start();
                }
                Thread.sleep(20);
                k.close();
                Thread.sleep(5);
                stop.set(true);
                for (Thread t : ts) {
                    t.join();
                }
                if (bad.get() != null) {
                    fail(bad.get());
                }
                assertThrows(IllegalStateException.class, () -> seg.get().get(ValueLayout.JAVA_LONG, 0));
            }
        });
    }

    /** moveTo racing borrow from two threads on the same object (each with its own view of the handle). */
    @Test
    void moveRacesBorrow() throws Exception {
        Domain<Runnable> a = plain(container, new AtomicReference<>());
        Domain<Runnable> b = plain(container, new AtomicReference<>());
        for (int i = 0; i < 2000; i++) {
            XRef x = kernel.allocateShared(a, 64).orElseThrow();
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<XRef.Borrow> borrow = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    borrow.set(x.borrow());
                } catch (Exception ignored) {
                    // moved first
                }
            });
            t.start();
            go.countDown();
            Result<XRef> moved = x.moveTo(b);
            t.join();
            assertFalse(moved.isOk() && borrow.get() != null && x.isValid(), "moved while borrowed");
            if (moved.isOk()) {
                assertEquals(null, borrow.get(), "a borrow of the old epoch succeeded after the move");
                assertTrue(moved.orElseThrow().drop().isOk());
            } else {
                assertEquals(KernelError.INVALID_STATE, moved.error());
                borrow.get().close();
                assertTrue(x.drop().isOk());
            }
        }
        assertEquals(List.of(), kernel.checkInvariants());
    }

    // ------------------------------------------------------------------- held up (checks)

    @Test
    void badInputAndStaleHandles() {
        AtomicReference<DomainContext> ctx = new AtomicReference<>();
        Domain<Runnable> d = plain(container, ctx);
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.holderOf(new Frame(-1, FrameSize.SMALL)).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.holderOf(new Frame(1L << 40, FrameSize.HUGE)).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.holderOf(new Frame(0, null)).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.freeFrame(container, new Frame(Long.MIN_VALUE, FrameSize.HUGE)).error());
        assertEquals(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(new ContainerId(-5), new Frame(0, FrameSize.SMALL)).error());
        assertEquals(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(container, new Frame(3, FrameSize.SMALL)).error());
        Frame f = kernel.allocateFrame(container, FrameSize.HUGE).orElseThrow();
        assertEquals(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(container, new Frame(f.number() + 1, FrameSize.SMALL)).error());
        assertEquals(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(container, new Frame(f.number(), FrameSize.SMALL)).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.mergeFrames(container, f).error());
        assertEquals(KernelError.QUOTA_EXCEEDED, kernel.splitFrame(container, f).error(), "64 small < 512");
        assertEquals(KernelError.NOT_OWNER, kernel.freeFrame(kernel.root(), f).error());
        assertTrue(kernel.freeFrame(container, f).isOk());
        assertEquals(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(container, f).error(), "double free refused");
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.newContainer(container, new Quota(-1, 0, 1)).error());
        assertEquals(KernelError.QUOTA_EXCEEDED, kernel.newContainer(container, new Quota(Long.MAX_VALUE, 0, 1)).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.allocateShared(d, 0).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.allocateShared(d, -1).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.allocateShared(d, 1L << 40).error(), "larger than the pool");
        assertThrows(IllegalArgumentException.class, () -> ctx.get().allocate(8, 1L << 22));
        assertThrows(IllegalArgumentException.class, () -> ctx.get().allocate(-8, 8));
        assertThrows(IllegalArgumentException.class, () -> ctx.get().allocate(1L << 40, 8));
        try (Kernel other = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build()) {
            assertEquals(KernelError.INVALID_ARGUMENT, other.killDomain(d).error());
            assertEquals(KernelError.INVALID_ARGUMENT, other.allocateShared(d, 8).error());
        }
        XRef x = kernel.allocateShared(d, 64).orElseThrow();
        ContainerId tight = kernel.newContainer(kernel.root(), new Quota(0, 0, 1)).orElseThrow();
        Domain<Runnable> poor = plain(tight, new AtomicReference<>());
        Kernel.Usage before = kernel.usage(container).orElseThrow();
        assertEquals(KernelError.QUOTA_EXCEEDED, x.moveTo(poor).error());
        assertEquals(before, kernel.usage(container).orElseThrow());
        assertTrue(x.isValid());
        try (XRef.Borrow b = x.borrow()) {
            assertEquals(KernelError.INVALID_STATE, x.moveTo(d).error());
            assertEquals(KernelError.INVALID_STATE, x.drop().error());
            assertThrows(IllegalStateException.class, () -> x.setLong(0, 1));
            assertEquals(0, b.getLong(0));
        }
        XRef y = x.moveTo(d).orElseThrow();
        assertEquals(KernelError.NO_SUCH_OBJECT, x.drop().error());
        assertThrows(IllegalStateException.class, () -> x.getLong(0));
        XRef.Borrow open = y.borrow();                            // left open
        assertTrue(kernel.killDomain(d).isOk());
        assertThrows(IllegalStateException.class, () -> open.getLong(0));
        open.close();
        assertEquals(KernelError.DOMAIN_DEAD, kernel.allocateShared(d, 8).error());
        assertThrows(IllegalStateException.class, () -> ctx.get().allocate(8, 8));
        assertEquals(List.of(), kernel.checkInvariants());
        assertTrue(kernel.killContainer(container).isOk());
        assertTrue(kernel.killContainer(tight).isOk());
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
        kernel.close();
        assertEquals(KernelError.KERNEL_CLOSED, kernel.allocateFrame(kernel.root(), FrameSize.SMALL).error());
        assertEquals(KernelError.KERNEL_CLOSED, kernel.holderOf(new Frame(0, FrameSize.SMALL)).error());
        assertEquals(KernelError.KERNEL_CLOSED, y.drop().error());
    }

    /** Many threads: calls reading domain memory, crashes, kills, restarts, frame allocations, invariant checks. */
    @Test
    void hammer() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            Kernel k = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build();
            try {
                AtomicBoolean stop = new AtomicBoolean();
                AtomicReference<Throwable> problem = new AtomicReference<>();
                AtomicReference<Domain<java.util.function.LongSupplier>> current = new AtomicReference<>();
                AtomicReference<ContainerId> box = new AtomicReference<>();
                Runnable newDomain = () -> {
                    ContainerId c = k.newContainer(k.root(), new Quota(256, 2, 16)).orElseThrow();
                    box.set(c);
                    current.set(k.newDomain(c, new DomainSpec<java.util.function.LongSupplier>("h",
                            java.util.function.LongSupplier.class, ctx -> {
                                MemorySegment s = ctx.allocate(4096, 8);
                                ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(128).memory(ctx.memory()).build();
                                s.set(ValueLayout.JAVA_LONG, 0, 77);
                                t.put(5, 77);
                                return () -> {
                                    long v = s.get(ValueLayout.JAVA_LONG, 0);
                                    long w = t.get(5);
                                    if (v != 77 || w != 77) {
                                        throw new AssertionError("read " + v + "/" + w + " from live memory");
                                    }
                                    return v;
                                };
                            }, new RestartPolicy(1000))).orElseThrow());
                };
                newDomain.run();
                Thread[] threads = new Thread[4];
                for (int i = 0; i < threads.length; i++) {
                    int role = i;
                    threads[i] = new Thread(() -> {
                        try {
                            long n = 0;
                            while (!stop.get()) {
                                n++;
                                Domain<java.util.function.LongSupplier> d = current.get();
                                switch (role) {
                                    case 0, 1 -> {
                                        Result<Long> r = d.call(java.util.function.LongSupplier::getAsLong);
                                        if (r.isOk() && r.orElseThrow() != 77) {
                                            throw new AssertionError("value from freed memory " + r);
                                        }
                                        if (r instanceof Result.Err<Long> e && e.cause() instanceof AssertionError a) {
                                            throw a;
                                        }
                                    }
                                    case 2 -> {
                                        if (n % 3 == 0) {
                                            d.call(s -> {
                                                throw new IllegalStateException("crash");
                                            });
                                        } else if (n % 50 == 0) {
                                            ContainerId c = box.get();
                                            k.killContainer(c);
                                            newDomain.run();
                                        } else {
                                            k.allocateFrame(box.get(), FrameSize.SMALL);
                                        }
                                    }
                                    default -> {
                                        List<String> v = k.checkInvariants();
                                        if (!v.isEmpty()) {
                                            throw new AssertionError(v.toString());
                                        }
                                    }
                                }
                            }
                        } catch (Throwable t) {
                            problem.compareAndSet(null, t);
                            stop.set(true);
                        }
                    });
                    threads[i].start();
                }
                Thread.sleep(5000);
                stop.set(true);
                for (Thread t : threads) {
                    t.join();
                }
                if (problem.get() != null) {
                    fail(problem.get());
                }
                assertEquals(List.of(), k.checkInvariants());
                k.killContainer(box.get()).orElseThrow();
                assertEquals(k.totalFrames(), k.freeFrames());
            } finally {
                k.close();
            }
        });
    }
}
