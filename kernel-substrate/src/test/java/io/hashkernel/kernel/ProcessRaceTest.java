package io.hashkernel.kernel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Page and capability messages racing kills, destroys and the kernel's close: no exception, no leak, invariants hold. */
class ProcessRaceTest {

    private static Kernel kernel() {
        return Kernel.builder().memoryBytes(4 * FrameSize.HUGE.bytes()).rootObjects(1000).build();
    }

    /** A sender {@code s} in container {@code a} and a receiver {@code r} in container {@code b}. */
    private record Pair(ContainerId a, ContainerId b, KernelProcess s, KernelProcess r) {
        static Pair of(Kernel k) {
            ContainerId a = k.newContainer(k.root(), new Quota(64, 0, 16)).orElseThrow();
            ContainerId b = k.newContainer(k.root(), new Quota(64, 0, 16)).orElseThrow();
            return new Pair(a, b, k.newProcess(a, "s").orElseThrow(), k.newProcess(b, "r").orElseThrow());
        }
    }

    /** {@code pages} pages mapped in {@code s} and sent to a new endpoint of {@code r} of {@code capacity}: its slot. */
    private static int pagesSent(Kernel k, KernelProcess s, KernelProcess r, int pages, int capacity) {
        int ep = k.newEndpoint(r, capacity).orElseThrow();
        int w = k.grant(r, ep, s, Rights.WRITE).orElseThrow();
        assertTrue(k.map(s, 0, pages).isOk());
        for (int i = 0; i < pages; i++) {
            assertTrue(k.trySend(s, w, Message.of(i).withFrame(i * 4096L)).isOk());
        }
        return ep;
    }

    /**
     * close() racing a receiver of page messages: a receive that polled a message before close
     * took the lock delivers it after close (deliver -> live() says KERNEL_CLOSED -> freeMapping
     * on the closed maps/pool). Expected: every call returns a Result.
     */
    @Test
    void closeRacingReceiversOfPages() throws Exception {
        List<Throwable> thrown = Collections.synchronizedList(new ArrayList<>());
        SplittableRandom rnd = new SplittableRandom(1);
        for (int round = 0; round < 150 && thrown.isEmpty(); round++) {
            Kernel k = kernel();
            ContainerId box = k.newContainer(k.root(), new Quota(256, 0, 16)).orElseThrow();
            KernelProcess s = k.newProcess(box, "s").orElseThrow();
            KernelProcess r = k.newProcess(box, "r").orElseThrow();
            int ep = pagesSent(k, s, r, 100, 128);
            AtomicBoolean go = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    while (!go.get()) {
                        Thread.onSpinWait();
                    }
                    try {
                        while (true) {
                            Result<Message> m = k.tryReceive(r, ep);
                            if (!m.isOk() && m.error() != KernelError.WOULD_BLOCK) {
                                return;
                            }
                            if (m.isOk()) {
                                Result<MemorySegment> seg = k.page(r, m.orElseThrow().frame());
                                if (seg.isOk()) {
                                    try {
                                        seg.orElseThrow().get(ValueLayout.JAVA_LONG, 0);
                                    } catch (IllegalStateException revoked) {
                                        // fine: closed memory throws
                                    }
                                }
                            }
                        }
                    } catch (Throwable e) {
                        thrown.add(e);
                    }
                }));
            }
            go.set(true);
            long spin = rnd.nextInt(200_000);
            for (long i = 0; i < spin; i++) {
                Thread.onSpinWait();
            }
            try {
                k.close();
            } catch (Throwable e) {
                thrown.add(new AssertionError("close threw", e));
            }
            for (Thread t : threads) {
                t.join(5000);
                assertFalse(t.isAlive(), "a receiver hung after close");
            }
        }
        if (!thrown.isEmpty()) {
            thrown.get(0).printStackTrace();
        }
        assertEquals(List.of(), thrown.stream().map(Throwable::toString).distinct().toList());
    }

    /**
     * Senders moving pages, receivers taking them, a checker reading invariants, and a killer
     * destroying the endpoint or killing the receiver or the sender. At the end: invariants
     * empty, every frame back.
     */
    @Test
    void ipcWithPagesRacingDestroyAndKills() throws Exception {
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        SplittableRandom rnd = new SplittableRandom(7);
        try (Kernel k = kernel()) {
            for (int round = 0; round < 30 && problems.isEmpty(); round++) {
                Pair pair = Pair.of(k);
                ContainerId a = pair.a();
                ContainerId b = pair.b();
                KernelProcess s = pair.s();
                KernelProcess r = pair.r();
                int ep = k.newEndpoint(r, 8).orElseThrow();
                int w = k.grant(r, ep, s, Rights.ALL).orElseThrow();
                AtomicBoolean stop = new AtomicBoolean();
                Thread sender = Thread.ofPlatform().start(() -> {
                    long va = 0;
                    try {
                        while (!stop.get()) {
                            if (!k.map(s, va, 1).isOk()) {
                                Thread.onSpinWait();
                                if (!s.isAlive()) {
                                    return;
                                }
                                continue;
                            }
                            Result<Void> sent = k.trySend(s, w, Message.of(va).withFrame(va)
                                    .withCapability(w, Rights.WRITE));
                            if (!sent.isOk()) {
                                k.unmap(s, va, 1);
                            }
                            va += 4096;
                        }
                    } catch (Throwable e) {
                        problems.add("sender threw " + e);
                    }
                });
                Thread receiver = Thread.ofPlatform().start(() -> {
                    try {
                        List<Message> into = new ArrayList<>();
                        while (!stop.get()) {
                            into.clear();
                            Result<Integer> n = k.receiveAll(r, ep, into, 4, Duration.ofMillis(1));
                            if (!n.isOk()) {
                                if (n.error() == KernelError.TIMED_OUT) {
                                    continue;
                                }
                                return;
                            }
                            for (Message m : into) {
                                if (m.frame() != Message.NONE) {
                                    k.unmap(r, m.frame(), 1);
                                }
                                if (m.capability() != Message.NONE) {
                                    k.deleteCapability(r, m.capability());
                                }
                            }
                        }
                    } catch (Throwable e) {
                        problems.add("receiver threw " + e);
                    }
                });
                Thread checker = Thread.ofPlatform().start(() -> {
                    try {
                        while (!stop.get()) {
                            List<String> v = k.checkInvariants();
                            if (!v.isEmpty()) {
                                problems.add("invariants during IPC: " + v);
                                return;
                            }
                        }
                    } catch (Throwable e) {
                        problems.add("checker threw " + e);
                    }
                });
                Thread.sleep(5 + rnd.nextInt(20));
                try {
                    switch (rnd.nextInt(3)) {
                        case 0 -> k.destroyEndpoint(r, ep);
                        case 1 -> k.kill(r);
                        default -> k.kill(s);
                    }
                } catch (Throwable e) {
                    problems.add("killer threw " + e);
                }
                Thread.sleep(5);
                stop.set(true);
                sender.join(5000);
                receiver.join(5000);
                checker.join(5000);
                if (sender.isAlive() || receiver.isAlive() || checker.isAlive()) {
                    problems.add("a thread hung");
                }
                try {
                    k.killContainer(b);
                    k.killContainer(a);
                } catch (Throwable e) {
                    problems.add("killContainer threw " + e);
                }
                List<String> v = k.checkInvariants();
                if (!v.isEmpty()) {
                    problems.add("invariants after round " + round + ": " + v);
                }
                if (k.freeFrames() != k.totalFrames()) {
                    problems.add("frames leaked after round " + round + ": " + (k.totalFrames() - k.freeFrames()));
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    /**
     * The sender's container killed while its pages fly (the receive path that finds the mapping
     * gone), receivers draining everything before the receiver's container dies.
     */
    @Test
    void sendersContainerKilledWhilePagesFly() throws Exception {
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        try (Kernel k = kernel()) {
            for (int round = 0; round < 30 && problems.isEmpty(); round++) {
                Pair pair = Pair.of(k);
                ContainerId a = pair.a();
                ContainerId b = pair.b();
                KernelProcess s = pair.s();
                KernelProcess r = pair.r();
                int ep = pagesSent(k, s, r, 40, 64);
                int[] lost = {0};
                Thread receiver = Thread.ofPlatform().start(() -> {
                    try {
                        int got = 0;
                        while (got < 40) {
                            Result<Message> m = k.receive(r, ep, Duration.ofSeconds(2));
                            if (!m.isOk()) {
                                problems.add("receive: " + m);
                                return;
                            }
                            got++;
                            if (m.orElseThrow().frameError() != null) {
                                lost[0]++;
                            } else if (!k.page(r, m.orElseThrow().frame()).isOk()) {
                                problems.add("a page said delivered is not mapped");
                            }
                        }
                    } catch (Throwable e) {
                        problems.add("receiver threw " + e);
                    }
                });
                Thread.sleep(round % 3);
                try {
                    k.killContainer(a);
                } catch (Throwable e) {
                    problems.add("killContainer(a) threw " + e);
                }
                receiver.join(5000);
                List<String> v = k.checkInvariants();
                if (!v.isEmpty()) {
                    problems.add("invariants: " + v);
                }
                k.killContainer(b);
                if (k.freeFrames() != k.totalFrames()) {
                    problems.add("frames leaked: " + (k.totalFrames() - k.freeFrames()));
                }
            }
        }
        assertEquals(List.of(), problems);
    }
}
