package io.hashkernel.kernel;

import io.hashkernel.numa.Affinity;
import io.hashkernel.numa.CpuList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Processes, kernel threads, endpoints and capabilities as a user of the syscall facade sees them. */
class ProcessTest {
    private static final Duration SHORT = Duration.ofMillis(50);
    private static final Duration LONG = Duration.ofSeconds(10);
    private Kernel kernel;
    private ContainerId box;

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(4 * FrameSize.HUGE.bytes()).rootObjects(1000).build();
        box = kernel.newContainer(kernel.root(), new Quota(64, 0, 32)).orElseThrow();
    }

    @AfterEach
    void close() {
        assertEquals(List.of(), kernel.checkInvariants());
        kernel.close();
    }

    static void assertErr(KernelError expected, Result<?> r, String... mentions) {
        Result.Err<?> e = assertInstanceOf(Result.Err.class, r, "expected " + expected + ", was " + r);
        assertEquals(expected, e.error(), e.message());
        for (String m : mentions) {
            assertTrue(e.message().contains(m), "'" + e.message() + "' should mention '" + m + "'");
        }
    }

    private KernelProcess process(String name) {
        return kernel.newProcess(box, name).orElseThrow();
    }

    @Test
    void everyCallChecksTheRightsOfItsCapability() {
        KernelProcess a = process("a");
        KernelProcess b = process("b");
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        assertEquals(Rights.ALL, kernel.rights(a, ep).orElseThrow());
        int sendOnly = kernel.grant(a, ep, b, Rights.WRITE).orElseThrow();
        int receiveOnly = kernel.grant(a, ep, b, Rights.READ).orElseThrow();

        assertErr(KernelError.NO_RIGHTS, kernel.tryReceive(b, sendOnly), "-w-", "r--");
        assertErr(KernelError.NO_RIGHTS, kernel.trySend(b, receiveOnly, Message.of(1)), "r--", "-w-");
        assertErr(KernelError.NO_RIGHTS, kernel.grant(b, sendOnly, a, Rights.WRITE), "-wg");
        assertErr(KernelError.NO_RIGHTS, kernel.destroyEndpoint(b, sendOnly));
        assertErr(KernelError.NO_RIGHTS, kernel.trySend(b, sendOnly, Message.of(1).withCapability(receiveOnly, Rights.READ)));
        int grantRead = kernel.grant(a, ep, b, new Rights(Rights.READ_BIT | Rights.GRANT_BIT)).orElseThrow();
        assertErr(KernelError.NO_RIGHTS, kernel.grant(b, grantRead, a, Rights.READ_WRITE), "r-g", "rwg");
        assertErr(KernelError.NO_RIGHTS, kernel.receiveAll(b, sendOnly, new ArrayList<>(), 4, Duration.ZERO));
        assertErr(KernelError.NO_RIGHTS, kernel.sendAll(b, receiveOnly, List.of(Message.of(1))));

        assertTrue(kernel.trySend(b, sendOnly, Message.of(7, 8)).isOk());
        Message m = kernel.tryReceive(b, receiveOnly).orElseThrow();
        assertEquals(7, m.word(0));
        assertEquals(8, m.word(1));
    }

    @Test
    void forgedAndStaleCapabilitiesAreErrors() {
        KernelProcess a = process("a");
        KernelProcess b = process("b");
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        int theirs = kernel.grant(a, ep, b, Rights.READ_WRITE).orElseThrow();
        for (int forged : new int[]{-1, 99, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            assertErr(KernelError.NO_SUCH_CAPABILITY, kernel.trySend(a, forged, Message.of()), "slot " + forged);
            assertErr(KernelError.NO_SUCH_CAPABILITY, kernel.tryReceive(b, forged));
            assertErr(KernelError.NO_SUCH_CAPABILITY, kernel.rights(b, forged));
            assertErr(KernelError.NO_SUCH_CAPABILITY, kernel.deleteCapability(b, forged));
        }
        assertTrue(kernel.deleteCapability(b, theirs).isOk());
        assertErr(KernelError.NO_SUCH_CAPABILITY, kernel.trySend(b, theirs, Message.of()));
        theirs = kernel.grant(a, ep, b, Rights.READ_WRITE).orElseThrow();
        assertTrue(kernel.trySend(b, theirs, Message.of(1)).isOk());

        assertTrue(kernel.kill(a).isOk());                  // the endpoint dies with its process
        assertErr(KernelError.STALE_CAPABILITY, kernel.trySend(b, theirs, Message.of()), "destroyed");
        assertErr(KernelError.STALE_CAPABILITY, kernel.tryReceive(b, theirs));
        assertErr(KernelError.STALE_CAPABILITY, kernel.receive(b, theirs, SHORT));
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.trySend(a, ep, Message.of()), "killed");
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.newEndpoint(a, 4));
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.kill(a));
        assertErr(KernelError.INVALID_ARGUMENT, kernel.trySend(null, 0, Message.of()));
        assertErr(KernelError.INVALID_ARGUMENT, kernel.trySend(b, theirs, null));
        assertErr(KernelError.INVALID_ARGUMENT, kernel.newEndpoint(b, 0), "1 to");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.receive(b, theirs, Duration.ofSeconds(-1)));
        try (Kernel other = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build()) {
            KernelProcess alien = other.newProcess(other.root(), "alien").orElseThrow();
            assertErr(KernelError.INVALID_ARGUMENT, kernel.trySend(alien, 0, Message.of()), "of this kernel");
        }
    }

    @Test
    void aSentPageLeavesTheSenderAndArrivesAtTheReceiver() {
        KernelProcess a = process("a");
        KernelProcess b = process("b");
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        int bEp = kernel.grant(a, ep, b, Rights.READ).orElseThrow();
        assertTrue(kernel.map(a, 0x10_000, 2).isOk());
        MemorySegment mine = kernel.page(a, 0x10_000).orElseThrow();
        mine.set(ValueLayout.JAVA_LONG, 8, 0xfeedL);
        long frame = frameOf(a, 0x10_000);

        assertTrue(kernel.trySend(a, ep, Message.of(42).withFrame(0x10_000)).isOk());
        assertThrows(IllegalStateException.class, () -> mine.get(ValueLayout.JAVA_LONG, 8));
        assertErr(KernelError.NOT_MAPPED, kernel.page(a, 0x10_000));
        assertEquals(List.of(), kernel.checkInvariants());          // in flight: in no process

        Message m = kernel.receive(b, bEp, LONG).orElseThrow();
        assertEquals(42, m.word(0));
        assertNull(m.frameError());
        MemorySegment theirs = kernel.page(b, m.frame()).orElseThrow();
        assertEquals(0xfeedL, theirs.get(ValueLayout.JAVA_LONG, 8));
        assertEquals(frame, frameOf(b, m.frame()));
        assertEquals(List.of(), kernel.checkInvariants());

        // The sender's address is free again; the other page stayed.
        assertTrue(kernel.map(a, 0x10_000, 1).isOk());
        assertTrue(kernel.page(a, 0x11_000).isOk());
        assertErr(KernelError.NOT_MAPPED, kernel.trySend(a, ep, Message.of().withFrame(0x40_000)));
        assertTrue(kernel.unmap(b, m.frame(), 1).isOk());
        assertThrows(IllegalStateException.class, () -> theirs.get(ValueLayout.JAVA_LONG, 8));
    }

    private long frameOf(KernelProcess p, long va) {
        return kernel.mappings.get(p.pages.get(va / Kernel.PAGE)).frame;
    }

    @Test
    void aPageCrossesContainersOnlyWhereTheReceiversQuotaHasRoom() {
        ContainerId full = kernel.newContainer(kernel.root(), new Quota(1, 0, 4)).orElseThrow();
        KernelProcess a = process("a");
        KernelProcess b = kernel.newProcess(full, "b").orElseThrow();
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        int bEp = kernel.grant(a, ep, b, Rights.READ).orElseThrow();
        assertTrue(kernel.map(a, 0, 2).isOk());
        assertTrue(kernel.trySend(a, ep, Message.of(1).withFrame(0)).isOk());
        assertTrue(kernel.trySend(a, ep, Message.of(2).withFrame(Kernel.PAGE)).isOk());
        Message first = kernel.tryReceive(b, bEp).orElseThrow();
        assertNull(first.frameError());
        assertEquals(1, kernel.usage(full).orElseThrow().smallFrames());
        assertEquals(1, kernel.usage(box).orElseThrow().smallFrames());     // the second, in flight
        Message second = kernel.tryReceive(b, bEp).orElseThrow();
        assertEquals(KernelError.QUOTA_EXCEEDED, second.frameError());
        assertEquals(Message.NONE, second.frame());
        assertEquals(2, second.word(0));
        assertEquals(0, kernel.usage(box).orElseThrow().smallFrames());
        assertEquals(kernel.totalFrames() - 1, kernel.freeFrames());
    }

    @Test
    void mappingRefusesUsedAddressesAndQuotaAndBadRanges() {
        KernelProcess a = process("a");
        assertTrue(kernel.map(a, 0x2000, 4).isOk());
        assertErr(KernelError.VA_IN_USE, kernel.map(a, 0x4000, 4), "0x4000");
        assertErr(KernelError.QUOTA_EXCEEDED, kernel.map(a, 0x100_000, 61), "60 free");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.map(a, 0x2001, 1), "aligned");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.map(a, -4096, 1));
        assertErr(KernelError.INVALID_ARGUMENT, kernel.map(a, (1L << 47) - 4096, 2), "2^47");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.map(a, 0, 0));
        assertErr(KernelError.NOT_MAPPED, kernel.unmap(a, 0x1000, 2), "0x1000");
        assertErr(KernelError.NOT_MAPPED, kernel.page(a, 0x100_000));
        assertEquals(4, kernel.usage(box).orElseThrow().smallFrames());
        Frame f = new Frame(kernel.mappings.get(a.pages.get(2)).frame, FrameSize.SMALL);
        assertErr(KernelError.INVALID_STATE, kernel.freeFrame(box, f), "page of a process");
        assertTrue(kernel.unmap(a, 0x2000, 4).isOk());
        assertEquals(0, kernel.usage(box).orElseThrow().smallFrames());
    }

    @Test
    void killingAProcessGivesEverythingBackToItsContainer() throws Exception {
        Kernel.Usage before = kernel.usage(box).orElseThrow();
        KernelProcess a = process("a");
        KernelProcess b = process("b");
        int ep = kernel.newEndpoint(a, 8).orElseThrow();
        int bEp = kernel.grant(a, ep, b, Rights.WRITE).orElseThrow();
        assertTrue(kernel.map(a, 0, 8).isOk());
        assertTrue(kernel.map(b, 0, 1).isOk());
        assertTrue(kernel.trySend(b, bEp, Message.of(1).withFrame(0)).isOk());   // in a's endpoint when a dies
        MemorySegment page = kernel.page(a, 0).orElseThrow();
        CountDownLatch started = new CountDownLatch(1);
        KernelThread t = kernel.newThread(a, ThreadSpec.of("worker", () -> {
            started.countDown();
            return 0;
        })).orElseThrow();
        assertTrue(started.await(10, TimeUnit.SECONDS));
        assertEquals(4, kernel.usage(box).orElseThrow().objects());

        assertTrue(kernel.kill(a).isOk());
        assertTrue(t.join(LONG));
        assertEquals(ThreadState.DEAD, t.state());
        assertFalse(a.isAlive());
        assertThrows(IllegalStateException.class, () -> page.get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(List.of(), kernel.checkInvariants());
        assertTrue(kernel.kill(b).isOk());
        assertEquals(before, kernel.usage(box).orElseThrow());
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
    }

    @Test
    void killingAContainerKillsItsProcessesAndFreesPagesInFlight() {
        ContainerId other = kernel.newContainer(kernel.root(), new Quota(8, 0, 8)).orElseThrow();
        KernelProcess sender = kernel.newProcess(other, "sender").orElseThrow();
        KernelProcess receiver = process("receiver");
        int ep = kernel.newEndpoint(receiver, 4).orElseThrow();
        int theirs = kernel.grant(receiver, ep, sender, Rights.WRITE).orElseThrow();
        assertTrue(kernel.map(sender, 0, 2).isOk());
        assertTrue(kernel.trySend(sender, theirs, Message.of(1).withFrame(0)).isOk());
        assertTrue(kernel.killContainer(other).isOk());
        assertFalse(sender.isAlive());
        Message m = kernel.tryReceive(receiver, ep).orElseThrow();
        assertEquals(KernelError.NO_SUCH_OBJECT, m.frameError());
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
    }

    @Test
    void aCapabilityTravelsWithAMessage() {
        KernelProcess server = process("server");
        KernelProcess client = process("client");
        int requests = kernel.newEndpoint(server, 4).orElseThrow();
        int toServer = kernel.grant(server, requests, client, new Rights(Rights.WRITE_BIT | Rights.GRANT_BIT)).orElseThrow();
        int replies = kernel.newEndpoint(client, 4).orElseThrow();
        assertTrue(kernel.trySend(client, toServer, Message.of(1).withCapability(replies, Rights.WRITE)).isOk());
        Message hello = kernel.tryReceive(server, requests).orElseThrow();
        assertEquals(Rights.WRITE, hello.capabilityRights());
        assertEquals(Rights.WRITE, kernel.rights(server, hello.capability()).orElseThrow());
        assertTrue(kernel.trySend(server, hello.capability(), Message.of(2)).isOk());
        assertEquals(2, kernel.tryReceive(client, replies).orElseThrow().word(0));
        assertErr(KernelError.NO_RIGHTS, kernel.tryReceive(server, hello.capability()));
        int noGrant = kernel.grant(server, requests, client, Rights.WRITE).orElseThrow();
        assertErr(KernelError.NO_RIGHTS, kernel.trySend(client, noGrant, Message.of(1).withCapability(replies, Rights.WRITE)));
        assertErr(KernelError.NO_SUCH_CAPABILITY, kernel.trySend(client, toServer, Message.of(1).withCapability(77, Rights.WRITE)));
    }

    @Test
    void batchesAndFullAndEmptyEndpoints() {
        KernelProcess a = process("a");
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        List<Message> six = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            six.add(Message.of(i));
        }
        assertEquals(4, kernel.sendAll(a, ep, six).orElseThrow());
        assertErr(KernelError.WOULD_BLOCK, kernel.trySend(a, ep, Message.of(9)), "full");
        assertErr(KernelError.TIMED_OUT, kernel.send(a, ep, Message.of(9), SHORT));
        List<Message> got = new ArrayList<>();
        assertEquals(3, kernel.receiveAll(a, ep, got, 3, Duration.ZERO).orElseThrow());
        assertEquals(1, kernel.receiveAll(a, ep, got, 3, Duration.ZERO).orElseThrow());
        for (int i = 0; i < 4; i++) {
            assertEquals(i, got.get(i).word(0));
        }
        assertErr(KernelError.WOULD_BLOCK, kernel.receiveAll(a, ep, got, 3, Duration.ZERO), "empty");
        assertErr(KernelError.TIMED_OUT, kernel.receive(a, ep, SHORT));
        assertErr(KernelError.INVALID_ARGUMENT, kernel.sendAll(a, ep, java.util.Arrays.asList(Message.of(), null)));
        assertThrows(IllegalArgumentException.class, () -> Message.of(new long[Message.MAX_WORDS + 1]));
    }

    @Test
    void threadsPingPongAndBlockAndAreKilledWhileBlocked() throws Exception {
        KernelProcess a = process("a");
        KernelProcess b = process("b");
        int ping = kernel.newEndpoint(a, 2).orElseThrow();
        int pong = kernel.newEndpoint(b, 2).orElseThrow();
        int bPing = kernel.grant(a, ping, b, Rights.READ).orElseThrow();
        int aPong = kernel.grant(b, pong, a, Rights.WRITE).orElseThrow();
        AtomicInteger echoed = new AtomicInteger();
        KernelThread echo = kernel.newThread(b, ThreadSpec.of("echo", () -> {
            Result<Message> m = kernel.receive(b, bPing);
            if (m.isOk()) {
                kernel.send(b, pong, Message.of(m.orElseThrow().word(0) + 1)).orElseThrow();
                echoed.incrementAndGet();
            }
            return 1;
        })).orElseThrow();
        int aPongRead = kernel.grant(b, pong, a, Rights.READ).orElseThrow();
        for (int i = 0; i < 1000; i++) {
            assertTrue(kernel.send(a, ping, Message.of(i), LONG).isOk());
            assertEquals(i + 1, kernel.receive(a, aPongRead, LONG).orElseThrow().word(0));
        }
        assertEquals(1000, echoed.get());
        long deadline = System.nanoTime() + LONG.toNanos();
        while (echo.state() != ThreadState.BLOCKED && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(ThreadState.BLOCKED, echo.state());
        assertTrue(kernel.kill(echo).isOk());
        assertTrue(echo.join(LONG));
        assertEquals(ThreadState.DEAD, echo.state());
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.kill(echo));
        assertTrue(aPong >= 0);
    }

    @Test
    void aThreadWhoseBodyThrowsDiesAloneAndIsUncharged() throws Exception {
        KernelProcess a = process("a");
        long objects = kernel.usage(box).orElseThrow().objects();
        KernelThread t = kernel.newThread(a, ThreadSpec.of("faulty", () -> {
            throw new IllegalStateException("boom");
        })).orElseThrow();
        assertTrue(t.join(LONG));
        assertEquals("boom", t.failure().getMessage());
        assertEquals(ThreadState.DEAD, t.state());
        assertTrue(a.isAlive());
        assertEquals(objects, kernel.usage(box).orElseThrow().objects());
    }

    @Test
    void aPinnedThreadRunsOnItsCpu() throws Exception {
        assumeTrue(Affinity.available(), "pinning needs Linux and native access");
        int cpu = Affinity.current().toArray()[0];
        KernelProcess a = process("a");
        AtomicReference<CpuList> seen = new AtomicReference<>();
        KernelThread t = kernel.newThread(a, ThreadSpec.of("pinned", () -> {
            seen.compareAndSet(null, Affinity.current());
            return 0;
        }).pinnedTo(cpu)).orElseThrow();
        long deadline = System.nanoTime() + LONG.toNanos();
        while (seen.get() == null && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(CpuList.of(cpu), seen.get());
        assertTrue(kernel.kill(t).isOk());
        assertErr(KernelError.INVALID_ARGUMENT, kernel.newThread(a, ThreadSpec.of("nowhere", () -> 0).pinnedTo(4096)),
                "not online");
    }

    @Test
    void destroyingAnEndpointWakesItsBlockedReceiverAndFreesItsPages() throws Exception {
        KernelProcess a = process("a");
        KernelProcess b = process("b");
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        int bEp = kernel.grant(a, ep, b, Rights.READ).orElseThrow();
        AtomicReference<Result<Message>> got = new AtomicReference<>();
        KernelThread waiter = kernel.newThread(b, ThreadSpec.of("waiter", () -> {
            got.compareAndSet(null, kernel.receive(b, bEp));
            return 0;
        })).orElseThrow();
        long deadline = System.nanoTime() + LONG.toNanos();
        while (waiter.state() != ThreadState.BLOCKED && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(kernel.destroyEndpoint(a, ep).isOk());
        while (got.get() == null && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertErr(KernelError.STALE_CAPABILITY, got.get());
        int again = kernel.newEndpoint(a, 4).orElseThrow();
        assertTrue(kernel.map(a, 0, 1).isOk());
        assertTrue(kernel.trySend(a, again, Message.of().withFrame(0)).isOk());
        assertTrue(kernel.destroyEndpoint(a, again).isOk());
        assertEquals(kernel.totalFrames(), kernel.freeFrames());
        assertTrue(kernel.kill(waiter).isOk());
    }

    @Test
    void pagesRacingTheirEndpointsDeathAreNeitherLostNorLeaked() throws Exception {
        KernelProcess a = process("a");
        KernelProcess b = process("b");
        for (int i = 0; i < 300; i++) {
            int ep = kernel.newEndpoint(b, 4).orElseThrow();
            int toB = kernel.grant(b, ep, a, Rights.WRITE).orElseThrow();
            kernel.map(a, 0, 2).orElseThrow();
            kernel.trySend(a, toB, Message.of(i).withFrame(0)).orElseThrow();
            kernel.trySend(a, toB, Message.of(i).withFrame(Kernel.PAGE)).orElseThrow();
            List<Message> got = new ArrayList<>();
            Thread receiver = Thread.ofPlatform().start(() -> kernel.receiveAll(b, ep, got, 4, Duration.ZERO));
            Result<Void> destroyed = kernel.destroyEndpoint(b, ep);
            receiver.join();
            assertTrue(destroyed.isOk(), destroyed.toString());
            for (Message m : got) {
                assertNull(m.frameError());
                assertTrue(kernel.unmap(b, m.frame(), 1).isOk());
            }
            assertEquals(List.of(), kernel.checkInvariants(), "after round " + i);
            assertEquals(kernel.totalFrames(), kernel.freeFrames(), "after round " + i);
        }
    }

    @Test
    void callsAfterCloseSayTheKernelIsClosed() {
        KernelProcess a = process("a");
        int ep = kernel.newEndpoint(a, 4).orElseThrow();
        kernel.close();
        assertErr(KernelError.KERNEL_CLOSED, kernel.trySend(a, ep, Message.of()));
        assertErr(KernelError.KERNEL_CLOSED, kernel.map(a, 0, 1));
        assertErr(KernelError.KERNEL_CLOSED, kernel.newProcess(box, "late"));
    }
}
