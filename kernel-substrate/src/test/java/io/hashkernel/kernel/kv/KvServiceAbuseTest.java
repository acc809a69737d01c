package io.hashkernel.kernel.kv;

import io.hashkernel.kernel.FrameSize;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.Message;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.Rights;
import io.hashkernel.kernel.ThreadSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Requests a well-behaved client would not send, and crashes at every point of a write. */
class KvServiceAbuseTest {
    @TempDir
    Path dir;

    private KvService.Config config(String name) {
        return new KvService.Config(dir.resolve(name), 1 << 12, 4 << 20, new CrashSwitch(), ThreadSpec.ANY_CPU,
                Duration.ofMillis(500));
    }

    /** A client's slot 1 is its capability to the request endpoint (0 is its reply endpoint). */
    private static final int TO_SERVER = 1;

    @Test
    void aMalformedRequestDoesNotKillTheServer() {
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config("a.hkt")).orElseThrow();
            KvClient good = service.connect("good").orElseThrow();
            KvClient evil = service.connect("evil").orElseThrow();
            assertTrue(good.put(1, 10).isOk());
            // an empty message (or a PUT claiming more pairs than it carries) through the client's own capability
            assertTrue(kernel.trySend(evil.process(), TO_SERVER, Message.of()).isOk());
            Result<Void> after = good.put(2, 20);
            assertTrue(after.isOk(), "a well-formed request after one malformed message: " + after);
            service.close();
        }
    }

    @Test
    void aPutClaimingMorePairsThanItCarriesDoesNotKillTheServer() {
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config("b.hkt")).orElseThrow();
            KvClient good = service.connect("good").orElseThrow();
            KvClient evil = service.connect("evil").orElseThrow();
            assertTrue(kernel.trySend(evil.process(), TO_SERVER, Message.of(KvService.PUT, 1, 1, 1000)).isOk());
            Result<Void> after = good.put(2, 20);
            assertTrue(after.isOk(), "a well-formed request after a lying PUT: " + after);
            service.close();
        }
    }

    /** Every client sends over one endpoint: the token it got at connect, not a guessable number, says who asks. */
    @Test
    void aClientCannotSpeakForAnotherConnection() throws Exception {
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config("c.hkt")).orElseThrow();
            KvClient victim = service.connect("victim").orElseThrow();     // connection 0
            KvClient evil = service.connect("evil").orElseThrow();         // connection 1
            assertTrue(victim.put(7, 70).isOk());                           // victim's seq 1
            assertTrue(victim.put(8, 80).isOk());                           // victim's seq 2
            // evil asks as connection 0 with the victim's next seq (3): were it answered, its reply would
            // reach the victim's reply endpoint before the victim's own; and it writes in the victim's name
            for (long forged : new long[]{0, 1, 1 << 20, -1}) {
                assertTrue(kernel.trySend(evil.process(), TO_SERVER, Message.of(KvService.GET, forged, 3, 1, 8)).isOk());
                assertTrue(kernel.trySend(evil.process(), TO_SERVER, Message.of(KvService.PUT, forged, 3, 1, 7, 666)).isOk());
            }
            Thread.sleep(100);
            Result<Long> v = victim.get(7);                                 // seq 3
            assertEquals(70L, v.orElseThrow(), "the victim's get(7) was answered with evil's get(8), or 7 was overwritten");
            assertEquals(70L, evil.get(7).orElseThrow());
            service.close();
        }
    }

    /** A value the store cannot hold, sent by hand with a valid token, is refused before the store sees it. */
    @Test
    void aPutOfTheMissingValueIsRefusedAndDoesNotFailAnotherClientsWrite() {
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config("m.hkt")).orElseThrow();
            KvClient good = service.connect("good").orElseThrow();
            KvClient evil = service.connect("evil").orElseThrow();
            for (int i = 0; i < 10; i++) {
                assertTrue(kernel.trySend(evil.process(), TO_SERVER,
                        Message.of(KvService.PUT, evil.token(), 100 + i, 1, 5, KvService.MISSING)).isOk());
                assertTrue(good.put(6, i + 1).isOk(), "a good write batched with the bad one");
                Message reply = kernel.receive(evil.process(), 0, Duration.ofSeconds(5)).orElseThrow();
                assertEquals(1 + KernelError.INVALID_ARGUMENT.ordinal(), reply.word(0));
            }
            assertEquals(0, service.restarts(), "the store never crashed");
            assertEquals(10L, good.get(6).orElseThrow());
            assertEquals(null, good.get(5).orElseThrow());
            service.close();
        }
    }

    /** A full store refuses new keys with a named error, still takes overwrites and reads, and never crashes. */
    @Test
    void aFullStoreRefusesNewKeysAndKeepsServing() {
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config("f.hkt").capacity(1024)).orElseThrow();
            KvClient c = service.connect("c").orElseThrow();
            long[] keys = new long[KvService.MAX_PAIRS];
            long[] values = new long[KvService.MAX_PAIRS];
            long next = 0;
            Result<Void> r;
            while ((r = c.putAll(fill(keys, next), fill(values, next))).isOk()) {
                next += keys.length;
            }
            assertEquals(KernelError.QUOTA_EXCEEDED, r.error(), r.toString());
            while ((r = c.put(next, next)).isOk()) {
                next++;
            }
            assertEquals(KernelError.QUOTA_EXCEEDED, r.error(), r.toString());
            assertEquals(768, next, "3/4 of 1024 slots");
            assertTrue(c.put(0, 42).isOk(), "an overwrite of a key it holds");
            assertEquals(42L, c.get(0).orElseThrow());
            assertEquals(next - 1, c.get(next - 1).orElseThrow());
            assertEquals(0, service.restarts());
            service.close();
        }
    }

    private static long[] fill(long[] a, long from) {
        for (int i = 0; i < a.length; i++) {
            a[i] = from + i;
        }
        return a;
    }

    /** A CONNECT of two words is still answered, with a token that works. */
    @Test
    void aShortConnectIsAnswered() {
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config("s.hkt")).orElseThrow();
            KvClient c = service.connect("c").orElseThrow();
            int replies = kernel.newEndpoint(c.process(), 4).orElseThrow();
            assertTrue(kernel.trySend(c.process(), TO_SERVER, Message.of(KvService.CONNECT, -1)
                    .withCapability(replies, Rights.WRITE)).isOk());
            Message hello = kernel.receive(c.process(), replies, Duration.ofSeconds(5)).orElseThrow();
            long token = hello.word(3);
            assertTrue(kernel.trySend(c.process(), TO_SERVER, Message.of(KvService.GET, token, 1, 1, 42)).isOk());
            Message got = kernel.receive(c.process(), replies, Duration.ofSeconds(5)).orElseThrow();
            assertEquals(KvService.OK, got.word(0));
            assertEquals(KvService.MISSING, got.word(3));
            service.close();
        }
    }

    @Test
    void closeTwiceAndClientAfterClose() {
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config("d.hkt")).orElseThrow();
            KvClient c = service.connect("c").orElseThrow();
            assertTrue(c.put(1, 1).isOk());
            service.close();
            service.close();
            assertTrue(!c.put(1, 2).isOk());
            assertTrue(!c.get(1).isOk());
            assertTrue(!service.connect("late").isOk());
            assertEquals(List.of(), kernel.checkInvariants());
            assertEquals(kernel.totalFrames(), kernel.freeFrames());
        }
    }

    @Test
    void acknowledgedWritesSurviveEveryCrashPoint() {
        Path file = dir.resolve("e.hkt");
        KvService.Config cfg = new KvService.Config(file, 1 << 12, 4 << 20, new CrashSwitch(), ThreadSpec.ANY_CPU,
                Duration.ofSeconds(3));
        long acked = 0;
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), cfg).orElseThrow();
            KvClient c = service.connect("c").orElseThrow();
            for (int i = 0; i < 40; i++) {
                cfg.crashes().arm(CrashSwitch.Point.values()[i % 4]);
                Result<Void> r = c.put(i, i * 10L);
                if (r.isOk()) {
                    acked |= 1L << i;
                }
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (!service.store().isAlive() && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                Result<Long> g = c.get(i);
                if (g.isOk() && (acked & (1L << i)) != 0) {
                    assertEquals(i * 10L, g.orElseThrow());
                }
            }
            cfg.crashes().disarm();
            assertEquals(List.of(), kernel.checkInvariants());
            service.close();
        }
        try (Kernel kernel = Kernel.builder().memoryBytes(16 * FrameSize.HUGE.bytes()).build()) {
            KvService service = KvService.start(kernel, kernel.root(), cfg).orElseThrow();
            KvClient c = service.connect("c").orElseThrow();
            for (int i = 0; i < 40; i++) {
                if ((acked & (1L << i)) != 0) {
                    assertEquals(i * 10L, c.get(i).orElseThrow(), "acknowledged key " + i);
                }
            }
            service.close();
        }
    }
}
