package io.hashkernel.bench.kernel;

import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelProcess;
import io.hashkernel.kernel.KernelThread;
import io.hashkernel.kernel.Message;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.Rights;
import io.hashkernel.kernel.ThreadSpec;

import java.time.Duration;
import java.util.Arrays;

/**
 * The round trip of a message between two processes over two endpoints: the caller sends on
 * one, a kernel thread of the other process (spinning between duty cycles) receives it and sends
 * it back on the other, and the caller receives the reply. Both ends use the non-blocking calls
 * and spin, as a fast path that never sleeps; every call checks its capability's rights.
 */
final class IpcRoundTrip {
    private IpcRoundTrip() {
    }

    /** The median of {@code windows} windows of {@code window} each (after as many of warm-up): ns per round trip. */
    static double measure(Duration window, int windows) {
        try (Kernel kernel = Kernel.builder().memoryBytes(8L << 20).build()) {
            KernelProcess caller = kernel.newProcess(kernel.root(), "caller").orElseThrow();
            KernelProcess callee = kernel.newProcess(kernel.root(), "callee").orElseThrow();
            int calls = kernel.newEndpoint(callee, 64).orElseThrow();
            int replies = kernel.newEndpoint(caller, 64).orElseThrow();
            int toCallee = kernel.grant(callee, calls, caller, Rights.WRITE).orElseThrow();
            int toCaller = kernel.grant(caller, replies, callee, Rights.WRITE).orElseThrow();
            KernelThread echo = kernel.newThread(callee, new ThreadSpec("echo", ThreadSpec.ANY_CPU,
                    ThreadSpec.Idle.BUSY_SPIN, () -> {
                        Result<Message> m = kernel.tryReceive(callee, calls);
                        if (!(m instanceof Result.Ok<Message>(Message message))) {
                            return 0;
                        }
                        while (kernel.trySend(callee, toCaller, message).error() != null) {
                            Thread.onSpinWait();
                        }
                        return 1;
                    })).orElseThrow();
            Message ping = Message.of(1, 2, 3, 4);
            double[] ns = new double[windows];
            for (int w = -windows; w < windows; w++) {                         // as many windows of warm-up
                long n = 0;
                long start = System.nanoTime();
                long end = start + window.toNanos();
                long now;
                do {
                    for (int i = 0; i < 256; i++) {
                        kernel.trySend(caller, toCallee, ping).orElseThrow();
                        while (!kernel.tryReceive(caller, replies).isOk()) {
                            Thread.onSpinWait();
                        }
                    }
                    n += 256;
                    now = System.nanoTime();
                } while (now < end);
                if (w >= 0) {
                    ns[w] = (double) (now - start) / n;
                }
            }
            kernel.kill(echo).orElseThrow();
            Arrays.sort(ns);
            return ns[windows / 2];
        }
    }
}
