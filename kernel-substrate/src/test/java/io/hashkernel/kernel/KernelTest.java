package io.hashkernel.kernel;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Frames, containers and quotas as a user of the kernel's calls sees them. */
class KernelTest {
    private static final int SUPERPAGES = 8;
    private Kernel kernel;

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(SUPERPAGES * FrameSize.HUGE.bytes()).rootObjects(1000).build();
    }

    @AfterEach
    void close() {
        assertEquals(List.of(), kernel.checkInvariants());
        kernel.close();
    }

    private static void assertErr(KernelError expected, Result<?> r, String... mentions) {
        Result.Err<?> e = assertInstanceOf(Result.Err.class, r, "expected " + expected + ", was " + r);
        assertEquals(expected, e.error(), e.message());
        for (String m : mentions) {
            assertTrue(e.message().contains(m), "'" + e.message() + "' should mention '" + m + "'");
        }
    }

    @Test
    void theRootHoldsTheWholePool() {
        Kernel.Usage u = kernel.usage(kernel.root()).orElseThrow();
        assertEquals(new Quota(SUPERPAGES * 512L, SUPERPAGES, 1000), u.quota());
        assertEquals(SUPERPAGES * 512L, kernel.freeFrames());
        assertEquals(SUPERPAGES * 512L, kernel.totalFrames());
    }

    @Test
    void framesAreHeldOnceAndComeBack() {
        ContainerId c = kernel.newContainer(kernel.root(), new Quota(600, 2, 10)).orElseThrow();
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 600; i++) {
            Frame f = kernel.allocateFrame(c, FrameSize.SMALL).orElseThrow();
            assertTrue(seen.add(f.number()), "frame " + f + " given twice");
            assertEquals(c, kernel.holderOf(f).orElseThrow());
        }
        assertErr(KernelError.QUOTA_EXCEEDED, kernel.allocateFrame(c, FrameSize.SMALL), "container", "600");
        Frame huge = kernel.allocateFrame(c, FrameSize.HUGE).orElseThrow();
        assertEquals(0, huge.number() % 512);
        assertEquals(List.of(), kernel.checkInvariants());
        assertEquals(SUPERPAGES * 512L - 600 - 512, kernel.freeFrames());
        for (long n : seen) {
            assertTrue(kernel.freeFrame(c, new Frame(n, FrameSize.SMALL)).isOk());
        }
        assertTrue(kernel.freeFrame(c, huge).isOk());
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(c, huge), "not allocated");
        assertEquals(SUPERPAGES * 512L, kernel.freeFrames(), "split superpages merged back");
        assertEquals(new Kernel.Usage(new Quota(600, 2, 10), 0, 0, 0, new Quota(0, 0, 0)), kernel.usage(c).orElseThrow());
    }

    @Test
    void aSuperpageSplitsAndMergesForItsHolder() {
        ContainerId c = kernel.newContainer(kernel.root(), new Quota(512, 1, 1)).orElseThrow();
        Frame huge = kernel.allocateFrame(c, FrameSize.HUGE).orElseThrow();
        assertErr(KernelError.QUOTA_EXCEEDED, kernel.allocateFrame(c, FrameSize.HUGE), "2 MiB");
        List<Frame> small = kernel.splitFrame(c, huge).orElseThrow();
        assertEquals(512, small.size());
        assertEquals(new Frame(huge.number() + 511, FrameSize.SMALL), small.get(511));
        assertEquals(List.of(), kernel.checkInvariants());
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.holderOf(huge));
        assertTrue(kernel.freeFrame(c, small.get(7)).isOk());
        assertErr(KernelError.INVALID_STATE, kernel.mergeFrames(c, small.get(0)), "frame " + small.get(7).number());
        Frame again = kernel.allocateFrame(c, FrameSize.SMALL).orElseThrow();
        assertEquals(small.get(7), again, "the only free 4 KiB frame of the pool is the one freed");
        assertErr(KernelError.INVALID_STATE, kernel.splitFrame(c, small.get(3)), "only a 2 MiB frame splits");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.mergeFrames(c, small.get(3)), "divisible by 512");
        assertEquals(huge, kernel.mergeFrames(c, small.get(0)).orElseThrow());
        assertEquals(new Kernel.Usage(new Quota(512, 1, 1), 0, 1, 0, new Quota(0, 0, 0)), kernel.usage(c).orElseThrow());
    }

    @Test
    void childQuotasAreReservedFromTheParentAndReturnedOnKill() {
        ContainerId a = kernel.newContainer(kernel.root(), new Quota(1024, 4, 100)).orElseThrow();
        ContainerId b = kernel.newContainer(a, new Quota(1000, 3, 50)).orElseThrow();
        assertErr(KernelError.QUOTA_EXCEEDED, kernel.newContainer(a, new Quota(25, 0, 1)), "container " + a.id(),
                "24 free 4 KiB frames");
        ContainerId grandchild = kernel.newContainer(b, new Quota(10, 1, 5)).orElseThrow();
        kernel.allocateFrame(grandchild, FrameSize.HUGE).orElseThrow();
        kernel.allocateFrame(b, FrameSize.SMALL).orElseThrow();
        assertEquals(new Kernel.Usage(new Quota(1024, 4, 100), 0, 0, 1, new Quota(1000, 3, 50)), kernel.usage(a).orElseThrow());
        long free = kernel.freeFrames();
        assertTrue(kernel.killContainer(b).isOk());
        assertEquals(free + 512 + 1, kernel.freeFrames(), "the killed subtree's frames are free");
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.usage(grandchild), "killed");
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.allocateFrame(b, FrameSize.SMALL));
        assertEquals(new Kernel.Usage(new Quota(1024, 4, 100), 0, 0, 0, new Quota(0, 0, 0)), kernel.usage(a).orElseThrow());
        assertTrue(kernel.newContainer(a, new Quota(1024, 4, 99)).isOk(), "the whole quota is back");
    }

    @Test
    void badInputIsANamedError() {
        ContainerId c = kernel.newContainer(kernel.root(), new Quota(8, 1, 2)).orElseThrow();
        ContainerId other = kernel.newContainer(kernel.root(), new Quota(8, 1, 2)).orElseThrow();
        assertErr(KernelError.INVALID_ARGUMENT, kernel.newContainer(c, new Quota(-1, 0, 1)), "0 or more");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.newContainer(c, new Quota(0, 0, 0)), "at least one object");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.newContainer(null, new Quota(1, 0, 1)));
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.newContainer(new ContainerId(12345), new Quota(1, 0, 1)), "12345");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.killContainer(kernel.root()), "root");
        Frame f = kernel.allocateFrame(c, FrameSize.SMALL).orElseThrow();
        assertErr(KernelError.NOT_OWNER, kernel.freeFrame(other, f), "held by container " + c.id());
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(c, new Frame(f.number(), FrameSize.HUGE)));
        assertErr(KernelError.INVALID_ARGUMENT, kernel.freeFrame(c, new Frame(-1, FrameSize.SMALL)), "outside the pool");
        assertErr(KernelError.INVALID_ARGUMENT, kernel.freeFrame(c, new Frame(SUPERPAGES * 512L, FrameSize.SMALL)));
        assertErr(KernelError.INVALID_ARGUMENT, kernel.allocateFrame(c, null));
        assertTrue(kernel.killContainer(c).isOk());
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.killContainer(c), "killed");
        assertErr(KernelError.NO_SUCH_OBJECT, kernel.freeFrame(c, f));
        assertThrows(IllegalArgumentException.class, () -> Kernel.builder().memoryBytes(3 << 20));
        assertThrows(IllegalArgumentException.class, () -> Kernel.builder().rootObjects(0));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> kernel.allocateFrame(other, null).orElseThrow());
        assertTrue(e.getMessage().startsWith("INVALID_ARGUMENT"), e.getMessage());
    }

    @Test
    void thePoolRunsOutWithANamedError() {
        ContainerId c = kernel.newContainer(kernel.root(), new Quota(0, SUPERPAGES, 1)).orElseThrow();
        ContainerId d = kernel.newContainer(kernel.root(), new Quota(1, 0, 1)).orElseThrow();
        for (int i = 0; i < SUPERPAGES; i++) {
            kernel.allocateFrame(c, FrameSize.HUGE).orElseThrow();
        }
        assertErr(KernelError.OUT_OF_MEMORY, kernel.allocateFrame(d, FrameSize.SMALL), "no free 4 KiB frame");
        assertEquals(0, kernel.freeFrames());
    }

    @Test
    void aClosedKernelRefusesEveryCall() {
        ContainerId c = kernel.newContainer(kernel.root(), new Quota(8, 1, 2)).orElseThrow();
        kernel.close();
        assertTrue(kernel.isClosed());
        assertErr(KernelError.KERNEL_CLOSED, kernel.allocateFrame(c, FrameSize.SMALL));
        assertErr(KernelError.KERNEL_CLOSED, kernel.newContainer(c, new Quota(1, 0, 1)));
        assertErr(KernelError.KERNEL_CLOSED, kernel.holderOf(new Frame(0, FrameSize.SMALL)));
        assertFalse(kernel.toString().isEmpty());
        kernel.close();                                     // idempotent
    }
}
