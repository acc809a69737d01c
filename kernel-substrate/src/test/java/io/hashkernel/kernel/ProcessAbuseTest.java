package io.hashkernel.kernel;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Hostile and careless use of processes, endpoints, capabilities and threads: each gets a named error, or works. */
class ProcessAbuseTest {
    private Kernel kernel;
    private ContainerId boxA;
    private ContainerId boxB;

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(4 * FrameSize.HUGE.bytes()).rootObjects(1000).build();
        boxA = kernel.newContainer(kernel.root(), new Quota(64, 0, 32)).orElseThrow();
        boxB = kernel.newContainer(kernel.root(), new Quota(64, 0, 32)).orElseThrow();
    }

    @AfterEach
    void close() {
        try {
            assertEquals(List.of(), kernel.checkInvariants());
        } finally {
            kernel.close();
        }
    }

    private static Result.Err<?> err(KernelError expected, Result<?> r) {
        Result.Err<?> e = assertInstanceOf(Result.Err.class, r, "expected " + expected + ", was " + r);
        assertEquals(expected, e.error(), e.message());
        return e;
    }

    /** sender in A, receiver (owner of the endpoint) in B, sender has write on it; returns [sender slot, receiver slot]. */
    private int[] pair(KernelProcess sender, KernelProcess receiver, int capacity) {
        int ep = kernel.newEndpoint(receiver, capacity).orElseThrow();
        int w = kernel.grant(receiver, ep, sender, Rights.ALL).orElseThrow();
        return new int[]{w, ep};
    }

    // ------------------------------------------------------------------ a page in flight whose sender's container died

    private record InFlight(KernelProcess receiver, int endpoint) {
    }

    /** A page sent from a process of boxA to one of boxB, not yet received, and boxA killed. */
    private InFlight pageInFlightWhoseSendersContainerDied() {
        KernelProcess s = kernel.newProcess(boxA, "s").orElseThrow();
        KernelProcess r = kernel.newProcess(boxB, "r").orElseThrow();
        int[] slots = pair(s, r, 4);
        assertTrue(kernel.map(s, 0, 1).isOk());
        assertTrue(kernel.trySend(s, slots[0], Message.of(1).withFrame(0)).isOk());
        assertTrue(kernel.killContainer(boxA).isOk());
        return new InFlight(r, slots[1]);
    }

    @Test
    void destroyEndpointAfterTheSendersContainerDiedWithAPageInFlight() {
        InFlight f = pageInFlightWhoseSendersContainerDied();
        // the message's page went with the container; destroying the endpoint drops the message
        Result<Void> d;
        try {
            d = kernel.destroyEndpoint(f.receiver(), f.endpoint());
        } catch (RuntimeException e) {
            fail("destroyEndpoint threw " + e, e);
            return;
        }
        assertTrue(d.isOk(), d.toString());
    }

    @Test
    void killReceiverAfterTheSendersContainerDiedWithAPageInFlight() {
        InFlight f = pageInFlightWhoseSendersContainerDied();
        try {
            assertTrue(kernel.kill(f.receiver()).isOk());
        } catch (RuntimeException e) {
            fail("kill(receiver) threw " + e + "; invariants now: " + kernel.checkInvariants(), e);
        }
    }

    @Test
    void kernelCloseAfterTheSendersContainerDiedWithAPageInFlight() {
        pageInFlightWhoseSendersContainerDied();
        try {
            kernel.close();
        } catch (RuntimeException e) {
            boolean closed = kernel.isClosed();
            // make @AfterEach not hide the result
            kernel = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build();
            fail("close() threw " + e + " (isClosed afterwards: " + closed + ")", e);
        }
        kernel = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build();
    }

    // ------------------------------------------------------------------ receiveAll FIFO order

    @Test
    void receiveAllKeepsTheOrderOfTheQueue() {
        KernelProcess s = kernel.newProcess(boxA, "s").orElseThrow();
        KernelProcess r = kernel.newProcess(boxB, "r").orElseThrow();
        int[] slots = pair(s, r, 8);
        assertTrue(kernel.map(s, 0, 1).isOk());
        assertTrue(kernel.trySend(s, slots[0], Message.of(1).withFrame(0)).isOk());
        assertTrue(kernel.trySend(s, slots[0], Message.of(2)).isOk());
        assertTrue(kernel.trySend(s, slots[0], Message.of(3).withCapability(slots[0], Rights.WRITE)).isOk());
        assertTrue(kernel.trySend(s, slots[0], Message.of(4)).isOk());
        List<Message> into = new ArrayList<>();
        assertEquals(4, kernel.receiveAll(r, slots[1], into, 10, Duration.ZERO).orElseThrow());
        List<Long> order = into.stream().map(m -> m.word(0)).toList();
        assertEquals(List.of(1L, 2L, 3L, 4L), order, "receiveAll reorders: plain messages first, carrying ones after");
    }

    @Test
    void receiveAllIntoAnImmutableListIsAnErrorNotAnExceptionAndLosesNothing() {
        KernelProcess s = kernel.newProcess(boxA, "s").orElseThrow();
        KernelProcess r = kernel.newProcess(boxB, "r").orElseThrow();
        int[] slots = pair(s, r, 8);
        assertTrue(kernel.trySend(s, slots[0], Message.of(7)).isOk());
        try {
            Result<Integer> res = kernel.receiveAll(r, slots[1], List.of(), 10, Duration.ZERO);
            assertFalse(res.isOk());
        } catch (UnsupportedOperationException e) {
            // the message was polled before into.add threw: it is gone
            Result<Message> after = kernel.tryReceive(r, slots[1]);
            fail("receiveAll threw " + e + "; the message left in the endpoint: " + after);
        }
    }

    // ------------------------------------------------------------------ huge arguments

    @Test
    @Timeout(30)                                         // a guard against a look at 2^31 pages under the lock
    void mapOfIntegerMaxValuePagesIsRefusedBeforeItsPagesAreLookedAt() {
        KernelProcess p = kernel.newProcess(boxA, "p").orElseThrow();
        err(KernelError.QUOTA_EXCEEDED, kernel.map(p, 0, Integer.MAX_VALUE));
        err(KernelError.QUOTA_EXCEEDED, kernel.map(kernel.newProcess(kernel.root(), "q").orElseThrow(), 0, Integer.MAX_VALUE));
    }

    @Test
    void hugeAndNegativeArgumentsAreErrors() {
        KernelProcess p = kernel.newProcess(boxA, "p").orElseThrow();
        err(KernelError.INVALID_ARGUMENT, kernel.map(p, (1L << 47) - 4096, 2));
        assertTrue(kernel.map(p, (1L << 47) - 4096, 1).isOk());
        err(KernelError.INVALID_ARGUMENT, kernel.map(p, 1L << 47, 1));
        err(KernelError.INVALID_ARGUMENT, kernel.map(p, Long.MAX_VALUE & ~4095L, 1));
        err(KernelError.INVALID_ARGUMENT, kernel.map(p, -4096, 1));
        err(KernelError.INVALID_ARGUMENT, kernel.map(p, 0, 0));
        err(KernelError.INVALID_ARGUMENT, kernel.map(p, 0, Integer.MIN_VALUE));
        err(KernelError.INVALID_ARGUMENT, kernel.unmap(p, 0, -1));
        err(KernelError.NOT_MAPPED, kernel.unmap(p, 0, Integer.MAX_VALUE));
        err(KernelError.INVALID_ARGUMENT, kernel.page(p, -1));
        err(KernelError.INVALID_ARGUMENT, kernel.page(p, Long.MIN_VALUE));
        err(KernelError.INVALID_ARGUMENT, kernel.page(p, 1L << 47));
        err(KernelError.NOT_MAPPED, kernel.page(p, 4096));
        assertTrue(kernel.page(p, (1L << 47) - 1).isOk());
        for (int slot : new int[]{Integer.MIN_VALUE, -1, 0, 12345, Integer.MAX_VALUE}) {
            err(KernelError.NO_SUCH_CAPABILITY, kernel.trySend(p, slot, Message.of(1)));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.tryReceive(p, slot));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.rights(p, slot));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.deleteCapability(p, slot));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.destroyEndpoint(p, slot));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.grant(p, slot, p, Rights.READ));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.sendAll(p, slot, List.of(Message.of(1))));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.receiveAll(p, slot, new ArrayList<>(), 1, Duration.ZERO));
            err(KernelError.NO_SUCH_CAPABILITY, kernel.receive(p, slot, Duration.ofMillis(5)));
        }
        err(KernelError.INVALID_ARGUMENT, kernel.newEndpoint(p, 0));
        err(KernelError.INVALID_ARGUMENT, kernel.newEndpoint(p, Integer.MIN_VALUE));
        err(KernelError.INVALID_ARGUMENT, kernel.newEndpoint(p, Integer.MAX_VALUE));
        int ep = kernel.newEndpoint(p, 1).orElseThrow();
        err(KernelError.INVALID_ARGUMENT, kernel.receiveAll(p, ep, new ArrayList<>(), 0, Duration.ZERO));
        err(KernelError.INVALID_ARGUMENT, kernel.receiveAll(p, ep, null, 1, Duration.ZERO));
        err(KernelError.INVALID_ARGUMENT, kernel.receiveAll(p, ep, new ArrayList<>(), 1, Duration.ofSeconds(-1)));
        err(KernelError.INVALID_ARGUMENT, kernel.receive(p, ep, Duration.ofSeconds(-1)));
        err(KernelError.INVALID_ARGUMENT, kernel.send(p, ep, Message.of(), null));
        err(KernelError.INVALID_ARGUMENT, kernel.trySend(p, ep, null));
        List<Message> withNull = new ArrayList<>();
        withNull.add(null);
        err(KernelError.INVALID_ARGUMENT, kernel.sendAll(p, ep, withNull));
        err(KernelError.INVALID_ARGUMENT, kernel.sendAll(p, ep, null));
        err(KernelError.INVALID_ARGUMENT, kernel.grant(p, ep, p, null));
        err(KernelError.INVALID_ARGUMENT, kernel.grant(p, ep, null, Rights.READ));
        err(KernelError.INVALID_ARGUMENT, kernel.newThread(p, null));
        err(KernelError.INVALID_ARGUMENT, kernel.newThread(null, ThreadSpec.of("x", () -> 0)));
        err(KernelError.INVALID_ARGUMENT, kernel.kill((KernelThread) null));
        err(KernelError.INVALID_ARGUMENT, kernel.kill((KernelProcess) null));
        err(KernelError.INVALID_ARGUMENT, kernel.map(null, 0, 1));
        err(KernelError.INVALID_ARGUMENT, kernel.newProcess(null, "x"));
        err(KernelError.INVALID_ARGUMENT, kernel.newProcess(boxA, null));
        err(KernelError.NOT_MAPPED, kernel.trySend(p, ep, Message.of().withFrame(1L << 50)));
        err(KernelError.NOT_MAPPED, kernel.trySend(p, ep, Message.of().withFrame(Long.MAX_VALUE & ~4095L)));
        err(KernelError.NO_SUCH_CAPABILITY, kernel.trySend(p, ep, Message.of().withCapability(Integer.MAX_VALUE, Rights.NONE)));
        assertThrows(IllegalArgumentException.class, () -> Message.of().withFrame(-4096));
        // trying a page of another kernel
        try (Kernel other = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build()) {
            KernelProcess q = other.newProcess(other.root(), "q").orElseThrow();
            err(KernelError.INVALID_ARGUMENT, kernel.map(q, 0, 1));
            err(KernelError.INVALID_ARGUMENT, kernel.kill(q));
            err(KernelError.INVALID_ARGUMENT, kernel.grant(p, ep, q, Rights.READ));
            err(KernelError.INVALID_ARGUMENT, kernel.trySend(q, 0, Message.of(1)));
        }
    }

    // ------------------------------------------------------------------ OOM rollback

    @Test
    void mapWhenThePoolIsExhaustedRollsBack() {
        ContainerId root = kernel.root();
        // take every free superpage as huge frames: the root's small quota still says "plenty"
        List<Frame> huge = new ArrayList<>();
        while (true) {
            Result<Frame> f = kernel.allocateFrame(root, FrameSize.HUGE);
            if (!f.isOk()) {
                break;
            }
            huge.add(f.orElseThrow());
        }
        KernelProcess p = kernel.newProcess(root, "p").orElseThrow();
        long before = kernel.usage(root).orElseThrow().smallFrames();
        long free = kernel.freeFrames();
        Result<Void> r = kernel.map(p, 0, 3);
        err(KernelError.OUT_OF_MEMORY, r);
        assertEquals(before, kernel.usage(root).orElseThrow().smallFrames());
        assertEquals(free, kernel.freeFrames());
        err(KernelError.NOT_MAPPED, kernel.page(p, 0));
        assertEquals(List.of(), kernel.checkInvariants());
        huge.forEach(f -> kernel.freeFrame(root, f));
        assertTrue(kernel.kill(p).isOk());
    }

    // ------------------------------------------------------------------ failed send closes the sender's segment

    @Test
    void aSendRefusedAsFullLeavesTheSendersSegmentUsable() {
        KernelProcess s = kernel.newProcess(boxA, "s").orElseThrow();
        KernelProcess r = kernel.newProcess(boxB, "r").orElseThrow();
        int[] slots = pair(s, r, 1);                           // capacity rounds to 2
        assertTrue(kernel.trySend(s, slots[0], Message.of(1)).isOk());
        assertTrue(kernel.trySend(s, slots[0], Message.of(2)).isOk());
        assertTrue(kernel.map(s, 0, 1).isOk());
        MemorySegment seg = kernel.page(s, 0).orElseThrow();
        seg.set(ValueLayout.JAVA_LONG, 0, 42);
        err(KernelError.WOULD_BLOCK, kernel.trySend(s, slots[0], Message.of(3).withFrame(0)));
        // the page is still the sender's: it leaves the sender only when the send succeeds
        try {
            assertEquals(42, seg.get(ValueLayout.JAVA_LONG, 0));
        } catch (IllegalStateException e) {
            fail("a refused (WOULD_BLOCK) send revoked the sender's segment of a page it still owns: " + e);
        }
    }

    // ------------------------------------------------------------------ quota-full receiver

    @Test
    void aPageToAReceiverWithAFullQuotaIsReportedAndFreed() {
        ContainerId tiny = kernel.newContainer(kernel.root(), new Quota(1, 0, 8)).orElseThrow();
        KernelProcess s = kernel.newProcess(boxA, "s").orElseThrow();
        KernelProcess r = kernel.newProcess(tiny, "r").orElseThrow();
        int[] slots = pair(s, r, 4);
        assertTrue(kernel.map(r, 0, 1).isOk());                 // receiver's quota now full
        assertTrue(kernel.map(s, 0, 2).isOk());
        long usedA = kernel.usage(boxA).orElseThrow().smallFrames();
        assertTrue(kernel.trySend(s, slots[0], Message.of(1).withFrame(0)).isOk());
        Message m = kernel.tryReceive(r, slots[1]).orElseThrow();
        assertEquals(KernelError.QUOTA_EXCEEDED, m.frameError());
        assertEquals(Message.NONE, m.frame());
        assertEquals(usedA - 1, kernel.usage(boxA).orElseThrow().smallFrames());
        assertEquals(1, kernel.usage(tiny).orElseThrow().smallFrames());
        assertEquals(List.of(), kernel.checkInvariants());
        // a page to itself: the receiver's own container, quota full -> still works (no charge needed)
        int self = kernel.newEndpoint(r, 2).orElseThrow();
        assertTrue(kernel.trySend(r, self, Message.of(2).withFrame(0)).isOk());
        Message back = kernel.tryReceive(r, self).orElseThrow();
        assertEquals(null, back.frameError());
        assertTrue(kernel.page(r, back.frame()).isOk());
        assertTrue(kernel.killContainer(tiny).isOk());
        assertTrue(kernel.killContainer(boxA).isOk());
        assertTrue(kernel.killContainer(boxB).isOk());
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
    }

    // ------------------------------------------------------------------ capabilities

    @Test
    void capabilitiesCannotBeForgedOrEscalated() {
        KernelProcess a = kernel.newProcess(boxA, "a").orElseThrow();
        KernelProcess b = kernel.newProcess(boxB, "b").orElseThrow();
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        int bw = kernel.grant(a, ep, b, Rights.WRITE).orElseThrow();
        // b cannot re-grant (no grant right), nor escalate by passing over its own endpoint
        err(KernelError.NO_RIGHTS, kernel.grant(b, bw, b, Rights.WRITE));
        int bself = kernel.newEndpoint(b, 4).orElseThrow();
        err(KernelError.NO_RIGHTS, kernel.trySend(b, bself, Message.of().withCapability(bw, Rights.READ)));
        err(KernelError.NO_RIGHTS, kernel.trySend(b, bself, Message.of().withCapability(bw, Rights.ALL)));
        // passing with fewer rights: ok, and the copy has exactly them
        assertTrue(kernel.trySend(b, bself, Message.of().withCapability(bw, Rights.WRITE)).isOk());
        Message got = kernel.tryReceive(b, bself).orElseThrow();
        assertEquals(Rights.WRITE, kernel.rights(b, got.capability()).orElseThrow());
        // sending a capability over the endpoint it names, to itself
        assertTrue(kernel.trySend(a, ep, Message.of().withCapability(ep, Rights.READ)).isOk());
        Message self = kernel.tryReceive(a, ep).orElseThrow();
        assertEquals(Rights.READ, kernel.rights(a, self.capability()).orElseThrow());
        // a capability with rights NONE
        int none = kernel.grant(a, ep, b, Rights.NONE).orElseThrow();
        err(KernelError.NO_RIGHTS, kernel.trySend(b, none, Message.of(1)));
        err(KernelError.NO_RIGHTS, kernel.tryReceive(b, none));
        err(KernelError.NO_RIGHTS, kernel.destroyEndpoint(b, bw));
        // deleted slot stays invalid
        assertTrue(kernel.deleteCapability(b, bw).isOk());
        err(KernelError.NO_SUCH_CAPABILITY, kernel.trySend(b, bw, Message.of(1)));
        err(KernelError.NO_SUCH_CAPABILITY, kernel.deleteCapability(b, bw));
        // grant to a dead process
        KernelProcess dead = kernel.newProcess(boxB, "dead").orElseThrow();
        assertTrue(kernel.kill(dead).isOk());
        err(KernelError.NO_SUCH_OBJECT, kernel.grant(a, ep, dead, Rights.READ));
        err(KernelError.NO_SUCH_OBJECT, kernel.kill(dead));
        err(KernelError.NO_SUCH_OBJECT, kernel.map(dead, 0, 1));
        err(KernelError.NO_SUCH_OBJECT, kernel.trySend(dead, 0, Message.of()));
        err(KernelError.NO_SUCH_OBJECT, kernel.rights(dead, 0));
        err(KernelError.NO_SUCH_OBJECT, kernel.newThread(dead, ThreadSpec.of("t", () -> 0)));
        // stale after destroy, a new endpoint in the same object slot is not reachable through the old cap
        int bs = kernel.grant(a, ep, b, Rights.READ_WRITE).orElseThrow();
        assertTrue(kernel.destroyEndpoint(a, ep).isOk());
        int ep2 = kernel.newEndpoint(a, 4).orElseThrow();
        err(KernelError.STALE_CAPABILITY, kernel.trySend(b, bs, Message.of(1)));
        err(KernelError.STALE_CAPABILITY, kernel.tryReceive(b, bs));
        err(KernelError.STALE_CAPABILITY, kernel.grant(a, ep, b, Rights.READ));
        err(KernelError.STALE_CAPABILITY, kernel.destroyEndpoint(a, ep));
        assertTrue(kernel.tryReceive(a, ep2).error() == KernelError.WOULD_BLOCK);
        // a capability passed, then the object dies before receipt: a stale slot
        int ep3 = kernel.newEndpoint(a, 4).orElseThrow();
        assertTrue(kernel.trySend(a, ep2, Message.of().withCapability(ep3, Rights.WRITE)).isOk());
        assertTrue(kernel.destroyEndpoint(a, ep3).isOk());
        Message stale = kernel.tryReceive(a, ep2).orElseThrow();
        err(KernelError.STALE_CAPABILITY, kernel.trySend(a, stale.capability(), Message.of()));
    }

    // ------------------------------------------------------------------ sendAll with pages, filling midway

    @Test
    void sendAllWithPagesStopsWhereTheEndpointFillsAndKeepsTheRest() {
        KernelProcess s = kernel.newProcess(boxA, "s").orElseThrow();
        KernelProcess r = kernel.newProcess(boxB, "r").orElseThrow();
        int[] slots = pair(s, r, 4);
        assertTrue(kernel.map(s, 0, 6).isOk());
        List<Message> ms = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ms.add(Message.of(i).withFrame(i * 4096L));
        }
        assertEquals(4, kernel.sendAll(s, slots[0], ms).orElseThrow());
        for (int i = 0; i < 4; i++) {
            err(KernelError.NOT_MAPPED, kernel.page(s, i * 4096L));
        }
        for (int i = 4; i < 6; i++) {
            assertTrue(kernel.page(s, i * 4096L).isOk());
        }
        assertEquals(List.of(), kernel.checkInvariants());
        List<Message> into = new ArrayList<>();
        assertEquals(4, kernel.receiveAll(r, slots[1], into, 10, Duration.ZERO).orElseThrow());
        for (Message m : into) {
            assertTrue(kernel.page(r, m.frame()).isOk());
        }
        // a message whose page is not mapped, first: an error; later: a partial count
        err(KernelError.NOT_MAPPED, kernel.sendAll(s, slots[0], List.of(Message.of(9).withFrame(0))));
        assertEquals(1, kernel.sendAll(s, slots[0], List.of(Message.of(9), Message.of(9).withFrame(0))).orElseThrow());
        assertTrue(kernel.killContainer(boxA).isOk());
        assertTrue(kernel.killContainer(boxB).isOk());
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
    }

    // ------------------------------------------------------------------ threads

    @Test
    void aThreadThatKillsItsOwnProcessEnds() throws Exception {
        KernelProcess p = kernel.newProcess(boxA, "p").orElseThrow();
        List<Result<Void>> seen = new ArrayList<>();
        KernelThread t = kernel.newThread(p, ThreadSpec.of("suicide", () -> {
            synchronized (seen) {
                seen.add(kernel.kill(p));
            }
            return 1;
        })).orElseThrow();
        assertTrue(t.join(Duration.ofSeconds(5)));
        assertEquals(ThreadState.DEAD, t.state());
        synchronized (seen) {
            assertEquals(1, seen.size(), seen.toString());
            assertTrue(seen.get(0).isOk());
        }
        assertEquals(0, kernel.usage(boxA).orElseThrow().objects());
    }

    @Test
    void aThreadThatClosesTheKernelEnds() throws Exception {
        KernelProcess p = kernel.newProcess(boxA, "p").orElseThrow();
        KernelThread t = kernel.newThread(p, ThreadSpec.of("closer", () -> {
            kernel.close();
            return 1;
        })).orElseThrow();
        assertTrue(t.join(Duration.ofSeconds(5)));
        assertTrue(kernel.isClosed());
        kernel = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build();
    }

    @Test
    void blockedReceiversReturnOnEveryKindOfEnd() throws Exception {
        KernelProcess a = kernel.newProcess(boxA, "a").orElseThrow();
        KernelProcess b = kernel.newProcess(boxB, "b").orElseThrow();
        int ep1 = kernel.newEndpoint(a, 4).orElseThrow();
        int ep2 = kernel.newEndpoint(a, 4).orElseThrow();
        int bs = kernel.grant(a, ep2, b, Rights.READ).orElseThrow();
        List<Result<?>> results = java.util.Collections.synchronizedList(new ArrayList<>());
        // 1: endpoint destroyed
        Thread t1 = Thread.ofPlatform().start(() -> results.add(kernel.receive(a, ep1)));
        Thread.sleep(50);
        assertTrue(kernel.destroyEndpoint(a, ep1).isOk());
        t1.join(2000);
        assertFalse(t1.isAlive(), "receive did not return after destroyEndpoint");
        // 2: receiver process killed (b waits on a's endpoint)
        Thread t2 = Thread.ofPlatform().start(() -> results.add(kernel.receiveAll(b, bs, new ArrayList<>(), 4,
                Duration.ofNanos(Long.MAX_VALUE))));
        Thread.sleep(50);
        assertTrue(kernel.kill(b).isOk());
        t2.join(2000);
        assertFalse(t2.isAlive(), "receiveAll did not return after kill(process)");
        // 3: kernel thread killed while blocked
        List<Result<?>> inThread = java.util.Collections.synchronizedList(new ArrayList<>());
        KernelThread kt = kernel.newThread(a, ThreadSpec.of("blocker", () -> {
            inThread.add(kernel.receive(a, ep2));
            return 1;
        })).orElseThrow();
        Thread.sleep(50);
        assertEquals(ThreadState.BLOCKED, kt.state());
        assertTrue(kernel.kill(kt).isOk());
        assertTrue(kt.join(Duration.ofSeconds(2)), "a killed thread blocked in receive did not end");
        assertEquals(KernelError.THREAD_KILLED, inThread.get(0).error());
        // 4: kernel closed while a kernel thread blocks
        KernelThread kt2 = kernel.newThread(a, ThreadSpec.of("blocker2", () -> {
            inThread.add(kernel.receive(a, ep2));
            return 1;
        })).orElseThrow();
        Thread t4 = Thread.ofPlatform().start(() -> results.add(kernel.receive(a, ep2)));
        Thread.sleep(50);
        kernel.close();
        assertTrue(kt2.join(Duration.ofSeconds(2)));
        t4.join(2000);
        assertFalse(t4.isAlive());
        assertEquals(KernelError.STALE_CAPABILITY, results.get(0).error());
        assertEquals(4, results.size() + 1, results.toString()); // t1,t2,t4
        kernel = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build();
    }

    @Test
    void stateIsDeadRightAfterKillReturns() throws Exception {
        KernelProcess p = kernel.newProcess(boxA, "p").orElseThrow();
        int bad = 0;
        for (int i = 0; i < 60; i++) {
            KernelThread t = kernel.newThread(p, new ThreadSpec("spin" + i, ThreadSpec.ANY_CPU, ThreadSpec.Idle.YIELD,
                    () -> 1)).orElseThrow();
            Thread.sleep(1);
            assertTrue(kernel.kill(t).isOk());
            ThreadState s = t.state();
            if (s != ThreadState.DEAD) {
                bad++;
            }
            assertTrue(t.join(Duration.ofSeconds(2)));
        }
        assertEquals(0, bad, "state() was not DEAD right after kill() returned in " + bad + " of 60 tries");
    }
}
