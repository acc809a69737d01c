package io.hashkernel.table;

import io.hashkernel.numa.Affinity;
import io.hashkernel.numa.CpuList;
import io.hashkernel.numa.Topology;
import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.table.spi.MemoryProvider;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * DRAMHiT-P: the key space split into partitions, each written by one thread at a time. Writers
 * send their writes to the key's partition as 16-byte messages through one single-producer
 * single-consumer queue per (writer thread, partition) pair, and read any partition directly.
 *
 * <p>Who applies the messages: with {@link Builder#ownerThreads(boolean) owner threads} (the
 * default) one thread per partition drains its queues. Without them the writers do it
 * themselves, as in DRAMHiT-P, where every thread both sends and owns: a writer drains the
 * partitions in turn every 256 writes, and whenever a queue it sends to is full
 * or it waits in {@link #sync()}. Either way a partition is drained under its drain lock, so its
 * memory has one writer at a time; a writer that finds a queue full or waits in {@code sync()}
 * also helps the owner thread when that lock is free.
 *
 * <p>Two ways to write:
 * <ul>
 *   <li>Asynchronous, DRAMHiT-P's messages: {@link #putAsync}, {@link #removeAsync} and
 *       {@link #putAllAsync} return once the write is enqueued (or, for {@code putAllAsync}
 *       without owner threads, applied at once where the partition's lock is free); they return
 *       no previous value. {@link #sync()} waits until they are applied.</li>
 *   <li>Synchronous, the {@link LongLongMap} methods ({@link #put}, {@link #putIfAbsent},
 *       {@link #replace}, {@link #remove}, {@link #putAll}, {@link #removeAll}, {@link #clear}):
 *       the caller takes the partition's drain lock (draining while it waits, where it can),
 *       applies this thread's queued writes to that partition first, then its own, and returns
 *       its result. Each is linearizable at its application under the lock; unlike the plain
 *       table's, these block (briefly: a drain pass) while another thread holds the lock.
 *       Reads never block.</li>
 * </ul>
 *
 * <p>Semantics, as tested:
 * <ul>
 *   <li>Asynchronous writes are applied later, to the key's partition (a
 *       {@link ConcurrentLongLongTable}), by whoever holds its drain lock.</li>
 *   <li>{@link #sync()} returns once every write this thread sent before it has been applied: a
 *       read by any thread that starts after {@code sync()} returns sees them (or later writes).
 *       Reads see a write at the latest after the writer's {@code sync()}.</li>
 *   <li>One thread's writes to one key, asynchronous and synchronous, are applied in the order
 *       it made them (one FIFO queue a partition, emptied before a synchronous write). Writes of different producers to one key are applied in the order the owner
 *       drains them; the last applied wins, whole (a value is one 64-bit word).</li>
 *   <li>Backpressure: a full queue never drops a write; the writer drains that partition itself
 *       when its drain lock is free, else waits with its idle strategy. A shut-down or closed
 *       table makes a waiting or new writer throw {@link IllegalStateException}, never hang.</li>
 *   <li>{@link #shutdown()} stops taking writes, stops and joins the owner threads, and drains
 *       every queue: every write enqueued before it is applied. Reads keep working until
 *       {@link #close()}, which shuts down and releases the memory.</li>
 *   <li>A write that cannot be applied (its partition is full at its maximum, or its growth
 *       could not get memory) is not lost silently: the next {@code sync()} of the thread that
 *       sent it throws, once, {@link TableFullException} (every such write found no room) or
 *       {@link IllegalStateException} with the cause, saying how many; the partition keeps
 *       working, and later writes that fit are applied.</li>
 *   <li>A writer thread holds one of {@link Builder#maxProducers} queue slots from its first
 *       asynchronous write; a thread that has ended gives its slot to the next thread that
 *       needs one (after its queued writes are applied), so thread churn (virtual threads,
 *       replaced pool threads) never runs out of slots.</li>
 *   <li>{@link #forEach} is weakly consistent and never blocks writers: a partition that grows
 *       while it is iterated keeps its old memory until the iteration leaves it.</li>
 * </ul>
 *
 * <p>Owner threads can be pinned to CPUs (round-robin over the online CPUs); each partition's
 * memory is then bound to its owner's NUMA node, otherwise interleaved like the plain table's.
 */
public final class PartitionedLongLongTable implements LongLongMap {

    /*
     * Implementation notes.
     *
     * State: one Owner per partition: its drain lock word, its volatile `partition` (a
     * ConcurrentLongLongTable, replaced by growth and clear), its owner thread (if any); and the
     * table-wide producer `slots`, each a Producer with one SpscPairQueue per partition.
     *
     * Invariants.
     *  (P1) One writer per partition at a time: only the holder of its drain lock (CAS 0 -> 1,
     *       release store of 0) consumes its queues or writes its memory. So the holder writes
     *       values with plain release stores (putAllExclusive), and the lock's CAS/release order
     *       one holder's writes, queue positions and buffers before the next holder's.
     *  (P2) One thread's writes to a key reach the partition in the thread's order: one FIFO queue
     *       per (producer, partition), and every synchronous or direct write drains this thread's
     *       queue to that partition first, under the lock.
     *  (P3) A producer slot belongs to one live thread. A slot changes hands only when its thread
     *       has ended (Thread.isAlive() false, which happens-after all it did, JLS 17.4.4) by a CAS
     *       of the producer's thread field; the new thread first waits until the ended thread's
     *       queued writes are applied. A registration allocates before it takes a slot number.
     *  (P4) A drained message is never lost: SpscPairQueue.drain counts a message consumed once
     *       the handler has it and always publishes its position; a write the partition cannot
     *       take (full at its maximum, or its growth refused memory) is recorded in the producer
     *       it came from and thrown, once, by that producer's next sync().
     *  (P5) A replaced partition table is released only when no forEach is inside it (counted
     *       under the Owner's monitor; the last iteration to leave releases it).
     *
     * Linearisation points.
     *  get/containsKey/getAll: as in the partition table read (direct, never blocked); a read that
     *      meets a released table is redone on the current one.
     *  putAsync/removeAsync: the application under the drain lock (the value word's release store,
     *      or the removal's exchange). sync() returns after the consumer published a position at or
     *      past the thread's produced position, i.e. after every earlier write linearised.
     *  put/putIfAbsent/replace/remove (synchronous): inside the partition's operation, under the
     *      lock, after this thread's queued writes to it.
     *  clear(): per partition, the switch to a fresh table under its lock.
     *
     * Growth: before a write that may claim n slots, the lock holder checks the claims counted
     * under the lock against 0.75 of the capacity and copies the mapped entries into a larger
     * table (Growth.copyAll, the growing table's chunk copy, by the same policy); a growth whose memory
     * is refused leaves the partition as it is and the writes go in while they fit.
     */
    /** Messages taken from one queue in one drain. */
    private static final int DRAIN_LIMIT = 256;
    /** Without owner threads, a writer drains the next partition after this many writes. */
    static final int DRAIN_EVERY = 256;

    private final Owner[] owners;
    /** Producer slots handed out so far (at most {@link #maxProducers}); a slot is reused once its thread ends. */
    private final AtomicInteger producers = new AtomicInteger();
    /** slots.get(id): the producer of that slot, whose queue {@code out[o]} partition o drains. */
    private final AtomicReferenceArray<Producer> slots;
    private final int maxProducers;
    private final int queueCapacity;
    private final long missingValue;
    private final KeyHasher router;
    private final Supplier<IdleStrategy> idle;
    /** This thread's producer, or null if it has not written asynchronously (no slot). */
    private final ThreadLocal<Producer> producer = new ThreadLocal<>();
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final boolean ownerThreads;
    private volatile boolean stopping;
    private volatile boolean closed;

    private PartitionedLongLongTable(Builder b) {
        int n = b.partitions;
        this.maxProducers = b.maxProducers;
        this.slots = new AtomicReferenceArray<>(maxProducers);
        this.queueCapacity = b.queueCapacity;
        this.missingValue = b.partitionOptions.missingValue();
        this.router = b.seeded ? KeyHasher.seeded(~b.seed) : KeyHasher.random();
        this.idle = b.idle;
        this.ownerThreads = b.ownerThreads;
        this.owners = new Owner[n];
        if (b.maxCapacitySet && b.maxCapacity < b.capacity) {
            throw new IllegalArgumentException("maxCapacity " + b.maxCapacity + " is below capacity " + b.capacity
                    + "; the maximum must be at least the capacity");
        }
        long maxCapacity = Math.max(b.maxCapacity, b.capacity);
        Topology topology = b.pinOwners && b.ownerThreads ? Topology.read() : null;
        int[] cpus = topology != null ? topology.onlineCpus().toArray() : new int[0];
        long perPartition = TableLayout.roundCapacity(Math.max(64, Math.ceilDiv(b.capacity, n)));
        long maxPerPartition = TableLayout.roundCapacity(Math.max(64, Math.ceilDiv(maxCapacity, n)));
        try {
            for (int i = 0; i < n; i++) {
                int cpu = cpus.length == 0 ? -1 : cpus[i % cpus.length];
                ConcurrentLongLongTable.Builder options = b.partitionOptions.copy();
                if (!b.memorySet && cpu >= 0 && topology.nodes().size() > 1) {
                    int node = topology.cpus().stream().filter(c -> c.id() == cpu).findFirst().orElseThrow().node();
                    if (topology.node(node).hasMemory()) {
                        options.memory(MemoryProvider.onNode(node));
                    }
                }
                owners[i] = new Owner(i, cpu, options, perPartition, maxPerPartition);
            }
        } catch (RuntimeException e) {
            for (Owner o : owners) {
                if (o != null) {
                    o.partition.close();
                }
            }
            throw e;
        }
        if (ownerThreads) {
            for (Owner o : owners) {
                o.thread = Thread.ofPlatform().daemon().name("hashkernel-owner-" + o.index).start(o);
            }
        }
    }

    /**
     * A builder with 2 partitions and their owner threads, 1 M slots, queues of 1024 messages, 64
     * writer threads, missing value 0 (so a value of 0 cannot be stored: choose another missing
     * value where 0 is a value), Agrona's backoff idling up to a 1 ms park.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Options of a {@link PartitionedLongLongTable}. */
    public static final class Builder {
        private final ConcurrentLongLongTable.Builder partitionOptions = ConcurrentLongLongTable.builder();
        private long capacity = 1 << 20;
        private int partitions = 2;
        private int queueCapacity = 1024;
        private int maxProducers = 64;
        private boolean pinOwners;
        private boolean ownerThreads = true;
        private long maxCapacity = 1L << 40;
        private boolean maxCapacitySet;
        private boolean memorySet;
        private boolean seeded;
        private long seed;
        // Parks of up to 1 ms once idle: an idle owner thread wakes a thousand times a second at most.
        private final Supplier<IdleStrategy> idle = () -> new BackoffIdleStrategy(64, 64,
                TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));

        private Builder() {
        }

        /**
         * Slots in all partitions together to start with (each partition gets an equal share,
         * rounded up to a power of two of at least 64); a partition grows when its writes need more.
         *
         * @throws IllegalArgumentException if {@code slots} is not between 1 and 2^58
         */
        public Builder capacity(long slots) {
            TableLayout.roundCapacity(slots);
            this.capacity = slots;
            return this;
        }

        /**
         * A fixed hash seed for the partition of each key and the partitions' layouts, for
         * reproducible runs. By default each table draws secret random seeds, so that no one who
         * does not know them can choose keys that all go to one partition.
         */
        public Builder seed(long seed) {
            this.seeded = true;
            this.seed = seed;
            partitionOptions.seed(seed);
            return this;
        }

        /**
         * Where each partition's memory comes from (each growth and clear allocates anew).
         * Default: {@link MemoryProvider#hugePageAdvised()}, or memory bound to the owner's NUMA
         * node where owners are pinned on a machine of several nodes.
         */
        public Builder memory(MemoryProvider provider) {
            partitionOptions.memory(provider);
            this.memorySet = true;
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#prefetch}, for the bulk calls and sessions. */
        public Builder prefetch(PrefetchStrategy strategy) {
            partitionOptions.prefetch(strategy);
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#batch}, for the bulk calls and sessions. */
        public Builder batch(int requests) {
            partitionOptions.batch(requests);
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#depth}, for the bulk calls and sessions. */
        public Builder depth(int batches) {
            partitionOptions.depth(batches);
            return this;
        }

        /**
         * Slots all partitions may grow to together (default 2^40, or the capacity where that is
         * larger), shared equally: each partition's share is rounded up to a power of two of at
         * least 64, so a small maximum over many partitions holds more ({@link PartitionedLongLongTable#capacity()} says
         * how many). A partition at its share fills up, and the writes it cannot take are
         * reported by {@link #sync()} (or thrown by the synchronous writes) as
         * {@link TableFullException}.
         *
         * @throws IllegalArgumentException if {@code slots} is not between 1 and 2^58; {@link
         *                                  #build()} throws it if it is below the capacity
         */
        public Builder maxCapacity(long slots) {
            TableLayout.roundCapacity(slots);
            this.maxCapacity = slots;
            this.maxCapacitySet = true;
            return this;
        }

        /**
         * Partitions (1 to 1024; default 2), each with one writer at a time: its owner thread, or
         * without owner threads whichever writer holds its drain lock.
         */
        public Builder partitions(int partitions) {
            if (partitions < 1 || partitions > 1024) {
                throw new IllegalArgumentException("partitions must be between 1 and 1024, was " + partitions);
            }
            this.partitions = partitions;
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
            partitionOptions.missingValue(value);
            return this;
        }

        /**
         * Whether each partition has an owner thread that drains its queues (true, the default),
         * or the writers drain them (false: no thread besides the callers', DRAMHiT-P's way).
         */
        public Builder ownerThreads(boolean start) {
            this.ownerThreads = start;
            return this;
        }

        /**
         * Pin owner thread i to the i-th online CPU (round-robin) and bind its partition to that
         * CPU's node; nothing without owner threads.
         */
        public Builder pinOwners(boolean pin) {
            this.pinOwners = pin;
            return this;
        }


        /** Builds the table and starts its owner threads, if it has them. */
        public PartitionedLongLongTable build() {
            return new PartitionedLongLongTable(this);
        }
    }

    /** The value reads return for an absent key. */
    @Override
    public long missingValue() {
        return missingValue;
    }

    /** The number of partitions (and of owner threads, where there are owner threads). */
    public int partitions() {
        return owners.length;
    }

    /** Whether owner threads drain the partitions' queues (else the writers do). */
    public boolean hasOwnerThreads() {
        return ownerThreads;
    }

    /** The partition (owner) a key belongs to: a seeded hash of it (see {@link Builder#seed}). */
    int ownerOf(long key) {
        return (int) Math.unsignedMultiplyHigh(router.hash(key), owners.length);
    }

    /** The value of {@code key}, read directly from its partition, or {@link #missingValue()}. */
    @Override
    public long get(long key) {
        return read(ownerOf(key), t -> t.get(key));
    }

    /** A read of partition {@code o}'s table; redone on its new table if it grew meanwhile. */
    private long read(int o, PartitionRead read) {
        Owner owner = owners[o];
        while (true) {
            ConcurrentLongLongTable t = owner.partition;
            try {
                return read.apply(t);
            } catch (IllegalStateException e) {
                if (closed || owner.partition == t) {
                    throw e;
                }
            }
        }
    }

    /**
     * {@code values[valuesOffset + i] = get(keys[keysOffset + i])} for {@code i < length}, read
     * directly: the keys are grouped by partition and each group looked up with the partition's
     * batched, prefetched {@link ConcurrentLongLongTable#getAll}. Each lookup linearises as a
     * single {@code get}.
     *
     * @throws IndexOutOfBoundsException if a range lies outside its array
     * @throws IllegalArgumentException  if the two ranges overlap other than exactly (in place)
     */
    @Override
    public void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        // One partition: straight to it, unless in place (a read redone after a growth needs the
        // keys, which the grouping copies).
        if (owners.length == 1 && keys != values) {
            read(0, t -> {
                t.getAll(keys, keysOffset, values, valuesOffset, length);
                return 0;
            });
            return;
        }
        Scratch s = scratch.get().groupByPartition(this, keys, keysOffset, null, 0, length);
        int[] start = s.start;
        for (int o = 0; o < owners.length; o++) {
            int n = start[o + 1] - start[o];
            if (n > 0) {
                int from = start[o];
                read(o, t -> {
                    t.getAll(s.keys, from, s.values, from, n);
                    return 0;
                });
            }
        }
        for (int at = 0; at < length; at++) {
            values[valuesOffset + s.index[at]] = s.values[at];
        }
    }

    /** One thread's buffers for the bulk calls: keys grouped by partition. */
    private static final class Scratch {
        int[] owner = new int[0];
        /** index[at]: where the key at {@code at} of the grouped arrays came from. */
        int[] index = new int[0];
        long[] keys = new long[0];
        long[] values = new long[0];
        /** start[o] to start[o + 1]: partition o's keys in the grouped arrays. */
        int[] start = new int[0];
        int[] fill = new int[0];

        /**
         * Groups the keys (and the values, where given) by partition, stably: each partition's
         * keys keep their order.
         */
        Scratch groupByPartition(PartitionedLongLongTable t, long[] keys, int keysOffset, long[] values,
                                 int valuesOffset, int length) {
            int owners = t.owners.length;
            if (owner.length < length) {
                owner = new int[length];
                index = new int[length];
                this.keys = new long[length];
                this.values = new long[length];
            }
            if (start.length < owners + 1) {
                start = new int[owners + 1];
                fill = new int[owners + 1];
            }
            java.util.Arrays.fill(start, 0, owners + 1, 0);
            for (int i = 0; i < length; i++) {
                int o = t.ownerOf(keys[keysOffset + i]);
                owner[i] = o;
                start[o + 1]++;
            }
            for (int o = 0; o < owners; o++) {
                start[o + 1] += start[o];
            }
            System.arraycopy(start, 0, fill, 0, owners);
            for (int i = 0; i < length; i++) {
                int at = fill[owner[i]]++;
                this.keys[at] = keys[keysOffset + i];
                this.values[at] = values == null ? 0 : values[valuesOffset + i];
                index[at] = i;
            }
            return this;
        }
    }

    /** Whether {@code key} is present (read directly). */
    @Override
    public boolean containsKey(long key) {
        return read(ownerOf(key), t -> t.containsKey(key) ? 1 : 0) != 0;
    }

    /**
     * Sends {@code key -> value} to the key's partition; returns once enqueued (draining that
     * partition, or waiting with the idle strategy, while the queue is full).
     *
     * @throws IllegalArgumentException if {@code value} is the missing value
     * @throws IllegalStateException    if the table is shut down or closed, or this thread is one
     *                                  writer more than {@code maxProducers}
     */
    public void putAsync(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        ensureRunning();
        send(producer(), key, value);
    }

    /**
     * {@code put(keys[keysOffset + i], values[valuesOffset + i])} for {@code i < length}, with
     * the same guarantees (this thread's writes to one key apply in array order, all are applied
     * at the latest after {@link #sync()}), and cheaper per key. Without owner threads, the keys
     * are grouped by partition, and a group whose partition's drain lock is free is put into the
     * partition at once (after what the queues hold for it), batched and prefetched, without
     * going through the queue; the other groups are sent.
     *
     * @throws IllegalArgumentException  if a value is the missing value (nothing is sent)
     * @throws IndexOutOfBoundsException if a range lies outside its array (nothing is sent)
     * @throws IllegalStateException     as {@link #putAsync}
     */
    public void putAllAsync(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        Objects.checkFromIndexSize(keysOffset, length, keys.length);
        Objects.checkFromIndexSize(valuesOffset, length, values.length);
        BulkRanges.checkValues(values, valuesOffset, length, missingValue);
        ensureRunning();
        Producer p = producer();
        if (ownerThreads) {
            for (int i = 0; i < length; i++) {
                send(p, keys[keysOffset + i], values[valuesOffset + i]);
            }
            return;
        }
        Scratch s = scratch.get().groupByPartition(this, keys, keysOffset, values, valuesOffset, length);
        for (int o = 0; o < owners.length; o++) {
            putGroup(p, s, o);
        }
    }

    /**
     * Puts partition {@code o}'s group of {@code s} straight into the partition when its drain
     * lock is free, after applying everything this thread still has queued there (so this
     * thread's writes apply in order; other threads' writes were never ordered against ours);
     * else sends the group through the queue.
     */
    private void putGroup(Producer p, Scratch s, int o) {
        int from = s.start[o];
        int count = s.start[o + 1] - from;
        if (count == 0) {
            return;
        }
        Owner owner = owners[o];
        if (owner.tryLock()) {
            try {
                owner.drainLocked();                 // what others sent first: fresher reads, same cost
                owner.drainAll(p);                   // and all of ours, so that ours apply in order
                owner.applyLocked(p, s.keys, from, s.values, count);
            } finally {
                owner.unlock();
            }
        } else {
            for (int at = from; at < from + count; at++) {
                send(p, s.keys[at], s.values[at]);
            }
        }
    }

    /** Sends the removal of {@code key} to its partition; returns once enqueued. */
    public void removeAsync(long key) {
        ensureRunning();
        send(producer(), key, missingValue);   // the missing value cannot be stored: it marks a removal
    }

    private void send(Producer p, long key, long value) {
        int o = ownerOf(key);
        SpscPairQueue q = p.out[o];
        if (!q.offer(key, value)) {
            IdleStrategy wait = p.idle;
            wait.reset();
            while (!q.offer(key, value)) {
                ensureRunning();
                if (owners[o].drain() <= 0) {   // help; wait only while another thread drains
                    wait.idle();
                }
            }
        }
        p.sent[o] = true;
        if (!ownerThreads && --p.untilDrain == 0) {
            p.untilDrain = DRAIN_EVERY;
            owners[p.nextDrain].drain();
            p.nextDrain = p.nextDrain + 1 == owners.length ? 0 : p.nextDrain + 1;
        }
    }

    /**
     * Returns once every write this thread sent before the call has been applied to its
     * partition, draining the partitions itself when their drain locks are free. A thread that
     * never wrote asynchronously returns at once (it takes no producer slot).
     *
     * @throws TableFullException    if some of this thread's writes since its last {@code sync()}
     *                               found their partition full (reported once)
     * @throws IllegalStateException if the table is closed, or some of this thread's writes could
     *                               not be applied for another reason (reported once, with it)
     */
    public void sync() {
        if (closed) {
            throw new IllegalStateException("the partitioned table is closed");
        }
        Producer p = producer.get();
        if (p == null) {
            return;
        }
        for (int o = 0; o < owners.length; o++) {
            if (!p.sent[o]) {
                continue;
            }
            SpscPairQueue q = p.out[o];
            long target = q.producedPosition();
            IdleStrategy wait = p.idle;
            wait.reset();
            while (q.consumedPosition() < target) {
                if (closed) {
                    throw new IllegalStateException("the partitioned table was closed with "
                            + (target - q.consumedPosition()) + " of this thread's writes unapplied");
                }
                if (owners[o].drain() <= 0) {
                    wait.idle();
                }
            }
            p.sent[o] = false;
        }
        p.reportFailures();
    }

    // ------------------------------------------------------------ synchronous (LongLongMap) writes

    /**
     * Takes partition {@code o}'s drain lock for a synchronous write of this thread: drains the
     * partition while it waits where it can (a free lock is taken at once), and once it holds
     * the lock applies what this thread still has queued there, so that the write it is about
     * to make comes after them. The caller must {@link Owner#unlock()}.
     */
    private Owner lockForWrite(int o) {
        ensureRunning();
        Owner owner = owners[o];
        if (!owner.tryLock()) {
            IdleStrategy wait = idle.get();         // not the producer's: a reader need not register
            while (!owner.tryLock()) {
                ensureRunning();
                wait.idle();
            }
        }
        Producer p = producer.get();
        if (p != null) {
            try {
                owner.drainAll(p);
            } catch (RuntimeException | Error e) {
                owner.unlock();
                throw e;
            }
        }
        return owner;
    }

    /** One read of a partition. */
    @FunctionalInterface
    private interface PartitionRead {
        long apply(ConcurrentLongLongTable partition);
    }

    /** One synchronous write to a partition, made under its lock, counting the slot it claims in {@code claims[0]}. */
    @FunctionalInterface
    private interface PartitionWrite {
        long apply(ConcurrentLongLongTable partition, long[] claims);
    }

    /**
     * {@code write} applied to {@code key}'s partition under its lock ({@link #lockForWrite});
     * where it {@code claims} a slot, with room made first and the slot counted.
     */
    private long locked(long key, boolean claims, PartitionWrite write) {
        Owner owner = lockForWrite(ownerOf(key));
        try {
            RuntimeException noGrowth = claims ? owner.tryRoom(1) : null;
            owner.claims[0] = 0;
            try {
                return write.apply(owner.partition, owner.claims);
            } catch (TableFullException full) {
                throw noGrowth != null ? noGrowth : full;
            } finally {
                owner.used += owner.claims[0];
            }
        } finally {
            owner.unlock();
        }
    }

    /** The previous value or {@link #missingValue()}; applied now, under the partition's lock. */
    @Override
    public long put(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        return locked(key, true, (t, c) -> t.put(key, value, c));
    }

    /** As {@link ConcurrentLongLongTable#putIfAbsent}; applied now, under the partition's lock. */
    @Override
    public long putIfAbsent(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        return locked(key, true, (t, c) -> t.putIfAbsent(key, value, c));
    }

    /** As {@link ConcurrentLongLongTable#replace(long, long)}; applied now, under the partition's lock. */
    @Override
    public long replace(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        return locked(key, false, (t, c) -> t.replace(key, value));
    }

    /** As {@link ConcurrentLongLongTable#replace(long, long, long)}; applied now, under the partition's lock. */
    @Override
    public boolean replace(long key, long expectedValue, long newValue) {
        ConcurrentLongLongTable.requireStorable(newValue, missingValue);
        return locked(key, false, (t, c) -> t.replace(key, expectedValue, newValue) ? 1 : 0) != 0;
    }

    /** The removed value or {@link #missingValue()}; applied now, under the partition's lock. */
    @Override
    public long remove(long key) {
        return locked(key, false, (t, c) -> t.remove(key));
    }

    /** As {@link ConcurrentLongLongTable#remove(long, long)}; applied now, under the partition's lock. */
    @Override
    public boolean remove(long key, long expectedValue) {
        return locked(key, false, (t, c) -> t.remove(key, expectedValue) ? 1 : 0) != 0;
    }

    /** One group of a synchronous bulk call, under the partition's lock: {@code count} keys from {@code from} of the scratch arrays. */
    @FunctionalInterface
    private interface GroupWrite {
        long apply(Owner owner, Scratch grouped, int from, int count);
    }

    /**
     * Each partition's group of {@code s}, written under that partition's lock; the sum of the
     * results. A group that does not fit does not stop the others: every key with room is put,
     * and then {@link TableFullException} counts those without.
     */
    private long lockedGroups(Scratch s, GroupWrite write) {
        long sum = 0;
        BulkFailures failures = new BulkFailures();
        for (int o = 0; o < owners.length; o++) {
            int from = s.start[o];
            int n = s.start[o + 1] - from;
            if (n > 0) {
                Owner owner = lockForWrite(o);
                try {
                    sum += write.apply(owner, s, from, n);
                } catch (TableFullException e) {
                    failures.full(e, e.notPut());
                } catch (RuntimeException e) {
                    ensureOpen();
                    failures.failed(e, n, false);        // a growth without memory: the other groups still go
                } finally {
                    owner.unlock();
                }
            }
        }
        failures.throwIfAny(s.start[owners.length]);
        return sum;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Grouped by partition; each group applied under its partition's lock with the batched,
     * prefetched put. Every key that has or finds room is put; if some new keys found their
     * partition full, {@link TableFullException} then says how many.
     */
    @Override
    public long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        BulkRanges.checkValues(values, valuesOffset, length, missingValue);
        ensureRunning();
        return lockedGroups(scratch.get().groupByPartition(this, keys, keysOffset, values, valuesOffset, length),
                (owner, g, from, n) -> owner.putLocked(g.keys, from, g.values, n));
    }

    /** {@inheritDoc} Grouped by partition; each group applied under its partition's lock. */
    @Override
    public long removeAll(long[] keys, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, keys.length);
        ensureRunning();
        return lockedGroups(scratch.get().groupByPartition(this, keys, offset, null, 0, length),
                (owner, g, from, n) -> owner.partition.removeAll(g.keys, from, n));
    }

    /**
     * Removes every entry: each partition in turn, under its lock, after applying the writes its
     * queues hold, switches to fresh memory of its initial capacity (the old memory is released
     * once no reader or iteration is in it). Each partition's clear is atomic; the whole is
     * weakly consistent with concurrent writes to other partitions.
     */
    @Override
    public void clear() {
        for (int o = 0; o < owners.length; o++) {
            Owner owner = lockForWrite(o);
            try {
                owner.drainLocked();
                owner.reset();
            } finally {
                owner.unlock();
            }
        }
    }

    /** Whether {@link #close()} has been called. */
    @Override
    public boolean isClosed() {
        return closed;
    }

    /** Entries in all partitions (exact when no write is in flight; never negative). */
    @Override
    public long size() {
        long n = 0;
        for (int o = 0; o < owners.length; o++) {
            n += read(o, ConcurrentLongLongTable::size);
        }
        return n;
    }

    /** Slots in all partitions. */
    @Override
    public long capacity() {
        long n = 0;
        for (Owner o : owners) {
            n += o.partition.capacity();
        }
        return n;
    }

    /**
     * Calls {@code action} for each entry of each partition, weakly consistent as the plain
     * table's. It holds no lock (the action may write) and blocks no growth: a partition that is
     * replaced meanwhile (grown or cleared) is read to the end in its old memory, which stays
     * until the iteration leaves it; an entry present for the whole traversal is seen once.
     */
    @Override
    public void forEach(LongLongConsumer action) {
        Objects.requireNonNull(action, "action");
        if (closed) {
            throw new IllegalStateException("the partitioned table is closed");
        }
        for (Owner owner : owners) {
            ConcurrentLongLongTable t = owner.enterIteration();
            try {
                t.forEach(action);
            } finally {
                owner.exitIteration();
            }
        }
    }

    /** Bytes of memory all partitions hold. */
    @Override
    public long memoryBytes() {
        long n = 0;
        for (Owner o : owners) {
            n += o.partition.memoryBytes();
        }
        return n;
    }

    /** Bytes of all partitions' memory backed by huge pages now, or -1 where unknown. */
    @Override
    public long hugePageBytes() {
        long n = 0;
        for (Owner o : owners) {
            long h = o.partition.hugePageBytes();
            if (h < 0) {
                return -1;
            }
            n += h;
        }
        return n;
    }

    /**
     * How the partitions' memory was obtained: the one description they share, prefixed with
     * their number, or each partition's where they differ (memory bound to different nodes).
     */
    @Override
    public String memoryDescription() {
        String first = owners[0].partition.memoryDescription();
        StringBuilder each = new StringBuilder();
        boolean same = true;
        for (int o = 0; o < owners.length; o++) {
            String d = owners[o].partition.memoryDescription();
            same &= d.equals(first);
            each.append(o == 0 ? "" : "; ").append("partition ").append(o).append(": ").append(d);
        }
        return same ? owners.length + (owners.length == 1 ? " partition: " : " partitions, each: ") + first
                : each.toString();
    }

    /**
     * A new asynchronous session on this table, for one thread at a time (see
     * {@link LongLongSession}). Requests are gathered into pieces of {@value PieceSession#PIECE};
     * a piece runs in submission order, each run of lookups as one batched {@link #getAll} (direct
     * reads, prefetched) and each put and remove as the synchronous call, under its partition's
     * drain lock. Use {@link #putAsync} and {@link #sync()} for writes without results.
     */
    @Override
    public LongLongSession session() {
        ensureOpen();
        return new PieceSession(missingValue) {
            @Override
            void ensureOpen() {
                PartitionedLongLongTable.this.ensureOpen();
            }

            @Override
            void runPiece() {
                runInOrder(PartitionedLongLongTable.this);
            }
        };
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the partitioned table is closed");
        }
    }

    /**
     * Stops taking writes, lets the owner threads apply what their queues hold and joins them,
     * then drains whatever is left (every queue, without owner threads). Reads keep working until
     * {@link #close()}. Idempotent.
     */
    public void shutdown() {
        stopping = true;
        boolean interrupted = false;
        for (Owner o : owners) {
            while (o.thread != null && o.thread.isAlive()) {
                try {
                    o.thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (!closed) {
            IdleStrategy wait = idle.get();
            for (Owner o : owners) {
                for (int work; (work = o.drain()) != 0; ) {
                    if (work < 0) {
                        wait.idle();        // a writer helping in its sync(): wait for its lock
                    }
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
            for (Owner o : owners) {
                o.closeAll();
            }
        }
    }

    @Override
    public String toString() {
        return "PartitionedLongLongTable[partitions=" + owners.length + (closed ? ", closed"
                : ", size=" + size() + ", capacity=" + capacity()) + (ownerThreads ? ", owner threads]" : "]");
    }

    private void ensureRunning() {
        if (stopping) {
            throw new IllegalStateException(closed ? "the partitioned table is closed"
                    : "the partitioned table is shut down: it takes no more writes");
        }
    }

    /**
     * This thread's producer: its own from an earlier write, else a free slot (a new one, or the
     * slot of a thread that has ended).
     */
    private Producer producer() {
        Producer p = producer.get();
        if (p == null) {
            p = register();
            producer.set(p);
        }
        return p;
    }

    /**
     * One writer thread's queues, one per partition, its drain turn, and the writes of its that
     * could not be applied since its last {@link #sync()}.
     */
    private static final class Producer {
        private static final VarHandle THREAD;

        static {
            try {
                THREAD = MethodHandles.lookup().findVarHandle(Producer.class, "thread", Thread.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final int id;
        final SpscPairQueue[] out;
        final boolean[] sent;
        final IdleStrategy idle;
        int untilDrain = DRAIN_EVERY;
        int nextDrain;
        /** The thread that writes through these queues; replaced (by CAS) only once it has ended. */
        @SuppressWarnings("unused") // through THREAD
        private volatile Thread thread;
        // Guarded by this: writes not applied since the last report, whether all found no room, the first cause.
        private long failed;
        private boolean onlyFull = true;
        private RuntimeException cause;

        Producer(int id, SpscPairQueue[] out, IdleStrategy idle, Thread thread) {
            this.id = id;
            this.out = out;
            this.sent = new boolean[out.length];
            this.idle = idle;
            this.thread = thread;
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
        synchronized void fail(long writes, RuntimeException e) {
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
            RuntimeException e;
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

    private Producer register() {
        Thread me = Thread.currentThread();
        if (producers.get() >= maxProducers) {
            return reclaim(me);
        }
        // Allocated before a slot number is taken: a failure here (memory) leaves no slot behind.
        SpscPairQueue[] out = new SpscPairQueue[owners.length];
        for (int o = 0; o < owners.length; o++) {
            out[o] = new SpscPairQueue(queueCapacity);
        }
        IdleStrategy wait = idle.get();
        int id = producers.getAndIncrement();
        if (id >= maxProducers) {
            producers.decrementAndGet();
            return reclaim(me);
        }
        Producer p = new Producer(id, out, wait, me);
        p.nextDrain = id % owners.length;       // writers start their turns on different partitions
        slots.set(id, p);
        return p;
    }

    /**
     * The slot of a writer thread that has ended, for {@code me}: its queues are applied first
     * (draining them here where their partitions' locks are free), so its writes are not lost
     * and the failures found meanwhile are its own.
     */
    private Producer reclaim(Thread me) {
        for (int id = 0; id < maxProducers; id++) {
            Producer p = slots.get(id);
            if (p != null && p.takeOver(me)) {
                IdleStrategy wait = p.idle;
                wait.reset();
                for (int o = 0; o < owners.length; o++) {
                    while (p.out[o].pending() != 0) {
                        ensureRunning();
                        if (owners[o].drain() <= 0) {
                            wait.idle();
                        }
                    }
                    p.sent[o] = false;
                }
                p.forgetFailures();
                return p;
            }
        }
        throw new IllegalStateException("more than " + maxProducers + " live threads write to this partitioned table"
                + " (a slot is reused once its thread ends); build it with a larger maxProducers");
    }

    /**
     * A partition's drain state: the drain lock, the partition's table, and the owner thread's
     * loop where there is one. Whoever holds the lock is the partition's one writer.
     */
    private final class Owner implements Runnable, SpscPairQueue.Handler {
        private static final VarHandle LOCK;

        static {
            try {
                LOCK = MethodHandles.lookup().findVarHandle(Owner.class, "lock", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final int index;
        final int cpu;
        volatile Thread thread;
        /** Why the owner thread runs unpinned, or the last error its loop survived; null if none. */
        volatile String failure;
        @SuppressWarnings("unused") // through LOCK
        private volatile int lock;
        /** The partition's table: replaced (under the lock, and under this monitor) when it grows or is cleared; read by anyone. */
        volatile ConcurrentLongLongTable partition;
        /** The options of the partition's tables (each growth and clear builds a new one). */
        private final ConcurrentLongLongTable.Builder options;
        private final long initialSlots;
        private final long maxSlots;
        // Guarded by this monitor: iterations in progress, and the replaced tables they may still read.
        private int iterators;
        private final List<ConcurrentLongLongTable> retired = new ArrayList<>();
        // Touched only under the lock:
        /** Slots claimed in {@link #partition} (a removed key's slot counts until the next growth). */
        private long used;
        private final long[] claims = new long[1];
        private final long[] keys = new long[DRAIN_LIMIT];
        private final long[] values = new long[DRAIN_LIMIT];
        private int pending;
        /** The producer whose writes are being applied: their failures are reported to it. */
        private Producer applying;

        Owner(int index, int cpu, ConcurrentLongLongTable.Builder options, long slots, long maxSlots) {
            this.index = index;
            this.cpu = cpu;
            this.options = options;
            this.initialSlots = slots;
            this.maxSlots = maxSlots;
            this.partition = table(slots);
        }

        private ConcurrentLongLongTable table(long slots) {
            return options.build(slots, index);   // a fixed seed differs by partition
        }

        /**
         * Under the lock, before writes that may claim {@code slots} more: grows the partition when
         * they would pass 0.75 of its capacity, below its maximum. The holder is the partition's
         * one writer, so it copies alone: the mapped entries, line chunk by chunk, into a table
         * large enough for twice them (removed keys are left behind), batched and prefetched;
         * then it switches {@link #partition} ({@link #replace}). A reader still in the old
         * table gets an {@link IllegalStateException} once it is released and reads the new one.
         */
        void room(long slots) {
            ConcurrentLongLongTable old = partition;
            long capacity = old.capacity();
            if (used + slots <= Growth.limitOf(capacity)) {
                return;
            }
            long live = old.size();
            long target = Growth.grownCapacity(capacity, live + slots, maxSlots);
            if (target == capacity && Growth.reclaimsLittle(used, live, capacity)) {
                return;                                  // at its maximum, nothing to reclaim: it fills up
            }
            ConcurrentLongLongTable next = table(target);
            try {
                Growth.copyAll(old, next, true);
            } catch (RuntimeException e) {
                next.close();
                throw e;
            }
            replace(next, live);
        }

        /**
         * Under the lock: makes {@code next} the partition, with {@code used} slots claimed, and
         * releases the old table now, or when the last iteration in it leaves.
         */
        private void replace(ConcurrentLongLongTable next, long used) {
            ConcurrentLongLongTable old;
            synchronized (this) {
                old = partition;
                partition = next;
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
            replace(table(initialSlots), 0);
        }

        /** The partition for an iteration, which keeps its memory until {@link #exitIteration()}. */
        synchronized ConcurrentLongLongTable enterIteration() {
            iterators++;
            return partition;
        }

        synchronized void exitIteration() {
            if (--iterators == 0) {
                retired.forEach(ConcurrentLongLongTable::close);
                retired.clear();
            }
        }

        /** Closes the partition and any replaced table still kept for an iteration. */
        synchronized void closeAll() {
            partition.close();
            retired.forEach(ConcurrentLongLongTable::close);
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
            int n = Math.min(producers.get(), maxProducers);
            for (int i = 0; i < n; i++) {
                Producer p = slots.get(i);
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
                return partition.putAllExclusive(keys, offset, values, offset, length, claims);
            } catch (TableFullException full) {
                throw noGrowth != null ? noGrowth : full;
            } finally {
                used += claims[0];
            }
        }

        /**
         * Applies a batch of asynchronous puts: a failure (a full partition, a growth that
         * could not get memory) is recorded for the producer they came from, never thrown, so
         * the drain goes on. If the growth fails, the puts still go into the partition as it is.
         */
        private void apply(long[] keys, int offset, long[] values, int length) {
            RuntimeException growth = tryRoom(length);
            claims[0] = 0;
            try {
                partition.putAllExclusive(keys, offset, values, offset, length, claims);
            } catch (TableFullException e) {
                applying.fail(e.notPut(), growth != null ? growth : e);
            } catch (RuntimeException e) {
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
                    partition.remove(key);
                } catch (RuntimeException e) {
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
}
