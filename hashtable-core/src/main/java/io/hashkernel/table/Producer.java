package io.hashkernel.table;

import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One writer thread's side of a {@link PartitionedLongLongTable}: a queue to each partition, the
 * backpressure on them (a full queue is drained by its writer where the partition's lock is free,
 * else waited on), its drain turn, and the writes of its that could not be applied since its last
 * {@code sync()}. Its slot is held by one live thread at a time ({@link #takeOver}).
 */
final class Producer {
    private static final VarHandle THREAD;

    static {
        try {
            THREAD = MethodHandles.lookup().findVarHandle(Producer.class, "thread", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int id;
    /** out[o]: the queue to partition o. */
    final SpscPairQueue[] out;
    /** sent[o]: whether this thread sent to partition o since its last sync() there. */
    final boolean[] sent;
    final IdleStrategy idle;
    /** Without owner threads: writes until this thread drains a partition in turn, and which. */
    int untilDrain = PartitionedLongLongTable.DRAIN_EVERY;
    int nextDrain;
    /** The thread that writes through these queues; replaced (by CAS) only once it has ended. */
    @SuppressWarnings("unused") // through THREAD
    private volatile Thread thread;
    // Guarded by this: writes not applied since the last report, whether all found no room, the first cause.
    private long failed;
    private boolean onlyFull = true;
    private Throwable cause;

    Producer(int id, SpscPairQueue[] out, IdleStrategy idle, Thread thread) {
        this.id = id;
        this.out = out;
        this.sent = new boolean[out.length];
        this.idle = idle;
        this.thread = thread;
        this.nextDrain = id % out.length;      // writers start their turns on different partitions
    }

    /**
     * Enqueues {@code key -> value} to partition {@code o}; while its queue is full, drains the
     * partition where its lock is free, else idles. {@code running} throws once the table stops
     * taking writes, so a full queue never hangs a writer of a shut-down table.
     */
    void send(int o, Partition partition, long key, long value, Runnable running) {
        SpscPairQueue q = out[o];
        if (!q.offer(key, value)) {
            IdleStrategy wait = idle;
            wait.reset();
            while (!q.offer(key, value)) {
                running.run();
                if (partition.drain() <= 0) {   // help; wait only while another thread drains
                    wait.idle();
                }
            }
        }
        sent[o] = true;
    }

    /**
     * Returns once partition {@code o} has applied everything this thread sent it, draining it
     * where its lock is free.
     *
     * @throws IllegalStateException if {@code closed} says the table was closed meanwhile
     */
    void awaitApplied(int o, Partition partition, java.util.function.BooleanSupplier closed) {
        if (!sent[o]) {
            return;
        }
        SpscPairQueue q = out[o];
        long target = q.producedPosition();
        IdleStrategy wait = idle;
        wait.reset();
        while (q.consumedPosition() < target) {
            if (closed.getAsBoolean()) {
                throw new IllegalStateException("the partitioned table was closed with "
                        + (target - q.consumedPosition()) + " of this thread's writes unapplied");
            }
            if (partition.drain() <= 0) {
                wait.idle();
            }
        }
        sent[o] = false;
    }

    /**
     * Takes this slot for {@code me} if its thread has ended. A thread seen ended by {@code
     * isAlive()} happens-before the caller (JLS 17.4.4), so its plain producer-side state is
     * visible to {@code me}.
     */
    boolean takeOver(Thread me) {
        Thread t = (Thread) THREAD.getVolatile(this);
        return !t.isAlive() && THREAD.compareAndSet(this, t, me);
    }

    /** Records {@code writes} of this producer's that could not be applied, because of {@code e}. */
    synchronized void fail(long writes, Throwable e) {
        failed += writes;
        onlyFull &= e instanceof TableFullException;
        if (cause == null) {
            cause = e;
        }
    }

    /** Forgets failures (a new thread takes the slot: the ended one's writes were its own). */
    synchronized void forgetFailures() {
        failed = 0;
        onlyFull = true;
        cause = null;
    }

    /** Throws, once, for the writes recorded by {@link #fail} since the last report. */
    void reportFailures() {
        long n;
        boolean full;
        Throwable e;
        synchronized (this) {
            n = failed;
            full = onlyFull;
            e = cause;
            forgetFailures();
        }
        if (n == 0) {
            return;
        }
        String writes = n + " of this thread's writes since its last sync() ";
        if (full) {
            throw new TableFullException(writes + "found their partition full and were not applied;"
                    + " build the table with a larger capacity or maxCapacity (" + e.getMessage() + ")", n);
        }
        throw new IllegalStateException(writes + "could not be applied: " + e.getMessage(), e);
    }
}
