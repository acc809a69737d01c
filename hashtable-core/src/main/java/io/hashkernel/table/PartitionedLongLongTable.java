package io.hashkernel.table;

import io.hashkernel.numa.Affinity;
import io.hashkernel.numa.CpuList;
import io.hashkernel.numa.Memory;
import io.hashkernel.numa.NodePolicy;
import io.hashkernel.numa.Topology;
import io.hashkernel.table.spi.MemoryProvider;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 *   <li>A write the owner cannot apply (its partition is full) is counted; the next
 *       {@code sync()} of any thread throws {@link TableFullException} saying how many.</li>
 * </ul>
 *
 * <p>Owner threads can be pinned to CPUs (round-robin over the online CPUs); each partition's
 * memory is then bound to its owner's NUMA node, otherwise interleaved like the plain table's.
 */
public final class PartitionedLongLongTable implements LongLongMap {
    /** Messages taken from one queue in one drain. */
    private static final int DRAIN_LIMIT = 256;
    /** Without owner threads, a writer drains the next partition after this many writes. */
    static final int DRAIN_EVERY = 256;

    private final Owner[] owners;
    private final AtomicInteger producers = new AtomicInteger();
    private final int maxProducers;
    private final int queueCapacity;
    private final long missingValue;
    private final Supplier<IdleStrategy> idle;
    private final ThreadLocal<Producer> producer;
    /** This thread's producer, or null if it has not written asynchronously (no registration). */
    private final ThreadLocal<Producer> registered = new ThreadLocal<>();
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
    private final boolean ownerThreads;
    private final AtomicLong unapplied = new AtomicLong();
    private volatile boolean stopping;
    private volatile boolean closed;

    private PartitionedLongLongTable(Builder b) {
        int n = b.owners;
        this.maxProducers = b.maxProducers;
        this.queueCapacity = b.queueCapacity;
        this.missingValue = b.missingValue;
        this.idle = b.idle;
        this.ownerThreads = b.ownerThreads;
        this.owners = new Owner[n];
        Topology topology = b.pinOwners && b.ownerThreads ? Topology.read() : null;
        int[] cpus = topology != null ? topology.onlineCpus().toArray() : new int[0];
        long perPartition = TableLayout.roundCapacity(Math.max(64, (b.capacity + n - 1) / n));
        long maxPerPartition = Math.max(perPartition, TableLayout.roundCapacity(Math.max(64, b.maxCapacity / n)));
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
                owners[i] = new Owner(i, cpu, maxProducers, memory, perPartition, maxPerPartition);
            }
        } catch (RuntimeException e) {
            for (Owner o : owners) {
                if (o != null) {
                    o.partition.close();
                }
            }
            throw e;
        }
        this.producer = ThreadLocal.withInitial(this::register);
        if (ownerThreads) {
            for (Owner o : owners) {
                o.thread = Thread.ofPlatform().daemon().name("hashkernel-owner-" + o.index).start(o);
            }
        }
    }

    /**
     * A builder with 2 partitions and their owner threads, 1 M slots, queues of 1024 messages, 64
     * writer threads, Agrona's backoff idling.
     */
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
        private boolean ownerThreads = true;
        private long maxCapacity = 1L << 40;
        private Supplier<IdleStrategy> idle = () -> new BackoffIdleStrategy(64, 64,
                TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100));

        private Builder() {
        }

        /**
         * Slots in all partitions together to start with (each partition gets an equal share,
         * rounded up to a power of two); a partition grows when its writes need more.
         */
        public Builder capacity(long slots) {
            if (slots < 1) {
                throw new IllegalArgumentException("capacity must be at least 1 slot, was " + slots);
            }
            this.capacity = slots;
            return this;
        }

        /**
         * Slots all partitions may grow to together (default 2^40); a partition at its share
         * fills up, and the writes it cannot take are reported by {@link #sync()} (or thrown by
         * the synchronous writes) as {@link TableFullException}.
         */
        public Builder maxCapacity(long slots) {
            TableLayout.roundCapacity(slots);
            this.maxCapacity = slots;
            return this;
        }

        /** Partitions, each with its owner thread where there are owner threads (1 to 1024). */
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

        /** How owners and waiting producers idle (Agrona {@link IdleStrategy}); one instance per thread. */
        public Builder idleStrategy(Supplier<IdleStrategy> strategy) {
            this.idle = Objects.requireNonNull(strategy, "strategy");
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

    /** Partitions (= owner threads, where there are owner threads). */
    public int owners() {
        return owners.length;
    }

    /** Whether owner threads drain the partitions' queues (else the writers do). */
    public boolean hasOwnerThreads() {
        return ownerThreads;
    }

    /** The partition (owner) a key belongs to. */
    public int ownerOf(long key) {
        long z = key * 0x9E3779B97F4A7C15L;
        z ^= z >>> 29;
        return (int) Math.unsignedMultiplyHigh(z * 0xBF58476D1CE4E5B9L, owners.length);
    }

    /** The value of {@code key}, read directly from its partition, or {@link #missingValue()}. */
    @Override
    public long get(long key) {
        return read(ownerOf(key), t -> t.get(key));
    }

    /** A read of partition {@code o}'s table; redone on its new table if it grew meanwhile. */
    private long read(int o, PartitionWrite read) {
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
     */
    @Override
    public void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        Objects.checkFromIndexSize(keysOffset, length, keys.length);
        Objects.checkFromIndexSize(valuesOffset, length, values.length);
        if (owners.length == 1) {
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
        send(producer.get(), key, value);
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
        Producer p = producer.get();
        if (ownerThreads) {
            for (int i = 0; i < length; i++) {
                send(p, keys[keysOffset + i], values[valuesOffset + i]);
            }
            return;
        }
        Scratch s = scratch.get().groupByPartition(this, keys, keysOffset, values, valuesOffset, length);
        // In partition order. Starting each writer at another partition (so that two rarely want
        // one lock at once) and trying a busy lock again after the others measured no better
        // with 2 threads (zipf inserts, 1 GiB: 0.61-0.99x the plain table against 0.84-1.17x).
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
                SpscPairQueue mine = p.out[o];
                while (mine.pending() != 0) {        // and all of ours, so that ours apply in order
                    mine.drain(owner, DRAIN_LIMIT);
                }
                owner.applyLocked(s.keys, from, s.values, count);
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
        send(producer.get(), key, missingValue);   // the missing value cannot be stored: it marks a removal
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
     * partition, draining the partitions itself when their drain locks are free.
     *
     * @throws TableFullException    if some write (of any thread) found its partition full
     * @throws IllegalStateException if the table was closed before they were applied
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
        long lost = unapplied.get();
        if (lost > 0) {
            throw new TableFullException(lost + " writes found their partition full and were not applied;"
                    + " build the table with a larger capacity");
        }
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
        Producer p = registered.get();
        if (p != null) {
            SpscPairQueue mine = p.out[o];
            try {
                while (mine.pending() != 0) {
                    mine.drain(owner, DRAIN_LIMIT);
                }
            } catch (RuntimeException | Error e) {
                owner.unlock();
                throw e;
            }
        }
        return owner;
    }

    /** One synchronous write to a partition, made under its lock. */
    @FunctionalInterface
    private interface PartitionWrite {
        long apply(ConcurrentLongLongTable partition);
    }

    /**
     * {@code write} applied to {@code key}'s partition under its lock ({@link #lockForWrite});
     * where it {@code claims} (a result of the missing value is a new mapping), with room made
     * first and the slot counted.
     */
    private long locked(long key, boolean claims, PartitionWrite write) {
        Owner owner = lockForWrite(ownerOf(key));
        try {
            if (claims) {
                owner.room(1);
            }
            long result = write.apply(owner.partition);
            if (claims && result == missingValue) {
                owner.claimed(1);
            }
            return result;
        } finally {
            owner.unlock();
        }
    }

    /** The previous value or {@link #missingValue()}; applied now, under the partition's lock. */
    @Override
    public long put(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        return locked(key, true, t -> t.put(key, value));
    }

    /** As {@link ConcurrentLongLongTable#putIfAbsent}; applied now, under the partition's lock. */
    @Override
    public long putIfAbsent(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        return locked(key, true, t -> t.putIfAbsent(key, value));
    }

    /** As {@link ConcurrentLongLongTable#replace(long, long)}; applied now, under the partition's lock. */
    @Override
    public long replace(long key, long value) {
        ConcurrentLongLongTable.requireStorable(value, missingValue);
        return locked(key, false, t -> t.replace(key, value));
    }

    /** As {@link ConcurrentLongLongTable#replace(long, long, long)}; applied now, under the partition's lock. */
    @Override
    public boolean replace(long key, long expectedValue, long newValue) {
        ConcurrentLongLongTable.requireStorable(newValue, missingValue);
        return locked(key, false, t -> t.replace(key, expectedValue, newValue) ? 1 : 0) != 0;
    }

    /** The removed value or {@link #missingValue()}; applied now, under the partition's lock. */
    @Override
    public long remove(long key) {
        return locked(key, false, t -> t.remove(key));
    }

    /** As {@link ConcurrentLongLongTable#remove(long, long)}; applied now, under the partition's lock. */
    @Override
    public boolean remove(long key, long expectedValue) {
        return locked(key, false, t -> t.remove(key, expectedValue) ? 1 : 0) != 0;
    }

    /** One group of a synchronous bulk call: {@code count} keys from {@code from} of the scratch arrays. */
    @FunctionalInterface
    private interface GroupWrite {
        long apply(ConcurrentLongLongTable partition, Scratch grouped, int from, int count);
    }

    /**
     * Each partition's group of {@code s}, written under that partition's lock; the sum of the
     * results. Where it {@code claims}, the result is the count of new mappings, room is made
     * for the group first and they are counted.
     */
    private long lockedGroups(Scratch s, boolean claims, GroupWrite write) {
        long sum = 0;
        for (int o = 0; o < owners.length; o++) {
            int from = s.start[o];
            int n = s.start[o + 1] - from;
            if (n > 0) {
                Owner owner = lockForWrite(o);
                try {
                    if (claims) {
                        owner.room(n);
                    }
                    long result = write.apply(owner.partition, s, from, n);
                    if (claims) {
                        owner.claimed(result);
                    }
                    sum += result;
                } finally {
                    owner.unlock();
                }
            }
        }
        return sum;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Grouped by partition; each group applied under its partition's lock with the batched,
     * prefetched put. A group that finds its partition full throws {@link TableFullException}
     * after the groups before it were applied (the keys of its own group that found a slot were
     * put; later groups were not).
     */
    @Override
    public long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        BulkRanges.checkValues(values, valuesOffset, length, missingValue);
        ensureRunning();
        return lockedGroups(scratch.get().groupByPartition(this, keys, keysOffset, values, valuesOffset, length), true,
                (t, g, from, n) -> t.putAllExclusive(g.keys, from, g.values, from, n));
    }

    /** {@inheritDoc} Grouped by partition; each group applied under its partition's lock. */
    @Override
    public long removeAll(long[] keys, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, keys.length);
        ensureRunning();
        return lockedGroups(scratch.get().groupByPartition(this, keys, offset, null, 0, length), false,
                (t, g, from, n) -> t.removeAll(g.keys, from, n));
    }

    /**
     * Removes every entry: each partition in turn, under its lock, after applying the writes its
     * queues hold. Weakly consistent with concurrent writes, as the plain table's.
     */
    @Override
    public void clear() {
        for (int o = 0; o < owners.length; o++) {
            Owner owner = lockForWrite(o);
            try {
                owner.drainLocked();
                owner.partition.clear();
                owner.claimed(-owner.used);
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

    /** Entries in all partitions (exact when no write is in flight). */
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

    /** Calls {@code action} for each entry of each partition (weakly consistent, as the plain table's). */
    @Override
    public void forEach(LongLongConsumer action) {
        Objects.requireNonNull(action, "action");
        for (Owner owner : owners) {
            owner.iterating.incrementAndGet();           // no growth starts now (checked under the lock)
            try {
                IdleStrategy wait = null;
                while (!owner.tryLock()) {               // and none is running once we got the lock
                    if (wait == null) {
                        wait = idle.get();
                    }
                    wait.idle();
                }
                owner.unlock();
                owner.partition.forEach(action);         // not under the lock: the action may write
            } finally {
                owner.iterating.decrementAndGet();
            }
        }
    }

    /** Bytes of memory all partitions hold. */
    public long memoryBytes() {
        long n = 0;
        for (Owner o : owners) {
            n += o.partition.memoryBytes();
        }
        return n;
    }

    /** Bytes of all partitions' memory backed by huge pages now, or -1 where unknown. */
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

    /** How partition {@code owner}'s memory was obtained (placement and node policy). */
    public String memoryDescription(int owner) {
        return owners[owner].partition.memoryDescription();
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
                o.partition.close();
            }
        }
    }

    private void ensureRunning() {
        if (stopping) {
            throw new IllegalStateException(closed ? "the partitioned table is closed"
                    : "the partitioned table is shut down: it takes no more writes");
        }
    }

    /** One writer thread's queues, one per partition, and its drain turn. */
    private static final class Producer {
        final SpscPairQueue[] out;
        final boolean[] sent;
        final IdleStrategy idle;
        int untilDrain = DRAIN_EVERY;
        int nextDrain;

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
        Producer p = new Producer(out, idle.get());
        registered.set(p);
        p.nextDrain = id % owners.length;       // writers start their turns on different partitions
        return p;
    }

    /**
     * A partition's drain state: its queues (one per writer), the drain lock, and the owner
     * thread's loop where there is one. Whoever holds the lock is the partition's one writer.
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
        /** inbox.get(producer): that producer's queue to this partition, set when the producer registers. */
        final AtomicReferenceArray<SpscPairQueue> inbox;
        volatile Thread thread;
        volatile String failure;
        @SuppressWarnings("unused") // through LOCK
        private volatile int lock;
        /** The partition's table: replaced (under the lock) when it grows; read by anyone. */
        volatile ConcurrentLongLongTable partition;
        /** forEach calls in this partition: no growth starts while there is one. */
        final AtomicInteger iterating = new AtomicInteger();
        private final MemoryProvider memory;
        private final long maxSlots;
        // Touched only under the lock:
        /** Slots claimed in {@link #partition} (at least; a removed key's slot counts until a growth). */
        private long used;
        private final long[] keys = new long[DRAIN_LIMIT];
        private final long[] values = new long[DRAIN_LIMIT];
        private int pending;

        Owner(int index, int cpu, int maxProducers, MemoryProvider memory, long slots, long maxSlots) {
            this.index = index;
            this.cpu = cpu;
            this.inbox = new AtomicReferenceArray<>(maxProducers);
            this.memory = memory;
            this.maxSlots = maxSlots;
            this.partition = table(slots);
        }

        private ConcurrentLongLongTable table(long slots) {
            return ConcurrentLongLongTable.builder().capacity(slots).missingValue(missingValue).memory(memory).build();
        }

        /**
         * Under the lock, before writes that may claim {@code slots} more: grows the partition when
         * they would pass 0.75 of its capacity, below its maximum and with no forEach in it. The
         * holder is the partition's one writer, so it copies alone: the mapped entries, line
         * chunk by chunk, into a table large enough for twice them (removed keys are left
         * behind), batched and prefetched; then it switches {@link #partition} and closes the old
         * table (a reader still in it gets an {@link IllegalStateException} and reads the new one).
         */
        void room(long slots) {
            ConcurrentLongLongTable old = partition;
            long capacity = old.capacity();
            if (used + slots <= GrowingLongLongTable.limitOf(capacity) || iterating.get() != 0) {
                return;
            }
            long live = old.size();
            long target = GrowingLongLongTable.grownCapacity(capacity, live + slots, maxSlots);
            if (target == capacity && GrowingLongLongTable.reclaimsLittle(used, live, capacity)) {
                return;                                  // at its maximum, nothing to reclaim: it fills up
            }
            ConcurrentLongLongTable next = table(target);
            try {
                int chunk = (int) Math.min(1024, old.lines());
                long[] k = new long[chunk * TableLayout.SLOTS_PER_LINE];
                long[] v = new long[k.length];
                for (long line = 0; line < old.lines(); line += chunk) {
                    old.copyMappedInto(next, line, chunk, k, v, true);
                }
            } catch (RuntimeException e) {
                next.close();
                throw e;
            }
            partition = next;
            used = live;
            old.close();
        }

        /** Under the lock: counts the slots a write of {@code claimed} new mappings took. */
        void claimed(long claimed) {
            used += claimed;
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
            pending = 0;                                       // a failed apply leaves nothing behind
            LOCK.setRelease(this, 0);
        }

        /** Under the lock: every queue once, up to 256 messages each; how many. */
        int drainLocked() {
            int work = 0;
            int n = Math.min(producers.get(), maxProducers);
            for (int i = 0; i < n; i++) {
                SpscPairQueue q = inbox.get(i);
                if (q != null) {
                    work += q.drain(this, DRAIN_LIMIT);       // endOfBatch applies before it publishes
                }
            }
            return work;
        }

        /** Under the lock: puts straight into the partition, as a drained batch would. */
        void applyLocked(long[] keys, int offset, long[] values, int length) {
            try {
                room(length);
                used += partition.putAllExclusive(keys, offset, values, offset, length);
            } catch (TableFullException e) {
                used += length - e.notPut();
                unapplied.addAndGet(e.notPut());
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
                int work = drain();          // -1: a writer is helping; look again
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

        /** Applies the collected puts, in order, with the partition's batched, prefetched putAll (release stores, no atomic exchange: one writer). */
        private void flush() {
            if (pending == 0) {
                return;
            }
            try {
                room(pending);
                used += partition.putAllExclusive(keys, 0, values, 0, pending);   // the drain lock: its one writer
            } catch (TableFullException e) {
                used += pending - e.notPut();
                unapplied.addAndGet(e.notPut());
            } finally {
                pending = 0;
            }
        }
    }
}
