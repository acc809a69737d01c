package io.hashkernel.kernel.kv;

import io.hashkernel.kernel.FrameSize;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The key-value service as its clients see it, and its store domain crashed under load. */
class KvServiceTest {
    @TempDir
    Path dir;

    private static Kernel kernel() {
        return Kernel.builder().memoryBytes(32 * FrameSize.HUGE.bytes()).build();
    }

    @Test
    void clientsWriteAndReadAndTheDataOutlivesTheService() {
        Path file = dir.resolve("kv.hkt");
        KvService.Config config = KvService.Config.of(file).capacity(1 << 14);
        try (Kernel kernel = kernel()) {
            KvService service = KvService.start(kernel, kernel.root(), config).orElseThrow();
            KvClient a = service.connect("a").orElseThrow();
            KvClient b = service.connect("b").orElseThrow();
            assertTrue(a.put(1, 10).isOk());
            assertTrue(b.putAll(new long[]{2, 3}, new long[]{20, 30}).isOk());
            assertEquals(10L, b.get(1).orElseThrow());
            assertNull(a.get(99).orElseThrow());
            assertArrayEquals(new long[]{10, 20, 30, KvService.MISSING}, a.getAll(new long[]{1, 2, 3, 4}).orElseThrow());
            assertEquals(KernelError.INVALID_ARGUMENT, a.put(5, KvService.MISSING).error());
            assertEquals(KernelError.INVALID_ARGUMENT, a.putAll(new long[KvService.MAX_PAIRS + 1],
                    new long[KvService.MAX_PAIRS + 1]).error());
            assertEquals(KernelError.INVALID_ARGUMENT, a.putAll(new long[]{1}, new long[0]).error());
            assertEquals(KernelError.INVALID_ARGUMENT, a.getAll(new long[KvService.MAX_KEYS + 1]).error());
            assertEquals(List.of(), kernel.checkInvariants());
            service.close();
            assertEquals(kernel.totalFrames(), kernel.freeFrames());
            assertEquals(KernelError.NO_SUCH_OBJECT, a.put(1, 11).error());   // its process died with the service
        }
        try (Kernel kernel = kernel()) {
            KvService service = KvService.start(kernel, kernel.root(), config).orElseThrow();
            KvClient c = service.connect("c").orElseThrow();
            assertArrayEquals(new long[]{10, 20, 30}, c.getAll(new long[]{1, 2, 3}).orElseThrow());
            service.close();
        }
    }

    @Test
    void aCrashIsAnErrorForTheRequestsItCaughtAndTheSupervisorRestartsTheStore() throws Exception {
        try (Kernel kernel = kernel()) {
            KvService service = KvService.start(kernel, kernel.root(),
                    KvService.Config.of(dir.resolve("crash.hkt")).capacity(1 << 14)).orElseThrow();
            KvClient c = service.connect("c").orElseThrow();
            for (CrashSwitch.Point point : CrashSwitch.Point.values()) {
                assertTrue(c.put(7, point.ordinal()).isOk());
                service.crashes().arm(point);
                Result<?> r = point == CrashSwitch.Point.MID_READ ? c.get(7) : c.put(7, 100 + point.ordinal());
                assertEquals(KernelError.DOMAIN_FAILED, r.error(), r.toString());
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                Result<Long> after;
                do {
                    after = c.get(7);                       // DOMAIN_DEAD until the supervisor restarts it
                } while (!after.isOk() && System.nanoTime() < deadline);
                long expected = point == CrashSwitch.Point.AFTER_LOG || point == CrashSwitch.Point.MID_TABLE
                        ? 100 + point.ordinal() : point.ordinal();  // durable, though not acknowledged
                assertEquals(expected, after.orElseThrow(), "after a crash at " + point);
                assertEquals(List.of(), kernel.checkInvariants());
            }
            assertEquals(4, service.crashes().fired());
            assertEquals(4, service.restarts());
            service.close();
            assertEquals(kernel.totalFrames(), kernel.freeFrames());
        }
    }

    @Test
    void noAcknowledgedWriteIsLostWhileTheStoreCrashesUnderLoad() {
        KvDrill.Report r = KvDrill.run(new KvDrill.Options(Duration.ofSeconds(2), Duration.ofMillis(20), 2, 8, 2048,
                dir, 42));
        assertTrue(r.crashes() >= 10, "crashes: " + r);
        assertTrue(r.restarts() >= r.crashes() - 1, r.toString());
        assertTrue(r.acknowledgedWrites() > 0 && r.reads() > 0, r.toString());
        assertTrue(r.refused() > 0, "some requests met a crash: " + r);
        assertEquals(0, r.lostAcknowledgedWrites(), r.toString());
        assertEquals(0, r.readMismatches(), r.toString());
        assertEquals(List.of(), r.invariantViolations());
        assertEquals(0, r.leakedFrames());
        assertTrue(r.passed());
    }
}
