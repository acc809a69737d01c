package io.hashkernel.stress;

import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.KernelProcess;
import io.hashkernel.kernel.Message;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.Rights;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The races of the kernel's process half: a page sent away while its sender still reads it, and
 * a receive of a page against the endpoint's destruction. One kernel and two processes serve
 * every instance; each instance makes (and its arbiter removes) its own endpoint and page.
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t ProcessRacesTest}
 */
public final class ProcessRacesTest {
    static final long VALUE = 0x5EED_9A6EL;
    static final Kernel KERNEL = Kernel.builder().memoryBytes(64L << 20).build();
    static final KernelProcess SENDER = KERNEL.newProcess(KERNEL.root(), "sender").orElseThrow();
    static final KernelProcess RECEIVER = KERNEL.newProcess(KERNEL.root(), "receiver").orElseThrow();
    static final AtomicLong PAGES = new AtomicLong();

    private ProcessRacesTest() {
    }

    /** One instance's endpoint (the receiver's, the sender may write) and a page of the sender holding VALUE. */
    abstract static class Setup {
        final int endpoint = KERNEL.newEndpoint(RECEIVER, 2).orElseThrow();
        final int toEndpoint = KERNEL.grant(RECEIVER, endpoint, SENDER, Rights.WRITE).orElseThrow();
        final long va = (PAGES.incrementAndGet() % (1L << 30)) * 4096;
        final MemorySegment page;

        Setup() {
            KERNEL.map(SENDER, va, 1).orElseThrow();
            page = KERNEL.page(SENDER, va).orElseThrow();
            page.set(ValueLayout.JAVA_LONG, 0, VALUE);
        }

        /** The receiver's read of a received page: 1 if it holds VALUE (then it is unmapped), else its value. */
        static long readAndFree(Message m) {
            if (m.frame() == Message.NONE) {
                return m.frameError() == KernelError.NO_SUCH_OBJECT ? -4 : -5;
            }
            long v = KERNEL.page(RECEIVER, m.frame()).orElseThrow().get(ValueLayout.JAVA_LONG, 0);
            KERNEL.unmap(RECEIVER, m.frame(), 1).orElseThrow();
            return v == VALUE ? 1 : v;
        }
    }

    /** The sender reads its page while sending it: the value, or IllegalStateException; the receiver gets it whole. */
    @JCStressTest
    @Description("A page sent away is unreachable through the sender's segment once the send is done, and arrives whole.")
    @Outcome(id = {"1, 1", "-1, 1"}, expect = ACCEPTABLE,
            desc = "the sender read the value before the send (1) or found its segment revoked (-1); the receiver has the page")
    @Outcome(expect = FORBIDDEN, desc = "another value through the old segment, or a page lost or changed")
    @State
    public static class SendRacesSenderRead extends Setup {
        @Actor
        public void sender() {
            KERNEL.trySend(SENDER, toEndpoint, Message.of(1).withFrame(va)).orElseThrow();
        }

        @Actor
        public void reader(JJ_Result r) {
            try {
                long v = page.get(ValueLayout.JAVA_LONG, 0);
                r.r1 = v == VALUE ? 1 : v;
            } catch (IllegalStateException revoked) {
                r.r1 = -1;
            }
        }

        @Arbiter
        public void arbiter(JJ_Result r) {
            Result<Message> m = KERNEL.tryReceive(RECEIVER, endpoint);
            r.r2 = m.isOk() ? readAndFree(m.orElseThrow()) : -3;
            KERNEL.destroyEndpoint(RECEIVER, endpoint).orElseThrow();
        }
    }

    /** A receive of a message carrying a page races the destruction of the endpoint. */
    @JCStressTest
    @Description("A page in flight either reaches the receiver whole or is freed with the endpoint; the receive never fails otherwise.")
    @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "received before the destruction, with its page")
    @Outcome(id = {"-2, 0", "-3, 0"}, expect = ACCEPTABLE,
            desc = "the endpoint was destroyed first (stale capability), or drained just before the receive (empty)")
    @Outcome(expect = FORBIDDEN, desc = "another error, a page lost on the way, or the destruction refused")
    @State
    public static class ReceiveRacesDestroy extends Setup {
        ReceiveRacesDestroy() {
            KERNEL.trySend(SENDER, toEndpoint, Message.of(1).withFrame(va)).orElseThrow();
        }

        @Actor
        public void receiver(JJ_Result r) {
            Result<Message> m = KERNEL.tryReceive(RECEIVER, endpoint);
            if (m.isOk()) {
                r.r1 = readAndFree(m.orElseThrow());
            } else {
                r.r1 = m.error() == KernelError.STALE_CAPABILITY ? -2 : m.error() == KernelError.WOULD_BLOCK ? -3 : -9;
            }
        }

        @Actor
        public void destroyer(JJ_Result r) {
            r.r2 = KERNEL.destroyEndpoint(RECEIVER, endpoint).isOk() ? 0 : 1;
        }
    }
}
