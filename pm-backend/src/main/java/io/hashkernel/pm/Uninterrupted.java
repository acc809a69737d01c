package io.hashkernel.pm;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * File I/O that an interrupt does not fail: a {@link FileChannel} is interruptible, and an
 * interrupt of a thread inside its I/O closes it for every thread. A call that opens, uses and
 * closes its own channel is simply run again ({@link #call}); a call on a long-lived channel is
 * repeated on a reopened one ({@link #onChannel}). The thread's interrupt status is kept.
 */
final class Uninterrupted {
    /** Runs of one call that an interrupt may end before the last one's failure is thrown. */
    static final int ATTEMPTS = 9;

    /**
     * Reopens one {@link #onChannel} call may take before its failure is thrown: more than
     * {@link #ATTEMPTS}, since a repeated force starts over and interrupts paced closer than an
     * fsync would otherwise fail it.
     */
    static final int REOPENS = 64;

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

    /** A call that may be repeated on a reopened channel: positional reads and writes, forces, the size, cuts. */
    interface ChannelCall<T> {
        T on(FileChannel channel) throws IOException;
    }

    /** Replaces {@code stale}, closed by an interrupt, with a new channel of the same file (unless another thread did). */
    interface Reopen {
        void reopen(FileChannel stale) throws IOException;
    }

    /**
     * Runs {@code call} on {@code channel.get()}, and again on a reopened channel while it ends in
     * a {@link ClosedChannelException} that {@code closed} does not explain: at most {@link
     * #REOPENS} reopens, then the exception is thrown. The thread's interrupt status is kept.
     */
    static <T> T onChannel(Supplier<FileChannel> channel, BooleanSupplier closed, Reopen reopen, ChannelCall<T> call)
            throws IOException {
        boolean interrupted = false;
        try {
            for (int attempt = 0; ; attempt++) {
                FileChannel ch = channel.get();
                try {
                    return call.on(ch);
                } catch (ClosedChannelException e) {
                    interrupted |= Thread.interrupted();
                    if (closed.getAsBoolean() || attempt == REOPENS) {
                        throw e;
                    }
                    reopen.reopen(ch);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
