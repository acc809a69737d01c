package io.hashkernel.table;

import io.hashkernel.numa.Affinity;
import io.hashkernel.numa.CpuList;
import io.hashkernel.numa.Memory;
import io.hashkernel.numa.NodePolicy;
import io.hashkernel.numa.Topology;
import io.hashkernel.table.spi.MemoryProvider;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * DRAMHiT-P: the key space split into partitions, each written by one owner thread. Other threads
 * send their writes to the owner as 16-byte messages through one single-producer single-consumer
 * queue per (producer thread, owner) pair, and read any partition directly.
 *
 * <p>Semantics, as tested:
 * <ul>
 *   <li>{@link #put} and {@link #remove} return once the message is enqueued; the owner applies
 *       it later, to its partition (a {@link ConcurrentLongLongTable}).</li>
 *   <li>{@link #sync()} returns once every write this thread sent before it has been applied: a
 *       read by any thread that starts after {@code sync()} returns sees them (or later writes).
 *       Reads see a write at the latest after the writer's {@code sync()}.</li>
 *   <li>One producer's writes to one key are applied in the order sent (same owner, one FIFO
 *       queue). Writes of different producers to one key are applied in the order the owner
 *       drains them; the last applied wins, whole (a value is one 64-bit word).</li>
 *   <li>Backpressure: a full queue never drops a write; the producer waits with its idle
 *       strategy. A shut-down or closed table makes a waiting or new writer throw
 *       {@link IllegalStateException}, never hang.</li>
 *   <li>{@link #shutdown()} lets the owners drain every queue, stops them and joins them: every
 *       write enqueued before it is applied. Reads keep working until {@link #close()}, which
 *       shuts down and releases the memory.</li>
 *   <li>A write the owner cannot apply (its partition is full) is counted; the next
 *       {@code sync()} of any thread throws {@link TableFullException} saying how many.</li>
 * </ul>
 *
 * <p>Owners can be pinned to CPUs (round-robin over the online CPUs); each partition's memory is
 * then bound to its owner's NUMA node, otherwise interleaved like the plain table's.
 */
public final class PartitionedLongLongTable implements AutoCloseable {
    private static final int DRAIN_LIMIT = 256;

    private final ConcurrentLongLongTable[] partitions;
    private final Owner[] owners;
    private final AtomicInteger producers = new AtomicInteger();
    private final int maxProducers;
    private final int queueCapacity;
    private final long missingValue;
    private final Supplier<IdleStrategy> idle;
    private final ThreadLocal<Producer> producer;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final AtomicLong unapplied = new AtomicLong();
    private volatile boolean stopping;
    private volatile boolean closed;

    private PartitionedLongLongTable(Builder b) {
        int n = b.owners;
        this.maxProducers = b.maxProducers;
        this.queueCapacity = b.queueCapacity;
        this.missingValue = b.missingValue;
        this.idle = b.idle;
        this.partitions = new ConcurrentLongLongTable[n];
        this.owners = new Owner[n];
        Topology topology = b.pinOwners ? Topology.read() : null;
        int[] cpus = topology != null ? topology.onlineCpus().toArray() : new int[0];
        long perPartition = Math.max(64, (b.capacity + n - 1) / n);
        try {
            for (int i = 0; i < n; i++) {
                int cpu = cpus.length == 0 ? -1 : cpus[i % cpus.length];
                MemoryProvider memory = MemoryProvider.hugePageAdvised();
                if (cpu >= 0 && topology.nodes().size() > 1) {
                    int node = topology.cpus().stream().filter(c -> c.id() == cpu).findFirst().orElseThrow().node();
                    if (topology.node(node).hasMemory()) {
                        NodePolicy bind = NodePolicy.bind(node);
                        memory = (bytes, alignment) -> new MemoryProvider.RegionMemory(
                                Memory.allocate(bytes, alignment, bind));
                    }
                }
                partitions[i] = ConcurrentLongLongTable.builder().capacity(perPartition).missingValue(missingValue)
                        .memory(memory).build();
                owners[i] = new Owner(i, cpu, maxProducers);
            }
        } catch (RuntimeException e) {
            for (ConcurrentLongLongTable p : partitions) {
                if (p != null) {
                    p.close();
                }
            }
            throw e;
        }
        this.producer = ThreadLocal.withInitial(this::register);
        for (Owner o : owners) {
            o.thread = Thread.ofPlatform().daemon().name("hashkernel-owner-" + o.index).start(o);
        }
    }

    /** A builder with 2 owners, 1 M slots, queues of 1024 messages, 64 producers, Agrona's backoff idling. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options of a {@link PartitionedLongLongTable}. */
    public static final class Builder {
        private long capacity = 1 << 20;
        private int owners = 2;
        private int queueCapacity = 1024;
        private int maxProducers = 64;
        private long missingValue;
        private boolean pinOwners;
        private Supplier<IdleStrategy> idle = () -> new BackoffIdleStrategy(64, 64,
                TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));

        private Builder() {
        }

        /** Slots in all partitions together (each partition gets an equal share, rounded up to a power of two). */
        public Builder capacity(long slots) {
            if (slots < 1) {
                throw new IllegalArgumentException("capacity must be at least 1 slot, was " + slots);
            }
            this.capacity = slots;
            return this;
        }

        /** Owner threads, one partition each (1 to 1024). */
        public Builder owners(int owners) {
            if (owners < 1 || owners > 1024) {
                throw new IllegalArgumentException("owners must be between 1 and 1024, was " + owners);
            }
            this.owners = owners;
            return this;
        }

        /** Messages each (producer, owner) queue holds: a power of two from 2 to 2^26. */
        public Builder queueCapacity(int messages) {
            new SpscPairQueue(messages); // checks, with the message users see
            this.queueCapacity = messages;
            return this;
        }

        /** Threads that may write (each gets its queues on its first write; 1 to 4096). */
        public Builder maxProducers(int threads) {
            if (threads < 1 || threads > 4096) {
                throw new IllegalArgumentException("maxProducers must be between 1 and 4096, was " + threads);
            }
            this.maxProducers = threads;
            return this;
        }

        /** The value reads return for an absent key (and that cannot be stored), as in the plain table. */
        public Builder missingValue(long value) {
            this.missingValue = value;
            return this;
        }

        /** Pin owner i to the i-th online CPU (round-robin) and bind its partition to that CPU's node. */
        public Builder pinOwners(boolean pin) {
            this.pinOwners = pin;
            return this;
        }

        /** How owners and waiting producers idle (Agrona {@link IdleStrategy}); one instance per thread. */
        public Builder idleStrategy(Supplier<IdleStrategy> strategy) {
            this.idle = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /** Builds the table and starts its owner threads. */
        public PartitionedLongLongTable build() {
            return new PartitionedLongLongTable(this);
        }
    }

    /** The value reads return for an absent key. */
    public long missingValue() {
        return missingValue;
    }

    /** Owner threads (= partitions). */
    public int owners() {
        return owners.length;
    }

    /** The partition (owner) a key belongs to. */
    public int ownerOf(long key) {
        long z = key * 0x9E3779B97F4A7C15L;
        z ^= z >>> 29;
        return (int) Math.unsignedMultiplyHigh(z * 0xBF58476D1CE4E5B9L, owners.length);
    }

    /** The value of {@code key}, read directly from its partition, or {@link #missingValue()}. */
    public long get(long key) {
        return partitions[ownerOf(key)].get(key);
    }

    /**
     * {@code values[valuesOffset + i] = get(keys[keysOffset + i])} for {@code i < length}, read
     * directly: the keys are grouped by partition and each group looked up with the partition's
     * batched, prefetched {@link ConcurrentLongLongTable#getAll}. Each lookup linearises as a
     * single {@code get}.
     *
     * @throws IndexOutOfBoundsException if a range lies outside its array
     */
    public void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        Objects.checkFromIndexSize(keysOffset, length, keys.length);
        Objects.checkFromIndexSize(valuesOffset, length, values.length);
        if (owners.length == 1) {
            partitions[0].getAll(keys, keysOffset, values, valuesOffset, length);
            return;
        }
        Scratch s = scratch.get().ensure(length, owners.length);
        int[] start = s.start;
        java.util.Arrays.fill(start, 0);
        for (int i = 0; i < length; i++) {
            int o = ownerOf(keys[keysOffset + i]);
            s.owner[i] = o;
            start[o + 1]++;
        }
        for (int o = 0; o < owners.length; o++) {
            start[o + 1] += start[o];
        }
        int[] fill = s.fill;
        System.arraycopy(start, 0, fill, 0, owners.length);
        for (int i = 0; i < length; i++) {
            int at = fill[s.owner[i]]++;
            s.keys[at] = keys[keysOffset + i];
            s.index[at] = i;
        }
        for (int o = 0; o < owners.length; o++) {
            int n = start[o + 1] - start[o];
            if (n > 0) {
                partitions[o].getAll(s.keys, start[o], s.values, start[o], n);
            }
        }
        for (int at = 0; at < length; at++) {
            values[valuesOffset + s.index[at]] = s.values[at];
        }
    }

    /** One thread's buffers for {@link #getAll}. */
    private static final class Scratch {
        int[] owner = new int[0];
        int[] index = new int[0];
        long[] keys = new long[0];
        long[] values = new long[0];
        int[] start = new int[0];
        int[] fill = new int[0];

        Scratch ensure(int length, int owners) {
            if (owner.length < length) {
                owner = new int[length];
                index = new int[length];
                keys = new long[length];
                values = new long[length];
            }
            if (start.length < owners + 1) {
                start = new int[owners + 1];
                fill = new int[owners + 1];
            }
            return this;
        }
    }

    /** Whether {@code key} is present (read directly). */
    public boolean containsKey(long key) {
        return partitions[ownerOf(key)].containsKey(key);
    }

    /**
     * Sends {@code key -> value} to the key's owner; returns once enqueued (waiting, with the
     * idle strategy, while the queue is full).
     *
     * @throws IllegalArgumentException if {@code value} is the missing value
     * @throws IllegalStateException    if the table is shut down or closed, or this thread is one
     *                                  producer more than {@code maxProducers}
     */
    public void put(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        send(key, value);
    }

    /** Sends the removal of {@code key} to its owner; returns once enqueued. */
    public void remove(long key) {
        send(key, missingValue);   // the missing value cannot be stored, so it marks a removal
    }

    private void send(long key, long value) {
        ensureRunning();
        Producer p = producer.get();
        int o = ownerOf(key);
        SpscPairQueue q = p.out[o];
        if (!q.offer(key, value)) {
            IdleStrategy wait = p.idle;
            wait.reset();
            while (!q.offer(key, value)) {
                ensureRunning();
                wait.idle();
            }
        }
        p.sent[o] = true;
    }

    /**
     * Returns once every write this thread sent before the call has been applied by its owner.
     *
     * @throws TableFullException    if some write (of any thread) found its partition full
     * @throws IllegalStateException if the owners stopped before applying them
     */
    public void sync() {
        Producer p = producer.get();
        for (int o = 0; o < owners.length; o++) {
            if (!p.sent[o]) {
                continue;
            }
            SpscPairQueue q = p.out[o];
            long target = q.producedPosition();
            IdleStrategy wait = p.idle;
            wait.reset();
            while (q.consumedPosition() < target) {
                if (!owners[o].thread.isAlive()) {
                    throw new IllegalStateException("owner " + o + " stopped with " + (target - q.consumedPosition())
                            + " of this thread's writes unapplied" + (owners[o].failure == null ? ""
                            : ": " + owners[o].failure));
                }
                wait.idle();
            }
            p.sent[o] = false;
        }
        long lost = unapplied.get();
        if (lost > 0) {
            throw new TableFullException(lost + " writes found their partition full and were not applied;"
                    + " build the table with a larger capacity");
        }
    }

    /** Entries in all partitions (exact when no write is in flight). */
    public long size() {
        long n = 0;
        for (ConcurrentLongLongTable t : partitions) {
            n += t.size();
        }
        return n;
    }

    /** Slots in all partitions. */
    public long capacity() {
        long n = 0;
        for (ConcurrentLongLongTable t : partitions) {
            n += t.capacity();
        }
        return n;
    }

    /** Calls {@code action} for each entry of each partition (weakly consistent, as the plain table's). */
    public void forEach(LongLongConsumer action) {
        for (ConcurrentLongLongTable t : partitions) {
            t.forEach(action);
        }
    }

    /** Bytes of memory all partitions hold. */
    public long memoryBytes() {
        long n = 0;
        for (ConcurrentLongLongTable t : partitions) {
            n += t.memoryBytes();
        }
        return n;
    }

    /** Bytes of all partitions' memory backed by huge pages now, or -1 where unknown. */
    public long hugePageBytes() {
        long n = 0;
        for (ConcurrentLongLongTable t : partitions) {
            long h = t.hugePageBytes();
            if (h < 0) {
                return -1;
            }
            n += h;
        }
        return n;
    }

    /** How partition {@code owner}'s memory was obtained (placement and node policy). */
    public String memoryDescription(int owner) {
        return partitions[owner].memoryDescription();
    }

    /**
     * Stops taking writes, lets every owner apply what its queues hold, and joins the owners.
     * Reads keep working until {@link #close()}. Idempotent.
     */
    public void shutdown() {
        stopping = true;
        boolean interrupted = false;
        for (Owner o : owners) {
            while (o.thread.isAlive()) {
                try {
                    o.thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether {@link #shutdown()} (or {@link #close()}) has been called. */
    public boolean isShutdown() {
        return stopping;
    }

    /** Shuts down (applying every enqueued write) and releases the partitions' memory. Idempotent. */
    @Override
    public void close() {
        shutdown();
        if (!closed) {
            closed = true;
            for (ConcurrentLongLongTable t : partitions) {
                t.close();
            }
        }
    }

    private void ensureRunning() {
        if (stopping) {
            throw new IllegalStateException(closed ? "the partitioned table is closed"
                    : "the partitioned table is shut down: it takes no more writes");
        }
    }

    /** One producer thread's queues, one per owner. */
    private static final class Producer {
        final SpscPairQueue[] out;
        final boolean[] sent;
        final IdleStrategy idle;

        Producer(SpscPairQueue[] out, IdleStrategy idle) {
            this.out = out;
            this.sent = new boolean[out.length];
            this.idle = idle;
        }
    }

    private Producer register() {
        int id = producers.getAndIncrement();
        if (id >= maxProducers) {
            producers.decrementAndGet();
            throw new IllegalStateException("more than " + maxProducers + " threads write to this partitioned table;"
                    + " build it with a larger maxProducers");
        }
        SpscPairQueue[] out = new SpscPairQueue[owners.length];
        for (int o = 0; o < owners.length; o++) {
            out[o] = new SpscPairQueue(queueCapacity);
            owners[o].inbox.set(id, out[o]);
        }
        return new Producer(out, idle.get());
    }

    /** An owner: drains its queues into its partition until shut down and drained. */
    private final class Owner implements Runnable, SpscPairQueue.Handler {
        final int index;
        final int cpu;
        /** inbox.get(producer): that producer's queue to this owner, set when the producer registers. */
        final AtomicReferenceArray<SpscPairQueue> inbox;
        volatile Thread thread;
        volatile String failure;
        private ConcurrentLongLongTable partition;
        private final long[] keys = new long[DRAIN_LIMIT];
        private final long[] values = new long[DRAIN_LIMIT];
        private int pending;

        Owner(int index, int cpu, int maxProducers) {
            this.index = index;
            this.cpu = cpu;
            this.inbox = new AtomicReferenceArray<>(maxProducers);
        }

        @Override
        public void run() {
            partition = partitions[index];
            if (cpu >= 0 && Affinity.available()) {
                try {
                    Affinity.pin(CpuList.of(cpu));
                } catch (RuntimeException e) {
                    failure = "pinning to cpu " + cpu + " failed (runs unpinned): " + e.getMessage();
                }
            }
            IdleStrategy wait = idle.get();
            AtomicReferenceArray<SpscPairQueue> mine = inbox;
            while (true) {
                boolean last = stopping;     // read before draining: a write enqueued before shutdown() is seen
                int work = 0;
                int n = Math.min(producers.get(), maxProducers);
                for (int i = 0; i < n; i++) {
                    SpscPairQueue q = mine.get(i);
                    if (q != null) {
                        work += q.drain(this, DRAIN_LIMIT);   // endOfBatch applies before it publishes
                    }
                }
                if (work == 0 && last) {
                    return;
                }
                wait.idle(work);
            }
        }

        @Override
        public void onMessage(long key, long value) {
            if (value == missingValue) {
                flush();                     // puts before a removal are applied before it
                partition.remove(key);
            } else {
                keys[pending] = key;
                values[pending++] = value;
            }
        }

        @Override
        public void endOfBatch() {
            flush();
        }

        /** Applies the collected puts with the partition's batched, prefetched putAll, in order. */
        private void flush() {
            if (pending == 0) {
                return;
            }
            try {
                partition.putAll(keys, 0, values, 0, pending);
            } catch (TableFullException e) {
                unapplied.addAndGet(e.notPut());
            } finally {
                pending = 0;
            }
        }
    }
}
