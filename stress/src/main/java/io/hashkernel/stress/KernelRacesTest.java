package io.hashkernel.stress;

import io.hashkernel.kernel.ContainerId;
import io.hashkernel.kernel.Domain;
import io.hashkernel.kernel.DomainSpec;
import io.hashkernel.kernel.Frame;
import io.hashkernel.kernel.FrameSize;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.Quota;
import io.hashkernel.kernel.RestartPolicy;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.XRef;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.LongSupplier;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The kernel substrate's races: a call against its domain's death, a move of an exchange-heap
 * object against a borrow of it, and a frame allocation against its container's kill. One
 * kernel serves every test instance; each instance makes (and its arbiter removes) what it uses.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t KernelRacesTest}
 */
public final class KernelRacesTest {
    static final long CELL = 0x5EED_CE11L;
    static final Kernel KERNEL = Kernel.builder().memoryBytes(256L << 20).build();
    /** Two domains that own and trade the exchange-heap objects of MoveRacesBorrow. */
    static final Domain<Runnable> A = runnable("a");
    static final Domain<Runnable> B = runnable("b");

    private KernelRacesTest() {
    }

    private static Domain<Runnable> runnable(String name) {
        return KERNEL.newDomain(KERNEL.root(), new DomainSpec<>(name, Runnable.class, ctx -> () -> { },
                RestartPolicy.never())).orElseThrow();
    }

    /** A call reads the domain's memory while the domain is killed: the value, or an error, never freed memory. */
    @JCStressTest
    @Description("A call racing its domain's death sees the result or an error, never a half-dead domain.")
    @Outcome(id = {"1, 0", "-1, 0", "-2, 0"}, expect = ACCEPTABLE,
            desc = "the value (1), the call failed on revoked memory (-1), or the domain was already dead (-2); its frame is free")
    @Outcome(expect = FORBIDDEN, desc = "a value from freed memory, or a frame still held")
    @State
    public static class CallRacesDeath {
        final ContainerId container = KERNEL.newContainer(KERNEL.root(), new Quota(4, 0, 2)).orElseThrow();
        final Domain<LongSupplier> domain = KERNEL.newDomain(container, new DomainSpec<>("cell", LongSupplier.class, ctx -> {
            MemorySegment cell = ctx.allocate(8, 8);
            cell.set(ValueLayout.JAVA_LONG, 0, CELL);
            return () -> cell.get(ValueLayout.JAVA_LONG, 0);
        }, RestartPolicy.never())).orElseThrow();

        @Actor
        public void caller(JJ_Result r) {
            Result<Long> got = domain.call(LongSupplier::getAsLong);
            if (got instanceof Result.Ok<Long>(Long v)) {
                r.r1 = v == CELL ? 1 : v;
            } else {
                r.r1 = got.error() == KernelError.DOMAIN_FAILED ? -1 : got.error() == KernelError.DOMAIN_DEAD ? -2 : -3;
            }
        }

        @Actor
        public void killer() {
            KERNEL.killDomain(domain).orElseThrow();
        }

        @Arbiter
        public void arbiter(JJ_Result r) {
            r.r2 = KERNEL.usage(container).orElseThrow().smallFrames();
            KERNEL.killContainer(container).orElseThrow();
        }
    }

    /** A move of an object against a borrow of it: while lent, it does not move. */
    @JCStressTest
    @Description("moveTo racing a borrow: the borrow is refused after the move, or the move after the borrow began.")
    @Outcome(id = {"1, 0", "0, 1", "1, 1"}, expect = ACCEPTABLE,
            desc = "moved (1) or refused (0); the borrow refused (0) or held an owned object throughout (1)")
    @Outcome(id = "0, 0", expect = FORBIDDEN, desc = "neither happened")
    @Outcome(expect = FORBIDDEN, desc = "the object moved while lent (2), or the lent value was wrong (3)")
    @State
    public static class MoveRacesBorrow {
        final XRef x;
        volatile XRef moved;

        public MoveRacesBorrow() {
            x = KERNEL.allocateShared(A, 8).orElseThrow();
            x.setLong(0, CELL);
        }

        @Actor
        public void mover(JJ_Result r) {
            Result<XRef> m = x.moveTo(B);
            if (m instanceof Result.Ok<XRef>(XRef y)) {
                moved = y;
                r.r1 = 1;
            } else {
                r.r1 = m.error() == KernelError.INVALID_STATE ? 0 : -1;
            }
        }

        @Actor
        public void borrower(JJ_Result r) {
            XRef.Borrow loan;
            try {
                loan = x.borrow();
            } catch (IllegalStateException movedFirst) {
                r.r2 = 0;
                return;
            }
            try {
                long v = loan.getLong(0);
                r.r2 = !x.isValid() ? 2 : v != CELL ? 3 : 1;
            } finally {
                loan.close();
            }
        }

        @Arbiter
        public void arbiter() {
            (moved != null ? moved : x).drop().orElseThrow();
        }
    }

    /** A frame allocation against the kill of its container: a frame given is freed by the kill. */
    @JCStressTest
    @Description("allocateFrame racing killContainer: either the container is gone, or the kill frees the frame.")
    @Outcome(id = {"1, 0", "0, 0"}, expect = ACCEPTABLE, desc = "allocated (1) or the container was gone (0); no frame held after")
    @Outcome(expect = FORBIDDEN, desc = "a frame outlived its container, or another error")
    @State
    public static class AllocationRacesKill {
        final ContainerId container = KERNEL.newContainer(KERNEL.root(), new Quota(4, 0, 1)).orElseThrow();
        volatile Frame frame;

        @Actor
        public void allocator(JJ_Result r) {
            Result<Frame> f = KERNEL.allocateFrame(container, FrameSize.SMALL);
            if (f instanceof Result.Ok<Frame>(Frame got)) {
                frame = got;
                r.r1 = 1;
            } else {
                r.r1 = f.error() == KernelError.NO_SUCH_OBJECT ? 0 : -1;
            }
        }

        @Actor
        public void killer() {
            KERNEL.killContainer(container).orElseThrow();
        }

        @Arbiter
        public void arbiter(JJ_Result r) {
            Frame f = frame;
            // The frame may since have gone to another instance's container; never to this one's again.
            r.r2 = f != null && KERNEL.holderOf(f) instanceof Result.Ok<ContainerId>(ContainerId holder)
                    && holder.equals(container) ? 1 : 0;
        }
    }
}
