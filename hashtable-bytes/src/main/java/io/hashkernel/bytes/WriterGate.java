package io.hashkernel.bytes;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Lets one thread wait until every writer that was inside when it asked has left: a grace
 * period, for the slabs' compaction, which may only read a sealed slab's records once the writers
 * that reserved space in it have finished writing them.
 *
 * <p>Implementation notes. Writers count themselves in one of two phases (the parity of
 * {@code phase}), in a counter stripe of their thread (padded, so that writers of different
 * stripes share no line). {@link #enter} increments its stripe's counter of the current phase
 * and reads the phase again: unchanged, the writer is counted where {@link #awaitGrace} will look
 * (both are sequentially consistent atomics, so either the writer sees the flip, or the waiter
 * sees the writer); changed, it moves to the new phase. {@link #awaitGrace} flips the phase and
 * waits until every stripe's counter of the old phase is zero: each writer counted there entered
 * before the flip, and no new writer is counted there until the next flip. One waiter at a time
 * (the caller excludes others). Bounded memory: no registration of threads.
 */
final class WriterGate {
    private static final int STRIPES = Math.min(64, Integer.highestOneBit(
            Math.max(2, Runtime.getRuntime().availableProcessors()) * 4 - 1));
    private static final int PAD = 16; // longs between stripes: 128 bytes

    private final AtomicLongArray counts = new AtomicLongArray(STRIPES * 2 * PAD);
    private final AtomicLong phase = new AtomicLong();

    private static int stripe() {
        long id = Thread.currentThread().threadId();
        return (int) ((id * 0x9E3779B97F4A7C15L) >>> 58) & (STRIPES - 1);
    }

    /** Counts the calling writer in; returns the ticket to give {@link #exit}. */
    int enter() {
        int stripe = stripe();
        for (;;) {
            long p = phase.get();
            int slot = (stripe * 2 + (int) (p & 1)) * PAD;
            counts.getAndIncrement(slot);
            if (phase.get() == p) {
                return slot;
            }
            counts.getAndDecrement(slot);
        }
    }

    /** Counts the writer of {@code ticket} out. */
    void exit(int ticket) {
        counts.getAndDecrement(ticket);
    }

    /**
     * Returns once every writer inside at the call has left. Never call it between a writer's
     * {@link #enter} and {@link #exit}: it would wait for itself.
     */
    void awaitGrace() {
        long old = phase.getAndIncrement();
        int parity = (int) (old & 1);
        for (int stripe = 0; stripe < STRIPES; stripe++) {
            int slot = (stripe * 2 + parity) * PAD;
            for (int spins = 0; counts.get(slot) != 0; spins++) {
                if (spins < 100) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(10_000);
                }
            }
        }
    }
}
