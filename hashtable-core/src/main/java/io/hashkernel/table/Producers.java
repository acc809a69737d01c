package io.hashkernel.table;

import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * The writer slots of a {@link PartitionedLongLongTable}: at most {@code max} {@link Producer}s,
 * each held by one live thread; a thread gets its slot on its first asynchronous write, and the
 * slot of a thread that has ended goes to the next thread that needs one once the ended thread's
 * queued writes are applied. The partitions drain every slot handed out ({@link #count()},
 * {@link #get(int)}).
 */
final class Producers {
    /** Slots handed out so far (at most {@link #max}). */
    private final AtomicInteger handedOut = new AtomicInteger();
    /** slots.get(id): the producer of that slot, whose queue {@code out[o]} partition o drains. */
    private final AtomicReferenceArray<Producer> slots;
    private final int max;
    private final int queueCapacity;
    private final Supplier<IdleStrategy> idle;
    /** This thread's producer, or null if it has not written asynchronously (no slot). */
    private final ThreadLocal<Producer> mine = new ThreadLocal<>();

    Producers(int max, int queueCapacity, Supplier<IdleStrategy> idle) {
        this.slots = new AtomicReferenceArray<>(max);
        this.max = max;
        this.queueCapacity = queueCapacity;
        this.idle = idle;
    }

    /** Slots handed out: the partitions drain slots {@code [0, count())}. */
    int count() {
        return Math.min(handedOut.get(), max);
    }

    /** The producer of slot {@code id}, or null while it is being registered. */
    Producer get(int id) {
        return slots.get(id);
    }

    /** This thread's producer, or null if it has none. */
    Producer current() {
        return mine.get();
    }

    /**
     * This thread's producer: its own from an earlier write, else a free slot (a new one, or the
     * slot of a thread that has ended, whose queues to {@code partitions} are applied first;
     * {@code running} throws if the table stops meanwhile).
     *
     * @throws IllegalStateException if {@code max} live threads hold every slot
     */
    Producer forThisThread(Partition[] partitions, Runnable running) {
        Producer p = mine.get();
        if (p == null) {
            p = register(partitions, running);
            mine.set(p);
        }
        return p;
    }

    private Producer register(Partition[] partitions, Runnable running) {
        Thread me = Thread.currentThread();
        if (handedOut.get() >= max) {
            return reclaim(me, partitions, running);
        }
        // Allocated before a slot number is taken: a failure here (memory) leaves no slot behind.
        SpscPairQueue[] out = new SpscPairQueue[partitions.length];
        for (int o = 0; o < partitions.length; o++) {
            out[o] = new SpscPairQueue(queueCapacity);
        }
        IdleStrategy wait = idle.get();
        int id = handedOut.getAndIncrement();
        if (id >= max) {
            handedOut.decrementAndGet();
            return reclaim(me, partitions, running);
        }
        Producer p = new Producer(id, out, wait, me);
        slots.set(id, p);
        return p;
    }

    /**
     * The slot of a writer thread that has ended, for {@code me}: its queues are applied first
     * (draining them here where their partitions' locks are free), so its writes are not lost
     * and the failures found meanwhile are its own.
     */
    private Producer reclaim(Thread me, Partition[] partitions, Runnable running) {
        for (int id = 0; id < max; id++) {
            Producer p = slots.get(id);
            if (p != null && p.takeOver(me)) {
                IdleStrategy wait = p.idle;
                wait.reset();
                for (int o = 0; o < partitions.length; o++) {
                    while (p.out[o].pending() != 0) {
                        running.run();
                        if (partitions[o].drain() <= 0) {
                            wait.idle();
                        }
                    }
                    p.sent[o] = false;
                }
                p.forgetFailures();
                return p;
            }
        }
        throw new IllegalStateException("more than " + max + " live threads write to this partitioned table"
                + " (a slot is reused once its thread ends); build it with a larger maxProducers");
    }
}
