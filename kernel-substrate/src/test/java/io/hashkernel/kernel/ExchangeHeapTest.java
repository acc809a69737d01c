package io.hashkernel.kernel;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The exchange heap: one owner at a time, moves, borrows, drops, and an owner's death. */
class ExchangeHeapTest {
    private Kernel kernel;
    private ContainerId left;
    private ContainerId right;
    private Domain<Runnable> a;
    private Domain<Runnable> b;

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(8 * FrameSize.HUGE.bytes()).build();
        left = kernel.newContainer(kernel.root(), new Quota(16, 2, 8)).orElseThrow();
        right = kernel.newContainer(kernel.root(), new Quota(16, 2, 8)).orElseThrow();
        a = domain(left, "a");
        b = domain(right, "b");
    }

    private Domain<Runnable> domain(ContainerId c, String name) {
        return kernel.newDomain(c, new DomainSpec<>(name, Runnable.class, ctx -> () -> { }, RestartPolicy.always()))
                .orElseThrow();
    }

    @AfterEach
    void close() {
        assertEquals(List.of(), kernel.checkInvariants());
        kernel.close();
    }

    @Test
    void aMoveHandsTheObjectOverAndStalesTheOldHandle() {
        XRef x = kernel.allocateShared(a, 64).orElseThrow();
        assertEquals(0, x.getLong(8), "zero-filled");
        x.setLong(8, 42);
        assertEquals(1, kernel.usage(left).orElseThrow().smallFrames());
        XRef y = x.moveTo(b).orElseThrow();
        assertEquals(42, y.getLong(8));
        assertFalse(x.isValid());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> x.getLong(8));
        assertTrue(e.getMessage().contains("moved to domain b"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> x.setLong(0, 1));
        assertThrows(IllegalStateException.class, x::borrow);
        assertEquals(KernelError.NO_SUCH_OBJECT, x.moveTo(a).error());
        assertEquals(KernelError.NO_SUCH_OBJECT, x.drop().error());
        assertEquals(new Kernel.Usage(new Quota(16, 2, 8), 0, 0, 1, new Quota(0, 0, 0)), kernel.usage(left).orElseThrow());
        assertEquals(new Kernel.Usage(new Quota(16, 2, 8), 1, 0, 2, new Quota(0, 0, 0)), kernel.usage(right).orElseThrow());
        assertEquals(List.of(), kernel.checkInvariants());
        XRef back = y.moveTo(a).orElseThrow();
        assertEquals(42, back.getLong(8));
        assertTrue(back.drop().isOk());
        assertThrows(IllegalStateException.class, () -> back.getLong(8));
        assertEquals(0, kernel.usage(left).orElseThrow().smallFrames());
    }

    @Test
    void aBorrowIsReadOnlyAndPinsTheOwner() {
        XRef x = kernel.allocateShared(a, 3 << 20).orElseThrow();    // two superpages
        assertEquals(2, kernel.usage(left).orElseThrow().hugeFrames());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(16);
            src.fill((byte) 7);
            x.copyFrom(src, (3 << 20) - 16);
            try (XRef.Borrow loan = x.borrow()) {
                MemorySegment dst = arena.allocate(16);
                loan.copyTo((3 << 20) - 16, dst);
                assertEquals(src.asByteBuffer(), dst.asByteBuffer());
                assertEquals(3 << 20, loan.byteSize());
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> x.setLong(0, 1));
                assertTrue(e.getMessage().contains("borrowed"), e.getMessage());
                assertEquals(KernelError.INVALID_STATE, x.moveTo(b).error());
                assertEquals(KernelError.INVALID_STATE, x.drop().error());
                assertEquals(KernelError.QUOTA_EXCEEDED, kernel.allocateShared(a, 3 << 20).error());
            }
        }
        assertEquals(KernelError.QUOTA_EXCEEDED, x.moveTo(domain(kernel.newContainer(kernel.root(),
                new Quota(0, 1, 2)).orElseThrow(), "small")).error(), "two superpages do not fit a quota of one");
        assertTrue(x.isValid(), "a refused move leaves the object where it was");
        XRef y = x.moveTo(b).orElseThrow();
        assertEquals(2, kernel.usage(right).orElseThrow().hugeFrames());
        assertEquals(0, kernel.usage(left).orElseThrow().hugeFrames());
        assertTrue(y.drop().isOk());
    }

    @Test
    void anOwnersDeathDropsItsObjects() {
        XRef x = kernel.allocateShared(b, 100).orElseThrow();
        XRef.Borrow loan = x.borrow();
        assertEquals(KernelError.DOMAIN_FAILED, b.call(r -> {
            throw new IllegalStateException("b fails");
        }).error());
        assertTrue(b.isAlive(), "restarted");
        assertThrows(IllegalStateException.class, () -> x.getLong(0));
        assertThrows(IllegalStateException.class, () -> loan.getLong(0));
        loan.close();
        assertEquals(0, kernel.usage(right).orElseThrow().smallFrames());
        assertEquals(1, kernel.usage(right).orElseThrow().objects(), "only the domain itself");
        XRef y = kernel.allocateShared(b, 100).orElseThrow();
        assertTrue(kernel.killContainer(right).isOk());
        assertThrows(IllegalStateException.class, () -> y.getLong(0));
        assertEquals(KernelError.DOMAIN_DEAD, kernel.allocateShared(b, 8).error());
    }

    /** An object's frames are the container's, but in use: the container cannot free or merge them under it. */
    @Test
    void theContainerCannotFreeOrMergeAnObjectsFrames() {
        XRef x = kernel.allocateShared(a, 8).orElseThrow();
        x.setLong(0, 5);
        Frame f = new Frame(x.object.first, FrameSize.SMALL);
        assertEquals(left, kernel.holderOf(f).orElseThrow());
        assertEquals(KernelError.INVALID_STATE, kernel.freeFrame(left, f).error());
        assertEquals(KernelError.INVALID_STATE, kernel.mergeFrames(left, new Frame(f.number() - f.number() % 512,
                FrameSize.SMALL)).error());
        assertEquals(5, x.getLong(0));
        XRef y = x.moveTo(b).orElseThrow();
        assertEquals(KernelError.INVALID_STATE, kernel.freeFrame(right, f).error());
        assertTrue(y.drop().isOk());
    }

    @Test
    void badInputIsANamedError() {
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.allocateShared(null, 8).error());
        assertEquals(KernelError.INVALID_ARGUMENT, kernel.allocateShared(a, 0).error());
        XRef x = kernel.allocateShared(a, 8).orElseThrow();
        assertEquals(KernelError.INVALID_ARGUMENT, x.moveTo(null).error());
        assertTrue(kernel.killDomain(b).isOk());
        assertEquals(KernelError.DOMAIN_DEAD, x.moveTo(b).error());
        assertThrows(IndexOutOfBoundsException.class, () -> x.getLong(4), "past the object's 8 bytes");
        assertThrows(NullPointerException.class, () -> x.copyTo(0, null));
        try (Kernel other = Kernel.builder().memoryBytes(FrameSize.HUGE.bytes()).build()) {
            Domain<Runnable> foreign = other.newDomain(other.root(), new DomainSpec<>("f", Runnable.class,
                    ctx -> () -> { }, RestartPolicy.never())).orElseThrow();
            assertEquals(KernelError.INVALID_ARGUMENT, x.moveTo(foreign).error());
            assertEquals(KernelError.INVALID_ARGUMENT, kernel.allocateShared(foreign, 8).error());
        }
    }
}
