package io.hashkernel.table;

import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.table.spi.MemoryProvider;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link LongLongMap} that grows while threads keep using it: a {@link ConcurrentLongLongTable}
 * (the current segment) that, when its reserved slots pass 0.75 of its capacity, is migrated into
 * a new segment twice as large (or as large as needed) by every thread that wants to write,
 * a chunk of lines at a time. Removed keys are left behind by a migration, so churn cannot fill
 * the table; {@link #compact()} migrates on demand (and may shrink), {@link #clear()} switches to
 * an empty segment of the initial capacity.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>Every operation is linearizable, during a migration too. Writes are blocking only while a
 *       migration runs: a writer that finds one helps copy and then retries on the new segment.
 *       Reads never wait: they read the current segment (frozen while it is copied, so a read
 *       returns its state at the switch at the latest).</li>
 *   <li>No use after free: an old segment's memory is released when the switch is made; a reader
 *       still in it gets the JDK's {@link IllegalStateException} from the closed memory, which
 *       this class catches and answers by retrying on the new segment. Users never see it, and
 *       the JVM never reads freed memory.</li>
 *   <li>A single write, and each piece of at most 4096 keys of a bulk write, applies to one
 *       segment; a bulk call's keys apply in array order.</li>
 *   <li>{@link Builder#maxCapacity} bounds the slots: a write that needs more throws
 *       {@link TableFullException} naming the limit; updates of present keys still work.</li>
 *   <li>{@link #forEach} holds off migrations while it runs (a write from inside its action that
 *       needs a growing table to migrate throws {@link IllegalStateException}).</li>
 * </ul>
 */
public final class GrowingLongLongTable implements LongLongMap {

    /*
     * Implementation notes.
     *
     * State: `current`, a volatile Segment (a LineTable, its reserved-slot count and
     * its `migration` field: null, or the Migration that froze it). A segment is replaced only by
     * a migration's switch; the old one is closed right after.
     *
     * Invariants.
     *  (G1) Every claim of a slot is within a reservation: a bulk piece reserves its length
     *       (tryReserve, an atomic add against 0.75 x capacity), a single write spends one slot of
     *       its thread's lease, and both give back what their claims did not use (the probe's
     *       CLAIMED bit says whether a write claimed). So a segment never fills.
     *  (G2) A segment with a non-null `migration` is frozen: no writer is inside it. Writers and
     *       a migration exclude each other by a Dekker handshake on two atomics: a writer
     *       increments its stripe of `active` (padded, 2 x CPUs stripes), then reads `migration`;
     *       a migration CASes `migration`, then waits until every stripe is zero. Either the writer
     *       sees the freeze and leaves (to help), or the migration sees the writer and waits.
     *  (G3) A thread only ever waits on a migration it installed or that the CAS returned to it
     *       (compareAndExchange), and every wait also reads `closed`.
     *  (G4) A migration that fails (the maximum, an allocation refused, a fault while copying)
     *       unfreezes the segment by a CAS from itself only; the segment was only read, so it is
     *       intact, and every waiter gets the failure.
     *
     * Linearisation points.
     *  Writes: as in the segment they ran in, between the writer's registration and its exit.
     *  Reads: as in the segment read (never blocked); a read of a frozen segment returns its state
     *      at the switch at the latest, and a read that meets the released old segment (the JDK's
     *      IllegalStateException of a closed arena) is redone on the new one.
     *  A migration moves the state as of its freeze; the switch of `current` publishes the copy.
     *  clear(): the switch of a CLEAR migration (an empty segment of the initial capacity); a clear
     *      that finds a growth or compaction running lets it finish, then installs its own.
     *
     * Copying: helpers claim chunks of Growth.CHUNK_LINES lines by an atomic counter and insert the
     * mapped entries with the target's batched putAll (Growth.copyAll, shared with the partitioned
     * table's growth); removed keys are left behind, which is how churn is reclaimed. The helper
     * that completes the last chunk switches `current`.
     */
    /** Keys of a bulk call that reserve and apply together. */
    static final int PIECE = 4096;
    /** Writer-counter stripes: a power of two, twice the CPUs (4 to 64). */
    private static final int STRIPES = Math.min(64, Integer.highestOneBit(
            Math.max(2, Runtime.getRuntime().availableProcessors()) * 4 - 1));
    private static final int PAD = 16;                       // longs between stripes: 128 bytes
    private static final AtomicLong THREAD_STRIPES = new AtomicLong();
    /** One per thread, shared by all growing tables (a per-table ThreadLocal would pin each table's leases in every thread). */
    private static final ThreadLocal<Lease> LEASES = ThreadLocal.withInitial(Lease::new);

    private final long initialCapacity;
    private final long maxCapacity;
    private final long missingValue;
    /** The options every segment is built with. */
    private final ConcurrentLongLongTable.Builder segments;
    private final AtomicLongArray active = new AtomicLongArray(STRIPES * PAD);
    private final AtomicLong migrations = new AtomicLong();
    private volatile Segment current;
    private volatile boolean closed;

    private GrowingLongLongTable(Builder b) {
        this.initialCapacity = TableLayout.roundCapacity(b.capacity);
        this.maxCapacity = TableLayout.roundCapacity(b.maxCapacitySet ? b.maxCapacity
                : Math.max(b.maxCapacity, b.capacity));
        if (maxCapacity < initialCapacity) {
            throw new IllegalArgumentException("maxCapacity " + b.maxCapacity + " is below capacity "
                    + b.capacity + " (both rounded up to powers of two: " + maxCapacity + " < "
                    + initialCapacity + "); the maximum must be at least the capacity");
        }
        this.segments = b.segments.copy();
        this.missingValue = segments.missingValue();
        this.current = new Segment(segment(initialCapacity));
    }

    /**
     * A builder: capacity 1024 slots to start with, maximum 2^40 (or the capacity where that is
     * larger), missing value 0 (so a value of 0 cannot be stored: choose another missing value
     * where 0 is a value), huge-page-advised memory.
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Options of a {@link GrowingLongLongTable}: those of {@link ConcurrentLongLongTable.Builder},
     * which each segment gets, and a maximum capacity. Not thread-safe.
     */
    public static final class Builder {
        private final ConcurrentLongLongTable.Builder segments = ConcurrentLongLongTable.builder();
        private long capacity = 1024;
        private long maxCapacity = 1L << 40;
        private boolean maxCapacitySet;

        private Builder() {
        }

        /**
         * Slots to start with, rounded up to a power of two of at least 4; the table grows past
         * them as it fills.
         *
         * @throws IllegalArgumentException if {@code slots} is not between 1 and 2^58
         */
        public Builder capacity(long slots) {
            TableLayout.roundCapacity(slots);
            this.capacity = slots;
            return this;
        }

        /**
         * Slots the table may grow to (rounded up to a power of two; at least the capacity, else
         * {@link #build()} throws); a write that needs more throws {@link TableFullException}.
         *
         * @throws IllegalArgumentException if {@code slots} is not between 1 and 2^58
         */
        public Builder maxCapacity(long slots) {
            TableLayout.roundCapacity(slots);
            this.maxCapacity = slots;
            this.maxCapacitySet = true;
            return this;
        }

        /** The value returned for absent keys, which can therefore not be stored. Default 0. */
        public Builder missingValue(long value) {
            segments.missingValue(value);
            return this;
        }

        /** Where each segment's memory comes from; default {@link MemoryProvider#hugePageAdvised()}. */
        public Builder memory(MemoryProvider provider) {
            segments.memory(provider);
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#seed}: every segment's layout then follows from it. */
        public Builder seed(long seed) {
            segments.seed(seed);
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#prefetch}. */
        public Builder prefetch(PrefetchStrategy strategy) {
            segments.prefetch(strategy);
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#batch}. */
        public Builder batch(int requests) {
            segments.batch(requests);
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#depth}. */
        public Builder depth(int batches) {
            segments.depth(batches);
            return this;
        }

        /** As {@link ConcurrentLongLongTable.Builder#preTouch}: each segment's memory as the segment is made (the first one in {@link #build()}, later ones in the migration that needs them). */
        public Builder preTouch(boolean touch) {
            segments.preTouch(touch);
            return this;
        }

        /**
         * Allocates the first segment.
         *
         * @throws IllegalArgumentException if the maximum capacity is below the capacity, or the
         *                                  memory cannot be had
         */
        public GrowingLongLongTable build() {
            return new GrowingLongLongTable(this);
        }
    }

    private LineTable segment(long capacity) {
        return segments.engine(capacity, 0);
    }

    /** One segment: its table and the slots reserved in it. */
    private static final class Segment {
        final LineTable table;
        final long limit;
        final AtomicLong reserved = new AtomicLong();
        /** Set when a migration of this segment starts: the segment is frozen from then on. */
        final AtomicReference<Migration> migration = new AtomicReference<>();

        Segment(LineTable table) {
            this.table = table;
            this.limit = Growth.limitOf(table.capacity());
        }

        boolean tryReserve(long slots) {
            long r = reserved.addAndGet(slots);
            if (r <= limit) {
                return true;
            }
            reserved.addAndGet(-slots);
            return false;
        }
    }

    /**
     * A thread's stripe of the writer counters, its lease of reserved slots (in one segment of one
     * table at a time: moving to another gives the rest back), and how many registrations it holds.
     */
    private static final class Lease {
        final int stripe = (int) (THREAD_STRIPES.getAndIncrement() % STRIPES) * PAD;
        /** Slots the current write claimed (a re-put of a removed key claims none). */
        final long[] claims = new long[1];
        Segment segment;
        long left;
        int registered;
    }

    // ---------------------------------------------------------------- writer registration

    /** Registers this thread as a writer of {@code s}; false (and not registered) if it is frozen or retired. */
    private boolean enter(Lease l, Segment s) {
        active.getAndIncrement(l.stripe);
        if (s.migration.get() != null || current != s) {
            active.getAndDecrement(l.stripe);
            return false;
        }
        l.registered++;
        return true;
    }

    private void exit(Lease l) {
        l.registered--;
        active.getAndDecrement(l.stripe);
    }

    /** One slot of this thread's lease of {@code s}, taking a new lease if it is empty; false if {@code s} is full. */
    private boolean hasLease(Lease l, Segment s) {
        if (l.segment == s && l.left > 0) {
            return true;
        }
        if (l.segment != s && l.left > 0) {
            l.segment.reserved.addAndGet(-l.left);      // unused: give it back
            l.left = 0;
        }
        long size = Math.max(1, Math.min(256, s.table.capacity() >>> 10));
        if (!s.tryReserve(size)) {
            return false;
        }
        l.segment = s;
        l.left = size;
        return true;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("table is closed: its memory has been released");
        }
    }

    // ---------------------------------------------------------------- migration

    private enum Kind { GROW, COMPACT, CLEAR }

    /**
     * One migration of a segment: the first thread to set it freezes the segment, waits for the
     * writers in it to leave, allocates the target; then every thread
     * that joins copies chunks of lines (the first with the side cell) until none is left; the one that copies the last switches
     * {@link #current} and releases the old segment.
     */
    private final class Migration {
        final Segment from;
        final Kind kind;
        final long demand;
        final AtomicInteger nextChunk = new AtomicInteger();
        final AtomicInteger doneChunks = new AtomicInteger();
        volatile Segment to;
        volatile RuntimeException failure;
        int chunks;

        Migration(Segment from, Kind kind, long demand) {
            this.from = from;
            this.kind = kind;
            this.demand = demand;
        }

        /** By the thread that started it. */
        void prepare() {
            try {
                awaitNoWriters();
                LineTable old = from.table;
                long live = old.size();
                long target = targetCapacity(old.capacity(), kind == Kind.CLEAR ? 0 : live);
                Segment next = new Segment(segment(target));
                if (kind != Kind.CLEAR) {
                    next.reserved.set(live);
                    chunks = (int) ((old.lines() + Growth.CHUNK_LINES - 1) / Growth.CHUNK_LINES);
                }
                to = next;                               // publishes chunks
                if (chunks == 0) {
                    finish();
                }
            } catch (RuntimeException | Error e) {
                fail(e);
                if (e instanceof Error error) {
                    throw error;
                }
            }
        }

        /**
         * Abandons the migration: the old segment (only ever read by it) stays current and is
         * unfrozen; the threads waiting on it get the failure.
         */
        private void fail(Throwable e) {
            failure = e instanceof RuntimeException r ? r : new IllegalStateException("migration failed: " + e, e);
            from.migration.compareAndSet(this, null);    // not a later migration's freeze
        }

        /** The failure, as a fresh exception for this thread (a shared instance's stack would be another thread's). */
        private RuntimeException failed(RuntimeException f) {
            return f instanceof TableFullException full ? new TableFullException(full.getMessage(), full.notPut())
                    : new IllegalStateException("a migration of this table failed: " + f, f);
        }

        private long targetCapacity(long capacity, long live) {
            long need = live + demand;
            long target = Growth.grownCapacity(kind == Kind.GROW ? capacity : initialCapacity, need, maxCapacity);
            // At the maximum, a migration that would reclaim little (few removed keys) is not
            // worth a copy of the whole table per lease: the table is full.
            boolean futile = kind == Kind.GROW && target == capacity
                    && Growth.reclaimsLittle(from.reserved.get(), live, capacity);
            if (Growth.limitOf(target) < need || futile) {
                throw new TableFullException("the table is at its maximum capacity of " + maxCapacity + " slots ("
                        + live + " entries); build it with a larger maxCapacity", Math.max(1, demand));
            }
            return target;
        }

        private void awaitNoWriters() {
            for (int i = 0; i < STRIPES; i++) {
                for (int spins = 0; active.get(i * PAD) != 0; spins++) {
                    ensureOpen();
                    pause(spins);
                }
            }
        }

        /** Copies chunks until none is left, then waits for the switch; throws the failure of a failed start. */
        void help() {
            Segment next;
            for (int spins = 0; (next = to) == null; spins++) {
                RuntimeException f = failure;
                if (f != null) {
                    throw failed(f);
                }
                ensureOpen();
                pause(spins);
            }
            long[] keys = null;
            long[] values = null;
            for (int c; (c = nextChunk.getAndIncrement()) < chunks; ) {
                if (keys == null) {
                    keys = new long[(int) Math.min(Growth.CHUNK_LINES, from.table.lines()) * TableLayout.SLOTS_PER_LINE];
                    values = new long[keys.length];
                }
                try {
                    long first = (long) c * Growth.CHUNK_LINES;
                    int lines = (int) Math.min(Growth.CHUNK_LINES, from.table.lines() - first);
                    from.table.copyMappedInto(next.table, first, lines, keys, values, false);
                } catch (RuntimeException | Error e) {
                    next.table.close();                  // closed under us (or a fault): abandon it
                    if (!closed) {
                        fail(e);
                    }
                    throw e;
                }
                if (doneChunks.incrementAndGet() == chunks) {
                    finish();
                }
            }
            for (int spins = 0; current == from; spins++) {
                ensureOpen();
                RuntimeException f = failure;
                if (f != null) {
                    throw failed(f);
                }
                pause(spins);
            }
        }

        private void finish() {
            Segment next = to;
            current = next;
            migrations.incrementAndGet();
            from.table.close();                          // readers still in it retry on the new one
            if (closed) {
                next.table.close();
            }
        }
    }

    private static void pause(int spins) {
        if (spins < 100) {
            Thread.onSpinWait();
        } else {
            Thread.yield();
        }
    }

    /**
     * Migrates {@code s} (starting the migration, or joining the one running) and returns once
     * it has been switched; throws the failure of a migration that failed.
     */
    private void migrate(Segment s, Kind kind, long demand) {
        join(s, kind, demand).help();
    }

    /**
     * The migration of {@code s}: the one already set on it, else a new one of {@code kind} that
     * this thread installs and prepares (which may fail: {@link Migration#help} then reports it).
     * A thread registered as a writer cannot wait for writers to leave.
     */
    private Migration join(Segment s, Kind kind, long demand) {
        notInsideForEach();
        Migration m = s.migration.get();
        if (m == null) {
            Migration mine = new Migration(s, kind, demand);
            m = s.migration.compareAndExchange(null, mine);
            if (m == null) {                             // installed: ours to prepare
                mine.prepare();
                m = mine;
            }
        }
        return m;
    }

    /**
     * Joins a migration of {@code s}, if one runs. One that failed (the maximum capacity, memory
     * that could not be had) has unfrozen {@code s}, and concerns only the writes that needed it:
     * the caller retries.
     */
    private void helpIfMigrating(Segment s) {
        Migration m = s.migration.get();
        if (m != null) {
            notInsideForEach();
            try {
                m.help();
            } catch (RuntimeException e) {
                if (closed || m.failure == null) {
                    throw e;
                }
            }
        }
    }

    /**
     * A thread registered as a writer (inside the forEach of a growing table) cannot wait for
     * the writers to leave; conservatively, whichever growing table it is in.
     */
    private void notInsideForEach() {
        if (LEASES.get().registered > 0) {
            throw new IllegalStateException("a write inside this table's forEach needs a migration (growth, compaction"
                    + " or clear), which waits for forEach to return; write after it returns");
        }
    }

    // ---------------------------------------------------------------- reads

    /** Rethrows unless {@code s} was retired by a migration (its memory released under a reader). */
    private void retired(Segment s, IllegalStateException e) {
        if (closed || current == s) {
            throw e;
        }
    }

    @Override
    public long missingValue() {
        return missingValue;
    }

    /** An operation on one segment. */
    @FunctionalInterface
    private interface SegmentOp {
        long apply(LineTable table);
    }

    /** A read of one segment; redone on the new segment if a migration released it meanwhile. */
    private long read(SegmentOp read) {
        while (true) {
            Segment s = current;
            try {
                return read.apply(s.table);
            } catch (IllegalStateException e) {
                retired(s, e);
            }
        }
    }

    @Override
    public long get(long key) {
        return read(t -> t.get(key));
    }

    @Override
    public boolean containsKey(long key) {
        return read(t -> t.containsKey(key) ? 1 : 0) != 0;
    }

    /**
     * {@inheritDoc} Batched and prefetched on the current segment; redone on the new one if it
     * was retired meanwhile. In place ({@code values == keys}, same offset), each piece of
     * {@value #PIECE} keys is looked up from a copy of its keys, so that a redone piece still has
     * them.
     */
    @Override
    public void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        if (keys != values || keysOffset != valuesOffset) {
            read(t -> {
                t.getAll(keys, keysOffset, values, valuesOffset, length);
                return 0;
            });
            return;
        }
        long[] copy = KEY_COPY.get();
        for (int done = 0; done < length; ) {
            int n = Math.min(PIECE, length - done);
            int at = valuesOffset + done;
            System.arraycopy(keys, keysOffset + done, copy, 0, n);
            read(t -> {
                t.getAll(copy, 0, values, at, n);
                return 0;
            });
            done += n;
        }
    }

    /** Each thread's copy of an in-place {@link #getAll} piece's keys, shared by all growing tables. */
    private static final ThreadLocal<long[]> KEY_COPY = ThreadLocal.withInitial(() -> new long[PIECE]);

    @Override
    public int containsAll(long[] keys, int keysOffset, boolean[] present, int presentOffset, int length) {
        return (int) read(t -> t.containsAll(keys, keysOffset, present, presentOffset, length));
    }

    @Override
    public long size() {
        return read(LineTable::size);
    }

    /** Slots of the current segment. */
    @Override
    public long capacity() {
        return current.table.capacity();
    }

    /** Bytes of memory the current segment holds. */
    @Override
    public long memoryBytes() {
        return current.table.memoryBytes();
    }

    /** Bytes of the current segment backed by huge pages now, or -1 where unknown. */
    @Override
    public long hugePageBytes() {
        return current.table.hugePageBytes();
    }

    /** How the current segment's memory was obtained. */
    @Override
    public String memoryDescription() {
        return current.table.memoryDescription();
    }

    /** Migrations so far (growths, compactions and clears). */
    public long migrations() {
        return migrations.get();
    }

    /** The largest capacity it may grow to. */
    public long maxCapacity() {
        return maxCapacity;
    }

    // ---------------------------------------------------------------- writes


    /** A write that may claim a slot of the segment, counting it in {@code claims[0]}. */
    @FunctionalInterface
    private interface ClaimingOp {
        long apply(LineTable table, long[] claims);
    }

    /** Applies {@code write}, which claims no slot, to the current segment while registered as its writer. */
    private long write(SegmentOp write) {
        return write(false, (t, claims) -> write.apply(t));
    }

    /**
     * Applies {@code write} to the current segment while registered as its writer; with
     * {@code claims}, only within a lease of reserved slots, of which the slot the write
     * claimed, if any, is consumed (a re-put of a removed key reuses its slot and consumes none).
     */
    private long write(boolean claims, ClaimingOp write) {
        Lease l = LEASES.get();
        while (true) {
            ensureOpen();
            Segment s = current;
            if (claims && !hasLease(l, s)) {
                migrate(s, Kind.GROW, 1);
                continue;
            }
            if (!enter(l, s)) {
                helpIfMigrating(s);
                continue;
            }
            try {
                l.claims[0] = 0;
                long result = write.apply(s.table, l.claims);
                if (claims) {
                    l.left -= l.claims[0];
                }
                return result;
            } finally {
                exit(l);
            }
        }
    }

    /**
     * As {@link #write} for a claiming write; where no room could be made (the maximum capacity,
     * or a growth that failed), it is still done if it claims nothing (the key has a slot), else
     * the growth's exception is thrown.
     */
    private long writeOrFull(long key, ClaimingOp write) {
        try {
            return write(true, write);
        } catch (RuntimeException noRoom) {
            return write(t -> {
                if (!t.hasSlot(key)) {
                    throw noRoom;                        // a new key: no room for it
                }
                return write.apply(t, null);             // it has a slot: the write claims none
            });
        }
    }

    @Override
    public long put(long key, long value) {
        LineTable.requireStorable(value, missingValue);
        return writeOrFull(key, (t, claims) -> t.put(key, value, claims));
    }

    @Override
    public long putIfAbsent(long key, long value) {
        LineTable.requireStorable(value, missingValue);
        return writeOrFull(key, (t, claims) -> t.putIfAbsent(key, value, claims));
    }

    @Override
    public long replace(long key, long value) {
        LineTable.requireStorable(value, missingValue);
        return write(t -> t.replace(key, value));
    }

    @Override
    public boolean replace(long key, long expectedValue, long newValue) {
        LineTable.requireStorable(newValue, missingValue);
        return write(t -> t.replace(key, expectedValue, newValue) ? 1 : 0) != 0;
    }

    @Override
    public long remove(long key) {
        return write(t -> t.remove(key));
    }

    @Override
    public boolean remove(long key, long expectedValue) {
        return write(t -> t.remove(key, expectedValue) ? 1 : 0) != 0;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched and prefetched, in pieces of at most 4096 keys, each reserving its slots in the
     * current segment first (growing it when they do not fit) and applied to that one segment.
     * At the maximum capacity, a piece that does not fit is put key by key. Every key that has
     * or finds room is put; if some new keys found none, {@link TableFullException} says how
     * many ({@link TableFullException#notPut()}) once all the others are put.
     */
    @Override
    public long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        BulkRanges.checkValues(values, valuesOffset, length, missingValue);
        long added = 0;
        BulkFailures failures = new BulkFailures();
        for (int done = 0; done < length; ) {
            int n = Math.min(PIECE, length - done);
            added += putPiece(keys, keysOffset + done, values, valuesOffset + done, n, failures);
            done += n;
        }
        failures.throwIfAny(length);
        return added;
    }

    private long putPiece(long[] keys, int keysOffset, long[] values, int valuesOffset, int n, BulkFailures failures) {
        Lease l = LEASES.get();
        while (true) {
            ensureOpen();
            Segment s = current;
            if (!s.tryReserve(n)) {
                try {
                    migrate(s, Kind.GROW, n);
                } catch (RuntimeException noRoom) {          // the maximum, or a growth that failed
                    ensureOpen();
                    return putOneByOne(keys, keysOffset, values, valuesOffset, n, failures);
                }
                continue;
            }
            if (!enter(l, s)) {
                s.reserved.addAndGet(-n);
                helpIfMigrating(s);
                continue;
            }
            try {
                l.claims[0] = 0;
                long added = s.table.putAll(keys, keysOffset, values, valuesOffset, n, l.claims);
                s.reserved.addAndGet(l.claims[0] - n);   // updates and re-puts claimed nothing
                return added;
            } finally {
                exit(l);
            }
        }
    }

    /** At the maximum capacity: each key put on its own; those without room are counted and reported at the end. */
    private long putOneByOne(long[] keys, int keysOffset, long[] values, int valuesOffset, int n, BulkFailures failures) {
        long added = 0;
        for (int i = 0; i < n; i++) {
            try {
                added += put(keys[keysOffset + i], values[valuesOffset + i]) == missingValue ? 1 : 0;
            } catch (TableFullException e) {
                failures.full(e, 1);
            } catch (RuntimeException e) {
                ensureOpen();
                failures.failed(e, 1, true);
            }
        }
        return added;
    }

    /** {@inheritDoc} Batched and prefetched, on the current segment. */
    @Override
    public long removeAll(long[] keys, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, keys.length);
        return write(t -> t.removeAll(keys, offset, length));
    }

    /**
     * A new asynchronous session on this table, for one thread at a time (see
     * {@link LongLongSession} for its guarantees). Requests are gathered into pieces of
     * {@value PieceSession#PIECE}; a full piece (or {@link LongLongSession#flush()}) runs on the
     * current segment through a {@link TableSession} of it, batched and prefetched, with the
     * piece's puts reserved first and migrations held off while it runs, exactly as a piece of
     * {@link #putAll}. A piece that needs room starts (or helps) a growth first. At the maximum
     * capacity, a piece that does not fit is applied request by request, and a put of a new key
     * without room is reported by the {@link TableFullException} of the call that ran it.
     */
    @Override
    public LongLongSession session() {
        ensureOpen();
        return new Session();
    }

    private final class Session extends PieceSession {
        // The session of the segment the last piece ran on, kept while that segment is current.
        private LineTable innerTable;
        private TableSession inner;
        private final long[] polledIds = new long[PIECE];
        private final long[] polledValues = new long[PIECE];

        Session() {
            super(missingValue);
        }

        @Override
        void ensureOpen() {
            GrowingLongLongTable.this.ensureOpen();
        }

        /** Runs the gathered requests on one segment, as {@link #putPiece} does a piece of puts. */
        @Override
        void runPiece() {
            Lease l = LEASES.get();
            while (true) {
                ensureOpen();
                Segment s = current;
                if (puts > 0 && !s.tryReserve(puts)) {
                    try {
                        migrate(s, Kind.GROW, puts);
                    } catch (RuntimeException noRoom) {          // the maximum, or a growth that failed
                        ensureOpen();
                        runInOrder(GrowingLongLongTable.this);   // request by request, as the single calls
                        return;
                    }
                    continue;
                }
                if (!enter(l, s)) {
                    s.reserved.addAndGet(-puts);
                    helpIfMigrating(s);
                    continue;
                }
                try {
                    s.reserved.addAndGet(runOn(s.table) - puts);   // updates and re-puts claimed nothing
                } finally {
                    exit(l);
                }
                emptied();
                return;
            }
        }

        /** Runs the piece through a session of {@code table}; returns the slots its puts claimed. */
        private long runOn(LineTable table) {
            if (innerTable != table) {
                inner = table.newSession();
                innerTable = table;
            }
            TableSession t = inner;
            for (int i = 0; i < count; i++) {
                switch (ops[i]) {
                    case GET -> t.get(i, keys[i]);
                    case PUT -> t.put(i, keys[i], values[i]);
                    default -> t.remove(i, keys[i]);
                }
            }
            t.flush();
            for (int n; (n = t.poll(polledIds, polledValues)) > 0; ) {
                for (int k = 0; k < n; k++) {
                    done.add(ids[(int) polledIds[k]], polledValues[k]);
                }
            }
            return t.takeClaims();
        }
    }

    /**
     * Calls {@code action} for each entry of the current segment (weakly consistent), holding
     * off migrations meanwhile.
     */
    @Override
    public void forEach(LongLongConsumer action) {
        Objects.requireNonNull(action, "action");
        write(t -> {
            t.forEach(action);
            return 0;
        });
    }

    /**
     * Removes every entry by switching to an empty segment of the initial capacity (the memory of
     * a grown table is released). Linearizable: at the switch. A growth or compaction already
     * running is let finish first (it copies every entry), then the clear switches.
     */
    @Override
    public void clear() {
        while (true) {
            ensureOpen();
            Migration m = join(current, Kind.CLEAR, 0);
            if (m.kind == Kind.CLEAR) {
                m.help();                                // ours, or another clear switching during this call
                return;
            }
            try {
                m.help();
            } catch (RuntimeException e) {
                if (closed) {
                    throw e;
                }                                        // it failed and unfroze the segment: clear it now
            }
        }
    }

    /**
     * Migrates the current segment now, leaving removed keys behind, into a segment as small as
     * the entries allow (at least the initial capacity, so it may shrink).
     */
    public void compact() {
        ensureOpen();
        migrate(current, Kind.COMPACT, 0);
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /** Releases the memory; writes and reads after it throw {@link IllegalStateException}. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            current.table.close();
        }
    }

    @Override
    public String toString() {
        return "GrowingLongLongTable[" + (closed ? "closed" : "size=" + size()) + ", capacity=" + capacity()
                + ", migrations=" + migrations() + "]";
    }
}
