package io.hashkernel.table;

import io.hashkernel.numa.Topology;
import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.table.spi.MemoryProvider;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
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
 * <p>Partition threads can be pinned to CPUs (round-robin over the online CPUs); each partition's
 * memory is then bound to its owner's NUMA node, otherwise interleaved like the plain table's.
 */
public final class PartitionedLongLongTable implements LongLongMap {

    /*
     * Implementation notes.
     *
     * Parts. This class routes keys (a seeded hash picks the partition), groups bulk calls by
     * partition and takes the drain locks for synchronous writes. Each Partition holds its drain
     * lock word, its volatile `table` (a LineTable, replaced by growth and clear), its growth, the
     * application of drained messages and its owner thread's loop (if any). Producers hands out
     * the writer slots; a Producer is one writer's queues (one SpscPairQueue per partition), the
     * backpressure on them and the failures to report at its next sync().
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
     *       take (full at its maximum, its growth refused memory, any other failure, Errors
     *       included) is recorded in the producer
     *       it came from and thrown, once, by that producer's next sync().
     *  (P5) A replaced partition table is released only when no forEach is inside it (counted
     *       under the Partition's monitor; the last iteration to leave releases it).
     *  (P6) No write after shutdown's last drain: a synchronous writer re-reads `stopping` once it
     *       holds the drain lock and lets go if it is set (volatile CAS then volatile read, against
     *       shutdown's volatile write then its drain's CAS: one of the two sees the other). A
     *       growth that still ends after close() released the partition frees its new table
     *       instead of installing it (Partition.closeAll marks it closed under its monitor).
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
    /** Without owner threads, a writer drains the next partition after this many writes. */
    static final int DRAIN_EVERY = 256;

    private final Partition[] partitions;
    private final Producers producers;
    private final long missingValue;
    private final KeyHasher router;
    private final Supplier<IdleStrategy> idle;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final boolean ownerThreads;
    /** Throws once the table takes no more writes: handed to the slow paths that wait. */
    private final Runnable running = this::ensureRunning;
    private volatile boolean stopping;
    private volatile boolean closed;

    private PartitionedLongLongTable(Builder b) {
        int n = b.partitions;
        this.producers = new Producers(b.maxProducers, b.queueCapacity, b.idle);
        this.missingValue = b.partitionOptions.missingValue();
        this.router = b.seeded ? KeyHasher.seeded(~b.seed) : KeyHasher.random();
        this.idle = b.idle;
        this.ownerThreads = b.ownerThreads;
        this.partitions = new Partition[n];
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
                partitions[i] = new Partition(i, cpu, options, perPartition, maxPerPartition, producers, idle);
            }
        } catch (RuntimeException e) {
            for (Partition part : partitions) {
                if (part != null) {
                    part.table.close();
                }
            }
            throw e;
        }
        if (ownerThreads) {
            for (Partition part : partitions) {
                part.thread = Thread.ofPlatform().daemon().name("hashkernel-owner-" + part.index).start(part);
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
         * node where partitions are pinned on a machine of several nodes.
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

        /** As {@link ConcurrentLongLongTable.Builder#preTouch}: every partition's memory in {@link #build()}. */
        public Builder preTouch(boolean touch) {
            partitionOptions.preTouch(touch);
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
        return partitions.length;
    }

    /** Whether owner threads drain the partitions' queues (else the writers do). */
    public boolean hasOwnerThreads() {
        return ownerThreads;
    }

    /** The partition (owner) a key belongs to: a seeded hash of it (see {@link Builder#seed}). */
    int partitionOf(long key) {
        return (int) Math.unsignedMultiplyHigh(router.hash(key), partitions.length);
    }

    /** The value of {@code key}, read directly from its partition, or {@link #missingValue()}. */
    @Override
    public long get(long key) {
        return read(partitionOf(key), t -> t.get(key));
    }

    /** A read of partition {@code o}'s table; redone on its new table if it grew meanwhile. */
    private long read(int o, PartitionRead read) {
        Partition part = partitions[o];
        while (true) {
            LineTable t = part.table;
            try {
                return read.apply(t);
            } catch (IllegalStateException e) {
                if (closed || part.table == t) {
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
        if (partitions.length == 1 && keys != values) {
            read(0, t -> {
                t.getAll(keys, keysOffset, values, valuesOffset, length);
                return 0;
            });
            return;
        }
        Scratch s = scratch.get().groupByPartition(this, keys, keysOffset, null, 0, length);
        int[] start = s.start;
        for (int o = 0; o < partitions.length; o++) {
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
        /** home[i]: the partition of the i-th key. */
        int[] home = new int[0];
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
            int partitions = t.partitions.length;
            if (home.length < length) {
                home = new int[length];
                index = new int[length];
                this.keys = new long[length];
                this.values = new long[length];
            }
            if (start.length < partitions + 1) {
                start = new int[partitions + 1];
                fill = new int[partitions + 1];
            }
            java.util.Arrays.fill(start, 0, partitions + 1, 0);
            for (int i = 0; i < length; i++) {
                int o = t.partitionOf(keys[keysOffset + i]);
                home[i] = o;
                start[o + 1]++;
            }
            for (int o = 0; o < partitions; o++) {
                start[o + 1] += start[o];
            }
            System.arraycopy(start, 0, fill, 0, partitions);
            for (int i = 0; i < length; i++) {
                int at = fill[home[i]]++;
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
        return read(partitionOf(key), t -> t.containsKey(key) ? 1 : 0) != 0;
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
        LineTable.requireStorable(value, missingValue);
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
        for (int o = 0; o < partitions.length; o++) {
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
        Partition part = partitions[o];
        if (part.tryLock()) {
            try {
                part.drainLocked();                 // what others sent first: fresher reads, same cost
                part.drainAll(p);                   // and all of ours, so that ours apply in order
                part.applyLocked(p, s.keys, from, s.values, count);
            } finally {
                part.unlock();
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
        int o = partitionOf(key);
        p.send(o, partitions[o], key, value, running);
        if (!ownerThreads && --p.untilDrain == 0) {
            p.untilDrain = DRAIN_EVERY;
            partitions[p.nextDrain].drain();
            p.nextDrain = p.nextDrain + 1 == partitions.length ? 0 : p.nextDrain + 1;
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
        Producer p = producers.current();
        if (p == null) {
            return;
        }
        for (int o = 0; o < partitions.length; o++) {
            p.awaitApplied(o, partitions[o], () -> closed);
        }
        p.reportFailures();
    }

    // ------------------------------------------------------------ synchronous (LongLongMap) writes

    /**
     * Takes partition {@code o}'s drain lock for a synchronous write of this thread: drains the
     * partition while it waits where it can (a free lock is taken at once), and once it holds
     * the lock applies what this thread still has queued there, so that the write it is about
     * to make comes after them. The caller must {@link Partition#unlock()}.
     */
    private Partition lockForWrite(int o) {
        ensureRunning();
        Partition part = partitions[o];
        if (!part.tryLock()) {
            IdleStrategy wait = idle.get();         // not the producer's: a reader need not register
            while (!part.tryLock()) {
                ensureRunning();
                wait.idle();
            }
        }
        if (stopping) {
            // shutdown() may have finished its last drain of this partition before the lock was
            // taken: a write now could grow the partition while close() frees it.
            part.unlock();
            ensureRunning();
        }
        Producer p = producers.current();
        if (p != null) {
            try {
                part.drainAll(p);
            } catch (RuntimeException | Error e) {
                part.unlock();
                throw e;
            }
        }
        return part;
    }

    /** One read of a partition. */
    @FunctionalInterface
    private interface PartitionRead {
        long apply(LineTable partition);
    }

    /**
     * {@code write} applied to {@code key}'s partition under its lock ({@link #lockForWrite});
     * where it {@code claims} a slot, with room made first and the slot counted.
     */
    private long locked(long key, boolean claims, Partition.Write write) {
        Partition part = lockForWrite(partitionOf(key));
        try {
            return part.writeLocked(claims, write);
        } finally {
            part.unlock();
        }
    }

    /** The previous value or {@link #missingValue()}; applied now, under the partition's lock. */
    @Override
    public long put(long key, long value) {
        LineTable.requireStorable(value, missingValue);
        return locked(key, true, (t, c) -> t.put(key, value, c));
    }

    /** As {@link ConcurrentLongLongTable#putIfAbsent}; applied now, under the partition's lock. */
    @Override
    public long putIfAbsent(long key, long value) {
        LineTable.requireStorable(value, missingValue);
        return locked(key, true, (t, c) -> t.putIfAbsent(key, value, c));
    }

    /** As {@link ConcurrentLongLongTable#replace(long, long)}; applied now, under the partition's lock. */
    @Override
    public long replace(long key, long value) {
        LineTable.requireStorable(value, missingValue);
        return locked(key, false, (t, c) -> t.replace(key, value));
    }

    /** As {@link ConcurrentLongLongTable#replace(long, long, long)}; applied now, under the partition's lock. */
    @Override
    public boolean replace(long key, long expectedValue, long newValue) {
        LineTable.requireStorable(newValue, missingValue);
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
        long apply(Partition part, Scratch grouped, int from, int count);
    }

    /**
     * Each partition's group of {@code s}, written under that partition's lock; the sum of the
     * results. A group that does not fit does not stop the others: every key with room is put,
     * and then {@link TableFullException} counts those without.
     */
    private long lockedGroups(Scratch s, GroupWrite write) {
        long sum = 0;
        BulkFailures failures = new BulkFailures();
        for (int o = 0; o < partitions.length; o++) {
            int from = s.start[o];
            int n = s.start[o + 1] - from;
            if (n > 0) {
                Partition part = lockForWrite(o);
                try {
                    sum += write.apply(part, s, from, n);
                } catch (TableFullException e) {
                    failures.full(e, e.notPut());
                } catch (RuntimeException e) {
                    ensureOpen();
                    failures.failed(e, n, false);        // a growth without memory: the other groups still go
                } finally {
                    part.unlock();
                }
            }
        }
        failures.throwIfAny(s.start[partitions.length]);
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
                (part, g, from, n) -> part.putLocked(g.keys, from, g.values, n));
    }

    /** {@inheritDoc} Grouped by partition; each group applied under its partition's lock. */
    @Override
    public long removeAll(long[] keys, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, keys.length);
        ensureRunning();
        return lockedGroups(scratch.get().groupByPartition(this, keys, offset, null, 0, length),
                (part, g, from, n) -> part.table.removeAll(g.keys, from, n));
    }

    /**
     * Removes every entry: each partition in turn, under its lock, after applying the writes its
     * queues hold, switches to fresh memory of its initial capacity (the old memory is released
     * once no reader or iteration is in it). Each partition's clear is atomic; the whole is
     * weakly consistent with concurrent writes to other partitions.
     */
    @Override
    public void clear() {
        for (int o = 0; o < partitions.length; o++) {
            Partition part = lockForWrite(o);
            try {
                part.drainLocked();
                part.reset();
            } finally {
                part.unlock();
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
        for (int o = 0; o < partitions.length; o++) {
            n += read(o, LineTable::size);
        }
        return n;
    }

    /** Slots in all partitions. */
    @Override
    public long capacity() {
        long n = 0;
        for (Partition part : partitions) {
            n += part.table.capacity();
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
        for (Partition part : partitions) {
            LineTable t = part.enterIteration();
            try {
                t.forEach(action);
            } finally {
                part.exitIteration();
            }
        }
    }

    /** Bytes of memory all partitions hold. */
    @Override
    public long memoryBytes() {
        long n = 0;
        for (Partition part : partitions) {
            n += part.table.memoryBytes();
        }
        return n;
    }

    /** Bytes of all partitions' memory backed by huge pages now, or -1 where unknown. */
    @Override
    public long hugePageBytes() {
        long n = 0;
        for (Partition part : partitions) {
            long h = part.table.hugePageBytes();
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
        String first = partitions[0].table.memoryDescription();
        StringBuilder each = new StringBuilder();
        boolean same = true;
        for (int o = 0; o < partitions.length; o++) {
            String d = partitions[o].table.memoryDescription();
            same &= d.equals(first);
            each.append(o == 0 ? "" : "; ").append("partition ").append(o).append(": ").append(d);
        }
        return same ? partitions.length + (partitions.length == 1 ? " partition: " : " partitions, each: ") + first
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
        for (Partition part : partitions) {
            part.stop();
        }
        boolean interrupted = false;
        for (Partition part : partitions) {
            while (part.thread != null && part.thread.isAlive()) {
                try {
                    part.thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (!closed) {
            IdleStrategy wait = idle.get();
            for (Partition part : partitions) {
                for (int work; (work = part.drain()) != 0; ) {
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

    /**
     * What went wrong in the owner threads, a line for each partition that had a problem: why
     * its thread runs unpinned ({@link Builder#pinOwners} asked for a CPU the thread could not
     * be pinned to), or the last error its loop survived (the writes it was applying are
     * reported to their writers' {@link #sync()}). Empty when all went well, and always empty
     * without owner threads.
     */
    public List<String> ownerThreadProblems() {
        List<String> problems = new ArrayList<>();
        for (Partition part : partitions) {
            String failure = part.failure;
            if (failure != null) {
                problems.add("partition " + part.index + ": " + failure);
            }
        }
        return List.copyOf(problems);
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
            for (Partition part : partitions) {
                part.closeAll();
            }
        }
    }

    @Override
    public String toString() {
        return "PartitionedLongLongTable[partitions=" + partitions.length + (closed ? ", closed"
                : ", size=" + size() + ", capacity=" + capacity()) + (ownerThreads ? ", owner threads]" : "]");
    }

    private void ensureRunning() {
        if (stopping) {
            throw new IllegalStateException(closed ? "the partitioned table is closed"
                    : "the partitioned table is shut down: it takes no more writes");
        }
    }

    /** This thread's producer (see {@link Producers#forThisThread}). */
    private Producer producer() {
        return producers.forThisThread(partitions, running);
    }

}
