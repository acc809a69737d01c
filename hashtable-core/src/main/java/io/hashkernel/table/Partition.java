package io.hashkernel.table;

import io.hashkernel.numa.Affinity;
import io.hashkernel.numa.CpuList;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * One partition of a {@link PartitionedLongLongTable}: its table (replaced when it grows or is
 * cleared), its drain lock, the application of the writes its queues bring, its growth, and the
 * owner thread's loop where there is one. Whoever holds the drain lock is the partition's one
 * writer; anyone reads its table.
 */
final class Partition implements Runnable, SpscPairQueue.Handler {
    private static final VarHandle LOCK;

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(Partition.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Messages taken from one queue in one drain. */
    static final int DRAIN_LIMIT = 256;

    final int index;
    final int cpu;
    volatile Thread thread;
    /** Why the owner thread runs unpinned, or the last error its loop survived; null if none. */
    volatile String failure;
    @SuppressWarnings("unused") // through LOCK
    private volatile int lock;
    /** The partition's table: replaced (under the lock, and under this monitor) when it grows or is cleared; read by anyone. */
    volatile LineTable table;
    /** The options of the partition's tables (each growth and clear builds a new one). */
    private final ConcurrentLongLongTable.Builder options;
    private final long initialSlots;
    private final long maxSlots;
    // Guarded by this monitor: iterations in progress, and the replaced tables they may still read.
    private int iterators;
    private final List<LineTable> retired = new ArrayList<>();
    /** Set by {@link #closeAll()}: a growth finishing later frees its table instead of installing it. */
    private boolean closed;
    // Touched only under the lock:
    /** Slots claimed in {@link #table} (a removed key's slot counts until the next growth). */
    private long used;
    private final long[] claims = new long[1];
    private final long[] keys = new long[DRAIN_LIMIT];
    private final long[] values = new long[DRAIN_LIMIT];
    private int pending;
    /** The producer whose writes are being applied: their failures are reported to it. */
    private Producer applying;
    private final Producers producers;
    private final long missingValue;
    private final Supplier<IdleStrategy> idle;
    /** Set by the table's shutdown: the owner thread ends once its queues are empty. */
    private volatile boolean stopping;

    /**
     * Partition {@code index} of {@code slots} slots, growing up to {@code maxSlots}; its owner
     * thread (if started) pins itself to {@code cpu} where that is not -1.
     */
    Partition(int index, int cpu, ConcurrentLongLongTable.Builder options, long slots, long maxSlots,
              Producers producers, Supplier<IdleStrategy> idle) {
        this.index = index;
        this.cpu = cpu;
        this.options = options;
        this.initialSlots = slots;
        this.maxSlots = maxSlots;
        this.producers = producers;
        this.missingValue = options.missingValue();
        this.idle = idle;
        this.table = newTable(slots);
    }

    /** Tells the owner thread to end once its queues are empty. */
    void stop() {
        stopping = true;
    }

    private LineTable newTable(long slots) {
        return options.engine(slots, index);   // a fixed seed differs by partition
    }

    /**
     * Under the lock, before writes that may claim {@code slots} more: grows the partition when
     * they would pass 0.75 of its capacity, below its maximum. The holder is the partition's
     * one writer, so it copies alone: the mapped entries, line chunk by chunk, into a table
     * large enough for twice them (removed keys are left behind), batched and prefetched;
     * then it switches {@link #table} ({@link #replace}). A reader still in the old
     * table gets an {@link IllegalStateException} once it is released and reads the new one.
     */
    void room(long slots) {
        LineTable old = table;
        long capacity = old.capacity();
        if (used + slots <= Growth.limitOf(capacity)) {
            return;
        }
        long live = old.size();
        long target = Growth.grownCapacity(capacity, live + slots, maxSlots);
        if (target == capacity && Growth.reclaimsLittle(used, live, capacity)) {
            return;                                  // at its maximum, nothing to reclaim: it fills up
        }
        LineTable next = newTable(target);
        try {
            Growth.copyAll(old, next, true);
        } catch (RuntimeException | Error e) {
            next.close();
            throw e;
        }
        replace(next, live);
    }

    /**
     * Under the lock: makes {@code next} the partition, with {@code used} slots claimed, and
     * releases the old table now, or when the last iteration in it leaves.
     */
    private void replace(LineTable next, long used) {
        LineTable old;
        synchronized (this) {
            if (closed) {
                next.close();
                throw new IllegalStateException("the partitioned table is closed");
            }
            old = table;
            table = next;
            if (iterators > 0) {
                retired.add(old);
                old = null;
            }
        }
        this.used = used;
        if (old != null) {
            old.close();
        }
    }

    /**
     * Under the lock: {@link #room}, returning instead of throwing the failure of a growth
     * (memory refused): the writes then go into the partition as it is, and a write that
     * finds no slot there reports that failure.
     */
    RuntimeException tryRoom(long slots) {
        try {
            room(slots);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    /** Under the lock: an empty partition of the initial capacity in place of the current one. */
    void reset() {
        replace(newTable(initialSlots), 0);
    }

    /** The partition for an iteration, which keeps its memory until {@link #exitIteration()}. */
    synchronized LineTable enterIteration() {
        iterators++;
        return table;
    }

    synchronized void exitIteration() {
        if (--iterators == 0) {
            retired.forEach(LineTable::close);
            retired.clear();
        }
    }

    /** Closes the partition and any replaced table still kept for an iteration. */
    synchronized void closeAll() {
        closed = true;
        table.close();
        retired.forEach(LineTable::close);
        retired.clear();
    }

    /**
     * Drains every queue of this partition once (up to 256 messages each)
     * and applies the messages, if the drain lock is free: how many, or -1 when another
     * thread holds the lock. The lock's acquiring CAS and releasing store order one holder's
     * writes (the partition's words, the queues' consumer positions) before the next's.
     */
    int drain() {
        if (!tryLock()) {
            return -1;
        }
        try {
            return drainLocked();
        } finally {
            unlock();
        }
    }

    boolean tryLock() {
        return (int) LOCK.getOpaque(this) == 0 && LOCK.compareAndSet(this, 0, 1);
    }

    void unlock() {
        LOCK.setRelease(this, 0);
    }

    /** Under the lock: every producer's queue once, up to 256 messages each; how many. */
    int drainLocked() {
        int work = 0;
        int n = producers.count();
        for (int i = 0; i < n; i++) {
            Producer p = producers.get(i);
            if (p != null) {
                applying = p;
                work += p.out[index].drain(this, DRAIN_LIMIT);  // endOfBatch applies before it publishes
            }
        }
        return work;
    }

    /** Under the lock: everything producer {@code p} has queued for this partition. */
    void drainAll(Producer p) {
        applying = p;
        SpscPairQueue q = p.out[index];
        while (q.pending() != 0) {
            q.drain(this, DRAIN_LIMIT);
        }
    }

    /** Under the lock: producer {@code p}'s puts straight into the partition, as a drained batch would be. */
    void applyLocked(Producer p, long[] keys, int offset, long[] values, int length) {
        applying = p;
        apply(keys, offset, values, length);
    }

    /**
     * Under the lock: puts {@code length} entries with the partition's batched, prefetched
     * put (release stores: one writer), room made first; counts the slots they claim.
     * Returns the new mappings.
     *
     * @throws TableFullException if some found no room; the others were put (or the failure
     *                            of the growth that would have made room)
     */
    long putLocked(long[] keys, int offset, long[] values, int length) {
        RuntimeException noGrowth = tryRoom(length);
        claims[0] = 0;
        try {
            return table.putAllExclusive(keys, offset, values, offset, length, claims);
        } catch (TableFullException full) {
            throw noGrowth != null ? noGrowth : full;
        } finally {
            used += claims[0];
        }
    }

    /** One synchronous write to the partition's table, counting the slot it claims in {@code claims[0]}. */
    @FunctionalInterface
    interface Write {
        long apply(LineTable table, long[] claims);
    }

    /**
     * Under the lock: {@code write} applied to the table, with room made first where it may
     * claim a slot ({@code claims}), and the slot it claims counted.
     *
     * @throws TableFullException if it found no room (or the failure of the growth that would
     *                            have made room)
     */
    long writeLocked(boolean claims, Write write) {
        RuntimeException noGrowth = claims ? tryRoom(1) : null;
        this.claims[0] = 0;
        try {
            return write.apply(table, this.claims);
        } catch (TableFullException full) {
            throw noGrowth != null ? noGrowth : full;
        } finally {
            used += this.claims[0];
        }
    }

    /**
     * Applies a batch of asynchronous puts: a failure (a full partition, a growth that
     * could not get memory, even an {@link Error}) is recorded for the producer they came from,
     * never thrown, so the drain goes on and the writes are reported at the producer's next
     * sync(). If the growth fails, the puts still go into the partition as it is.
     */
    private void apply(long[] keys, int offset, long[] values, int length) {
        claims[0] = 0;
        try {
            RuntimeException growth = tryRoom(length);
            try {
                table.putAllExclusive(keys, offset, values, offset, length, claims);
            } catch (TableFullException e) {
                applying.fail(e.notPut(), growth != null ? growth : e);
            }
        } catch (RuntimeException | Error e) {
            applying.fail(length, e);
        } finally {
            used += claims[0];
        }
    }

    @Override
    public void run() {
        if (cpu >= 0 && Affinity.available()) {
            try {
                Affinity.pin(CpuList.of(cpu));
            } catch (RuntimeException e) {
                failure = "pinning to cpu " + cpu + " failed (runs unpinned): " + e.getMessage();
            }
        }
        IdleStrategy wait = idle.get();
        while (true) {
            boolean last = stopping;     // read before draining: a write enqueued before shutdown() is seen
            int work;
            try {
                work = drain();          // -1: a writer is helping; look again
            } catch (RuntimeException | Error e) {
                // The messages handed over were recorded as failed for their senders; keep draining.
                failure = "the owner thread's drain failed: " + e;
                work = 0;
            }
            if (work == 0 && last) {
                return;
            }
            wait.idle(Math.max(work, 0));
        }
    }

    @Override
    public void onMessage(long key, long value) {
        if (value == missingValue) {
            flush();                     // puts before a removal are applied before it
            try {
                table.remove(key);
            } catch (RuntimeException | Error e) {
                applying.fail(1, e);
            }
        } else {
            keys[pending] = key;
            values[pending++] = value;
        }
    }

    @Override
    public void endOfBatch() {
        flush();
    }

    /** Applies the collected puts, in order, with the partition's batched, prefetched putAll. */
    private void flush() {
        if (pending == 0) {
            return;
        }
        try {
            apply(keys, 0, values, pending);
        } finally {
            pending = 0;
        }
    }
}
