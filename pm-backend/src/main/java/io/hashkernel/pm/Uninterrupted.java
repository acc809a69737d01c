package io.hashkernel.pm;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;

/**
 * File I/O that an interrupt of the calling thread does not fail: a {@link
 * java.nio.channels.FileChannel} is interruptible, and an interrupt of a thread inside its I/O
 * closes it, so a call that opens, uses and closes its own channel is simply run again. The
 * thread's interrupt status is kept.
 */
final class Uninterrupted {
    /** Runs of one call that an interrupt may end before the last one's failure is thrown. */
    static final int ATTEMPTS = 9;

    private Uninterrupted() {
    }

    /** An I/O call that may be run again from its start. */
    interface IoCall<T> {
        T call() throws IOException;
    }

    /** An I/O action that may be run again from its start. */
    interface IoRun {
        void run() throws IOException;
    }

    /** Runs {@code io} again (up to {@link #ATTEMPTS} runs) while an interrupt of this thread ends it. */
    static <T> T call(IoCall<T> io) throws IOException {
        boolean interrupted = false;
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    return io.call();
                } catch (ClosedByInterruptException e) {
                    interrupted |= Thread.interrupted();
                    if (attempt == ATTEMPTS) {
                        throw e;
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** As {@link #call}, for an action without a result. */
    static void run(IoRun io) throws IOException {
        call(() -> {
            io.run();
            return null;
        });
    }
}
