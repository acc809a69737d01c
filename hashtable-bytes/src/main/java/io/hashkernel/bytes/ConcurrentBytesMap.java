package io.hashkernel.bytes;

import io.hashkernel.table.GrowingLongLongTable;
import io.hashkernel.table.TableFullException;
import io.hashkernel.table.spi.MemoryProvider;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A concurrent map from byte strings to byte strings, off the Java heap: each mapping is a
 * record (key and value bytes) in an off-heap slab, and a {@link GrowingLongLongTable} is the
 * index from a seeded 64-bit hash of the key to the record. Keys with equal hashes are told apart
 * by their bytes (a hash chain of records), so collisions cost time, never correctness.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>{@link #get}, {@link #put}, {@link #set}, {@link #putIfAbsent} and {@link #remove} are
 *       linearizable; reads never wait and never take a lock, writes are lock-free except while
 *       they open a new slab (a lock held for an allocation) or the index grows (see
 *       {@link GrowingLongLongTable}).</li>
 *   <li>Keys and values are copied in: the caller may reuse its arrays or segments after a call,
 *       and everything returned is a fresh copy. Byte arrays and segments of any kind (heap or
 *       native) are accepted; a segment is read in place, not copied to an array first.</li>
 *   <li>Space of replaced and removed records is reclaimed by compaction: live records of
 *       sparse slabs are copied to the open slab and the sparse slabs freed. It runs in the
 *       writer that opened a new slab when some full slab's live bytes fell under
 *       {@link Builder#compactBelow} of it, and on {@link #compact()}. Readers never stop for it;
 *       writers never wait for it either (the compactor waits for the writers that were
 *       filling the slabs it frees).</li>
 *   <li>{@link Builder#maxBytes} bounds the slabs' memory: a write that needs more, after a
 *       compaction, throws {@link TableFullException} saying how much is in use and what the
 *       limit is; nothing is changed by it.</li>
 *   <li>{@link #size()}, {@link #forEach} and {@link #clear()} are weakly consistent with
 *       concurrent writes (exact when none runs). After {@link #close()} every method but
 *       {@code close()} and {@link #isClosed()} throws {@link IllegalStateException}; a call racing
 *       the close gets that exception, never freed memory. A caller's segment whose memory is
 *       closed gets the JDK's {@link IllegalStateException} at once. The index is a growing
 *       table: a write that needs it to grow from inside a {@link GrowingLongLongTable#forEach}
 *       action (of any growing table) gets that table's {@link IllegalStateException}.</li>
 * </ul>
 *
 * <p>Not ordered: a hash map keeps no key order, so a range over keys takes a sorted copy of them
 * (as the Kafka Streams store of the {@code kafka-streams} module does).
 */
public final class ConcurrentBytesMap implements BytesMap {

    /*
     * Implementation notes.
     *
     * Locations. A record is named by a long: slab slot (16 bits), the slot's generation (16
     * bits, never 0), offset in the slab (32 bits). Slots are reused after a slab is freed, with
     * the next generation, so a stale location never names a live record of another slab; the
     * index's missing value 0 is never a location.
     *
     * Index. hash(key) -> location of the first record of the key's hash chain; each record's
     * NEXT word holds the next record of the chain (0 at the end). Records are immutable once
     * published, so a chain is changed only by publishing a new first record: every write
     * builds a new chain (its own record, copies of the records before the one it replaces, then
     * the unchanged rest) and swings the index entry by one compare-and-set of the old first
     * location (putIfAbsent where there was none, remove where nothing is left). Locations are
     * never reused while anything may hold them (generations), so there is no ABA. Almost every
     * chain is one record: a write is then one record written and one CAS.
     *
     * Publication. A record's bytes are written with plain stores before the CAS that publishes
     * it; readers read the index entry with acquire semantics (the table's get), so they see the
     * bytes complete.
     *
     * Readers and freed slabs. A reader holds a location without any registration. When
     * compaction frees a slab it closes the slab's shared arena: a reader that reaches it later
     * gets the JDK's IllegalStateException (or finds the slot holding another generation), and
     * starts again from the index, where the record has been moved. A reader that read the record
     * before the close read an immutable copy equal to the moved one. Nothing reads freed memory.
     *
     * Writers and compaction (invariants):
     *  (B1) Records are only allocated in the open slab; a slab is sealed by the first
     *       reservation that does not fit (its offset is the end of the slab's records).
     *  (B2) Every writer is counted in the WriterGate from before it reserves space until after
     *       its last CAS. The compactor picks sealed slabs, then waits for a grace period, so every
     *       record in them is completely written (headers readable: the slab can be scanned).
     *  (B3) The compactor moves each record still reachable from the index (its key's chain holds
     *       its location) by the same CAS of the chain's first location as a write; when the
     *       scan is done no chain reaches the slab: a write that read a chain through it before
     *       a move fails its CAS (the first location changed), and an unreachable record never
     *       becomes reachable again (only the CAS of its own writer could publish it, and that
     *       writer has left, B2). Only then is the slab closed.
     *  (B4) One compaction at a time (a flag); the compactor is not counted in the gate, so it
     *       never waits for itself. A writer that finds the memory limit reached leaves the gate,
     *       compacts, and starts again.
     *
     * Linearisation points: a successful CAS (or putIfAbsent/remove) of the index entry for
     * writes; for reads, the index read of the chain they walk (records are immutable). A
     * write that finds nothing to do (putIfAbsent of a present key, remove of an absent one)
     * linearises at its index read.
     */

    /** Slab slots: 16 bits of a location. */
    static final int MAX_SLABS = 1 << 16;
    /** The largest record (its offset in a slab of its own must fit in 32 bits). */
    static final long MAX_RECORD = (1L << 32) - 8;
    /** Slabs an automatic compaction frees at most: about two slabs of moving per new slab. */
    static final int AUTO_VICTIMS = 2;
    /** Keys of a batched lookup resolved together. */
    private static final int BATCH = 64;

    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG;
    private static final ValueLayout.OfInt LENGTH = ValueLayout.JAVA_INT;

    private static final int PUT = 0;
    private static final int PUT_IF_ABSENT = 1;
    private static final int REMOVE = 2;

    private final GrowingLongLongTable index;
    private final KeyHash hashFunction;
    private final long seed;
    private final long slabBytes;
    private final long maxBytes;
    private final double compactBelow;
    private final MemoryProvider memoryProvider;
    private final WriterGate gate = new WriterGate();
    private final ReentrantLock slabLock = new ReentrantLock();
    private final AtomicBoolean compacting = new AtomicBoolean();
    private final LongAdder size = new LongAdder();
    /** Bytes of all open slabs. */
    private final AtomicLong slabMemory = new AtomicLong();
    /** By slot; replaced whole (copy on write) under slabLock. */
    private volatile Slab[] slabs = new Slab[0];
    /** The next generation of each slot; under slabLock. */
    private int[] generations = new int[0];
    private volatile Slab active;
    /** The slab the compactor moves records into (only the compactor of the moment uses it). */
    private volatile Slab compactorSlab;
    private volatile boolean compactionWanted;
    /** Slabs freed so far: a call that meets freed memory retries only where this moved. */
    private volatile long frees;
    private volatile boolean closed;
    /** Where compaction's peeks go, so that the compiler keeps them; read by nothing. */
    private int peeked;

    private ConcurrentBytesMap(Builder b) {
        this.hashFunction = b.hash;
        this.seed = b.seed;
        this.slabBytes = b.slabBytes;
        this.maxBytes = b.maxBytes;
        this.compactBelow = b.compactBelow;
        this.memoryProvider = b.memory;
        this.index = GrowingLongLongTable.builder()
                .capacity(Math.max(1024, (long) Math.ceil(b.expectedEntries / 0.75)))
                .missingValue(0)
                .memory(b.memory)
                .build();
        slabLock.lock();
        try {
            this.active = openSlab(slabBytes, false);
        } catch (RuntimeException | Error e) {
            index.close();
            throw e;
        } finally {
            slabLock.unlock();
        }
    }

    /**
     * A builder: room for 768 entries before the index first grows, 4 MiB slabs, no memory
     * limit beyond the slab count's ({@value #MAX_SLABS} slabs), compaction of slabs under half
     * live, a random hash seed.
     */
    public static Builder builder() {
        return new Builder();
    }

    // ---------------------------------------------------------------- reads

    /** The value of {@code key}, a fresh array, or {@code null} if it is absent. */
    public byte[] get(byte[] key) {
        return get(MemorySegment.ofArray(Objects.requireNonNull(key, "key")));
    }

    /** The value of the key whose bytes are {@code key}'s contents, a fresh array, or {@code null}. */
    public byte[] get(MemorySegment key) {
        Objects.requireNonNull(key, "key");
        long h = hash(key);
        for (;;) {
            ensureOpen();
            long frees = this.frees;
            try {
                long at = find(index.get(h), key);
                return at == 0 ? null : value(at);
            } catch (IllegalStateException | Moved e) {
                retryOrThrow(e, frees);
            }
        }
    }

    /**
     * Copies the value of {@code key} into {@code into} when it fits there (the bytes past the
     * value are left alone), and returns the value's length; returns -1 if the key is absent.
     * A value longer than {@code into} is not copied: call again with a segment of the length
     * returned.
     *
     * @throws IllegalArgumentException if {@code into} is read-only
     */
    public long get(MemorySegment key, MemorySegment into) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(into, "into");
        if (into.isReadOnly()) {
            throw new IllegalArgumentException("the segment to copy the value into is read-only");
        }
        long h = hash(key);
        for (;;) {
            ensureOpen();
            long frees = this.frees;
            try {
                long at = find(index.get(h), key);
                if (at == 0) {
                    return -1;
                }
                MemorySegment m = slab(at).memory;
                long o = Slab.offset(at);
                long keyLength = m.get(LENGTH, o + Slab.KEY_LENGTH);
                long valueLength = m.get(LENGTH, o + Slab.VALUE_LENGTH);
                if (valueLength <= into.byteSize()) {
                    MemorySegment.copy(m, o + Slab.HEADER + keyLength, into, 0, valueLength);
                }
                return valueLength;
            } catch (IllegalStateException | Moved e) {
                callersMemory(e, key, into);
                retryOrThrow(e, frees);
            }
        }
    }

    /** Whether {@code key} is mapped. */
    public boolean containsKey(byte[] key) {
        MemorySegment k = MemorySegment.ofArray(Objects.requireNonNull(key, "key"));
        long h = hash(k);
        for (;;) {
            ensureOpen();
            long frees = this.frees;
            try {
                return find(index.get(h), k) != 0;
            } catch (IllegalStateException | Moved e) {
                retryOrThrow(e, frees);
            }
        }
    }

    /**
     * The values of {@code keys} into {@code values} (fresh arrays, {@code null} for absent keys),
     * batched: the index lines of 64 keys are prefetched together (the table's batched lookup),
     * then their records' first lines are loaded together, so that the misses of many lookups
     * overlap. Each lookup is linearizable on its own, as {@link #get(byte[])}.
     *
     * @throws IllegalArgumentException if the arrays' lengths differ
     * @throws NullPointerException     if an array or a key is null (no value is then written)
     */
    public void getAll(byte[][] keys, byte[][] values) {
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(values, "values");
        if (keys.length != values.length) {
            throw new IllegalArgumentException("keys.length " + keys.length + " != values.length "
                    + values.length + "; each key needs one place for its value");
        }
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] == null) {
                throw new NullPointerException("keys[" + i + "] is null");
            }
        }
        ensureOpen();
        long[] hashes = new long[BATCH];
        long[] first = new long[BATCH];
        int[] keyLengths = new int[BATCH];
        for (int from = 0; from < keys.length; from += BATCH) {
            int count = Math.min(BATCH, keys.length - from);
            for (int i = 0; i < count; i++) {
                hashes[i] = hash(MemorySegment.ofArray(keys[from + i]));
            }
            long frees = this.frees;
            index.getAll(hashes, 0, first, 0, count);
            // The first record of each chain: independent loads, so their misses overlap.
            for (int i = 0; i < count; i++) {
                keyLengths[i] = peekKeyLength(first[i]);
            }
            for (int i = 0; i < count; i++) {
                values[from + i] = resolve(keys[from + i], first[i], keyLengths[i], frees);
            }
        }
    }

    /** The key length of the record at {@code at}, or -1 where there is none or it moved. */
    private int peekKeyLength(long at) {
        if (at == 0) {
            return -1;
        }
        Slab s = liveSlab(at);
        if (s == null) {
            return -1;
        }
        try {
            return s.memory.get(LENGTH, Slab.offset(at) + Slab.KEY_LENGTH);
        } catch (IllegalStateException e) {
            return -1;
        }
    }

    /** {@link #getAll}'s answer for one key whose chain starts at {@code at}. */
    private byte[] resolve(byte[] key, long at, int firstKeyLength, long frees) {
        if (at == 0) {
            return null;
        }
        MemorySegment k = MemorySegment.ofArray(key);
        if (firstKeyLength >= 0) {
            try {
                long found = find(at, k);
                return found == 0 ? null : value(found);
            } catch (IllegalStateException | Moved e) {
                retryOrThrow(e, frees);
            }
        }
        return get(k); // the record moved meanwhile: look again
    }

    /** The location of {@code key}'s record in the chain starting at {@code at}, or 0. */
    private long find(long at, MemorySegment key) {
        long keyLength = key.byteSize();
        while (at != 0) {
            MemorySegment m = slab(at).memory;
            long o = Slab.offset(at);
            if (m.get(LENGTH, o + Slab.KEY_LENGTH) == keyLength
                    && MemorySegment.mismatch(m, o + Slab.HEADER, o + Slab.HEADER + keyLength, key, 0, keyLength) < 0) {
                return at;
            }
            at = m.get(WORD, o + Slab.NEXT);
        }
        return 0;
    }

    /** A copy of the value of the record at {@code at}. */
    private byte[] value(long at) {
        MemorySegment m = slab(at).memory;
        long o = Slab.offset(at);
        int keyLength = m.get(LENGTH, o + Slab.KEY_LENGTH);
        int valueLength = m.get(LENGTH, o + Slab.VALUE_LENGTH);
        byte[] v = new byte[valueLength];
        MemorySegment.copy(m, ValueLayout.JAVA_BYTE, o + Slab.HEADER + keyLength, v, 0, valueLength);
        return v;
    }

    /** The slab of a location, or {@link Moved} where it was freed (its slot empty or reused). */
    private Slab slab(long at) {
        Slab s = liveSlab(at);
        if (s == null) {
            throw Moved.INSTANCE;
        }
        return s;
    }

    /** The slab of a location, or {@code null} where it was freed (its slot empty or of another generation). */
    private Slab liveSlab(long at) {
        Slab[] t = slabs;
        int slot = Slab.slot(at);
        Slab s = slot < t.length ? t[slot] : null;
        return s != null && s.prefix == (at & ~0xffffffffL) ? s : null;
    }

    /**
     * After a call met freed memory ({@link Moved}, or the JDK's exception from a closed slab):
     * returns, for the caller to start again, where a compaction freed a slab since the try
     * began ({@code frees} is {@link #frees} then); the index leads to the moved record. A closed
     * map throws its own exception; any other {@link IllegalStateException} (the index's, a
     * provider's) is rethrown, not retried.
     */
    private void retryOrThrow(RuntimeException e, long frees) {
        if (closed) {
            IllegalStateException closedError = closedError();
            closedError.addSuppressed(e);
            throw closedError;
        }
        if (e instanceof IllegalStateException && this.frees == frees) {
            throw e;
        }
    }

    /** Rethrows an {@link IllegalStateException} where a segment the caller passed is no longer alive. */
    private static void callersMemory(RuntimeException e, MemorySegment a, MemorySegment b) {
        if (e instanceof IllegalStateException ise && (!a.scope().isAlive() || b != null && !b.scope().isAlive())) {
            throw ise;
        }
    }

    // ---------------------------------------------------------------- writes

    /**
     * Maps {@code key} to {@code value}.
     *
     * @return the previous value (a fresh array), or {@code null} if there was none
     * @throws TableFullException       if the record does not fit under {@link Builder#maxBytes}
     * @throws IllegalArgumentException if the record is larger than 4 GiB
     */
    public byte[] put(byte[] key, byte[] value) {
        return update(PUT, array(key, "key"), array(value, "value"), true);
    }

    /** As {@link #put(byte[], byte[])}, from segments (read in place). */
    public byte[] put(MemorySegment key, MemorySegment value) {
        return update(PUT, Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"), true);
    }

    /**
     * As {@link #put(byte[], byte[])} without returning the previous value, so without copying it.
     *
     * @return whether the key was absent
     */
    public boolean set(byte[] key, byte[] value) {
        return update(PUT, array(key, "key"), array(value, "value"), false) == null;
    }

    /** As {@link #set(byte[], byte[])}, from segments (read in place). */
    public boolean set(MemorySegment key, MemorySegment value) {
        return update(PUT, Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"), false) == null;
    }

    /**
     * Maps {@code key} to {@code value} only if it is absent.
     *
     * @return the current value (a fresh array) if present (nothing changed), else {@code null}
     */
    public byte[] putIfAbsent(byte[] key, byte[] value) {
        return update(PUT_IF_ABSENT, array(key, "key"), array(value, "value"), true);
    }

    /**
     * Removes the mapping of {@code key}.
     *
     * @return the removed value (a fresh array), or {@code null} if it was absent
     */
    public byte[] remove(byte[] key) {
        return update(REMOVE, array(key, "key"), null, true);
    }

    private static MemorySegment array(byte[] bytes, String what) {
        return MemorySegment.ofArray(Objects.requireNonNull(bytes, what));
    }

    /** {@link #update}'s answer "the key was present" where the caller wants no copy of the old value. */
    private static final byte[] PRESENT = new byte[0];

    /**
     * The writes. Returns the previous value (or {@code null} where the key was absent); without
     * {@code wantOld}, {@link #PRESENT} in place of a copy of it.
     */
    private byte[] update(int op, MemorySegment key, MemorySegment value, boolean wantOld) {
        long recordBytes = 0;
        if (op != REMOVE) {
            recordBytes = checkedRecordBytes(key.byteSize(), value.byteSize());
        }
        long h = hash(key);
        boolean compacted = false;
        for (;;) {
            ensureOpen();
            Write w = new Write(false);
            boolean compactNow = false;
            long frees = this.frees;
            int ticket = gate.enter();
            try {
                return attempt(op, key, value, recordBytes, h, wantOld, w);
            } catch (IllegalStateException | Moved e) {
                w.abandon();
                callersMemory(e, key, value);
                retryOrThrow(e, frees);
            } catch (OutOfSlabs e) {
                w.abandon();
                if (compacted) {
                    throw full(recordBytes);
                }
                compacted = true;
                compactNow = true;
            } finally {
                gate.exit(ticket);
                if (compactionWanted && !compacting.get()) {
                    compact(compactBelow, AUTO_VICTIMS);
                }
            }
            if (compactNow) {
                // Outside the gate (B4): the compactor waits for the writers inside it.
                compactForRoom();
            }
        }
    }

    /** One try of {@link #update}, inside the gate. */
    private byte[] attempt(int op, MemorySegment key, MemorySegment value, long recordBytes, long h,
                           boolean wantOld, Write w) {
        for (;;) {
            long head = index.get(h);
            w.walk(head, key);
            long found = w.found;
            if (found != 0 ? op == PUT_IF_ABSENT : op == REMOVE) {
                byte[] current = found == 0 ? null : value(found); // nothing to change
                w.abandon(); // a record written for a try whose CAS failed
                return current;
            }
            byte[] old = found == 0 ? null : wantOld ? value(found) : PRESENT;
            if (op != REMOVE && w.record == 0) {
                w.record = write(key, value, recordBytes, w.compactor);
            }
            long newHead = w.newChain(w.record);
            boolean swapped = head == 0 ? index.putIfAbsent(h, newHead) == 0
                    : newHead == 0 ? index.remove(h, head)
                    : index.replace(h, head, newHead);
            if (swapped) {
                w.published();
                if (found == 0) {
                    size.increment();
                } else if (op == REMOVE) {
                    size.decrement();
                }
                return old;
            }
            w.copiesLost();
        }
    }

    /**
     * One write's state: its record, the chain it read, and the copies it made of the records
     * before the one it replaces (almost always none: chains are one record long).
     */
    private final class Write {
        /** The compactor's: it may use the slab beyond the memory limit (see {@link #openSlab}). */
        final boolean compactor;
        long record;
        long found;
        long foundBytes;
        int position;
        long[] before = NONE;
        long[] beforeBytes = NONE;
        long[] copies = NONE;
        int copyCount;

        Write(boolean compactor) {
            this.compactor = compactor;
        }

        /** Reads the chain from {@code head}: {@link #found}, its size and the records before it. */
        void walk(long head, MemorySegment key) {
            long keyLength = key.byteSize();
            found = 0;
            position = 0;
            for (long at = head; at != 0; ) {
                MemorySegment m = slab(at).memory;
                long o = Slab.offset(at);
                int k = m.get(LENGTH, o + Slab.KEY_LENGTH);
                long bytes = Slab.recordBytes(k, m.get(LENGTH, o + Slab.VALUE_LENGTH));
                if (k == keyLength && MemorySegment.mismatch(m, o + Slab.HEADER, o + Slab.HEADER + k, key, 0, k) < 0) {
                    found = at;
                    foundBytes = bytes;
                    return;
                }
                if (position == before.length) {
                    before = Arrays.copyOf(before, position * 2 + 2);
                    beforeBytes = Arrays.copyOf(beforeBytes, position * 2 + 2);
                }
                before[position] = at;
                beforeBytes[position] = bytes;
                position++;
                at = m.get(WORD, o + Slab.NEXT);
            }
        }

        /**
         * The new chain: {@code first} (0 for none), copies of the records before the found one,
         * then what followed the found one (or, where nothing was found, the whole chain).
         */
        long newChain(long first) {
            long tail;
            if (found == 0) {
                tail = position == 0 ? 0 : before[0];
            } else {
                tail = next(found);
                copyCount = 0;
                for (int i = position - 1; i >= 0; i--) {
                    if (copyCount == copies.length) {
                        copies = Arrays.copyOf(copies, copyCount * 2 + 2);
                    }
                    tail = copy(before[i], tail, compactor);
                    copies[copyCount++] = tail;
                }
            }
            if (first == 0) {
                return tail;
            }
            Slab s = slab(first);
            s.memory.set(WORD, Slab.offset(first) + Slab.NEXT, tail);
            return first;
        }

        /** After the CAS: the replaced records are garbage. */
        void published() {
            record = 0;
            copyCount = 0;
            if (found != 0) {
                dead(found, foundBytes);
                for (int i = 0; i < position; i++) {
                    dead(before[i], beforeBytes[i]);
                }
            }
        }

        /** After a failed CAS: the copies were never published. */
        void copiesLost() {
            for (int i = 0; i < copyCount; i++) {
                dead(copies[i], recordBytesAt(copies[i]));
            }
            copyCount = 0;
        }

        /** After an exception: nothing this write allocated will be published. */
        void abandon() {
            try {
                copiesLost();
                if (record != 0) {
                    dead(record, recordBytesAt(record));
                }
            } catch (IllegalStateException | Moved e) {
                // The slab is gone; its accounting with it.
            }
            record = 0;
        }
    }

    private long next(long at) {
        return slab(at).memory.get(WORD, Slab.offset(at) + Slab.NEXT);
    }

    private long recordBytesAt(long at) {
        MemorySegment m = slab(at).memory;
        long o = Slab.offset(at);
        return Slab.recordBytes(m.get(LENGTH, o + Slab.KEY_LENGTH), m.get(LENGTH, o + Slab.VALUE_LENGTH));
    }

    private static final long[] NONE = new long[0];

    /** A copy of the record at {@code at} (allocated in the open slab), followed by {@code next}. */
    private long copy(long at, long next, boolean compactor) {
        MemorySegment m = slab(at).memory;
        long o = Slab.offset(at);
        int keyLength = m.get(LENGTH, o + Slab.KEY_LENGTH);
        int valueLength = m.get(LENGTH, o + Slab.VALUE_LENGTH);
        long c = write(m.asSlice(o + Slab.HEADER, keyLength), m.asSlice(o + Slab.HEADER + keyLength, valueLength),
                Slab.recordBytes(keyLength, valueLength), compactor);
        slab(c).memory.set(WORD, Slab.offset(c) + Slab.NEXT, next);
        return c;
    }

    /** Counts a record's bytes as garbage of its slab (nothing where the slab is already freed). */
    private void dead(long at, long bytes) {
        Slab s = liveSlab(at);
        if (s != null) {
            s.dead.addAndGet(bytes);
        }
    }

    private static long checkedRecordBytes(long keyLength, long valueLength) {
        if (keyLength > Integer.MAX_VALUE || valueLength > Integer.MAX_VALUE
                || Slab.recordBytes(keyLength, valueLength) > MAX_RECORD) {
            throw new IllegalArgumentException("a record of a " + keyLength + "-byte key and a "
                    + valueLength + "-byte value is too large: keys and values are at most "
                    + Integer.MAX_VALUE + " bytes each and a record (16 bytes of header, both, padding"
                    + " to 8) at most " + MAX_RECORD + " bytes");
        }
        return Slab.recordBytes(keyLength, valueLength);
    }

    /** Writes a record (NEXT 0) in the open slab; returns its location. */
    private long write(MemorySegment key, MemorySegment value, long bytes, boolean compactor) {
        long at = allocate(bytes, compactor);
        MemorySegment m = slab(at).memory;
        long o = Slab.offset(at);
        long keyLength = key.byteSize();
        long valueLength = value.byteSize();
        m.set(WORD, o + Slab.NEXT, 0);
        m.set(LENGTH, o + Slab.KEY_LENGTH, (int) keyLength);
        m.set(LENGTH, o + Slab.VALUE_LENGTH, (int) valueLength);
        try {
            MemorySegment.copy(key, 0, m, o + Slab.HEADER, keyLength);
            MemorySegment.copy(value, 0, m, o + Slab.HEADER + keyLength, valueLength);
        } catch (RuntimeException | Error e) {
            dead(at, bytes); // reserved and scannable (its header is written), never to be published
            throw e;
        }
        return at;
    }

    // ---------------------------------------------------------------- slabs

    /** Space for a record: the open slab's, or a new open slab's, or a slab of its own. */
    private long allocate(long bytes, boolean compactor) {
        if (bytes > slabBytes) {
            slabLock.lock();
            try {
                Slab own = openSlab(bytes, compactor);
                own.sealFull(bytes);
                if (!compactor && compactBelow > 0 && !sparseSlabs(compactBelow).isEmpty()) {
                    compactionWanted = true;
                }
                return own.prefix;
            } finally {
                slabLock.unlock();
            }
        }
        if (compactor) {
            // The compactor fills a slab of its own: moved records in the writers' slab would make
            // the writers open slabs, and ask for compactions, for the compactor's bytes.
            for (;;) {
                Slab s = compactorSlab;
                long at = s == null ? -1 : s.reserve(bytes);
                if (at >= 0) {
                    return at;
                }
                slabLock.lock();
                try {
                    compactorSlab = openSlab(slabBytes, true);
                } finally {
                    slabLock.unlock();
                }
            }
        }
        for (;;) {
            Slab s = active;
            long at = s.reserve(bytes);
            if (at >= 0) {
                return at;
            }
            slabLock.lock();
            try {
                if (active == s) {
                    active = openSlab(slabBytes, false);
                    // One compaction (of AUTO_VICTIMS slabs) per slab of the writers' bytes.
                    if (compactBelow > 0 && !sparseSlabs(compactBelow).isEmpty()) {
                        compactionWanted = true;
                    }
                }
            } finally {
                slabLock.unlock();
            }
        }
    }

    /**
     * A new slab in a free slot; under slabLock. Throws {@link OutOfSlabs} where the memory limit
     * (or, with {@code compactor}, the limit plus one slab: the compactor's room to move records
     * before it frees any) or the slot count is reached.
     */
    private Slab openSlab(long capacity, boolean overLimit) {
        if (closed) {
            throw closedError(); // close() frees the slabs it finds under this lock
        }
        // The compactor's slab is the one slab allowed past the limit: the writers' room is the
        // limit without it.
        Slab compactors = compactorSlab;
        long limit = Math.min(maxBytes, Long.MAX_VALUE - slabBytes)
                + (overLimit ? slabBytes : compactors == null ? 0 : compactors.capacity);
        if (slabMemory.get() > limit - capacity) {
            throw OutOfSlabs.INSTANCE;
        }
        Slab[] t = slabs;
        int slot = 0;
        while (slot < t.length && t[slot] != null) {
            slot++;
        }
        if (slot == MAX_SLABS) {
            throw OutOfSlabs.INSTANCE;
        }
        if (slot == generations.length) {
            generations = Arrays.copyOf(generations, Math.max(8, slot * 2));
        }
        int generation = generations[slot] % 0xffff + 1; // 1..65535, never 0
        generations[slot] = generation;
        Slab s = new Slab(slot, generation, capacity, memoryProvider);
        Slab[] grown = Arrays.copyOf(t, Math.max(t.length, slot + 1));
        grown[slot] = s;
        slabs = grown;
        slabMemory.addAndGet(capacity);
        return s;
    }

    /** Sealed slabs (not the open one) whose live bytes are under {@code fraction} of their records', sparsest first. */
    private List<Slab> sparseSlabs(double fraction) {
        record Candidate(Slab slab, double live) {
        }
        List<Candidate> sparse = new ArrayList<>();
        Slab open = active;
        for (Slab s : slabs) {
            if (s != null && s != open && s.end() >= 0) {
                long records = s.end();
                long live = records - s.dead.get(); // a snapshot: writers go on counting garbage
                // Live bytes against the slab's capacity: an unused tail is reclaimable too.
                // compact() (fraction 1) takes only slabs with garbage, not every slab with a tail.
                if (fraction == ROOM ? live < s.capacity : fraction >= 1.0 ? live < records : live < fraction * s.capacity) {
                    sparse.add(new Candidate(s, (double) live / s.capacity));
                }
            }
        }
        sparse.sort(Comparator.comparingDouble(Candidate::live));
        return sparse.stream().map(Candidate::slab).toList();
    }

    private TableFullException full(long recordBytes) {
        return new TableFullException("no room for a record of " + recordBytes + " bytes: the slabs hold "
                + slabMemory.get() + " bytes (" + liveBytes() + " live after compaction) of the limit of "
                + (maxBytes == Long.MAX_VALUE ? MAX_SLABS + " slabs of " + slabBytes + " bytes"
                : maxBytes + " bytes (Builder.maxBytes)") + "; remove entries or build the map with more room");
    }

    // ---------------------------------------------------------------- compaction

    /**
     * Compacts now: copies the live records of every slab holding garbage (but the open one) to
     * the open slab and frees those slabs, and does so again while that freed memory (up to
     * {@value #COMPACT_PASSES} passes); readers and writers go on meanwhile. Waits for a
     * compaction already running to end first.
     *
     * <p>Another pass is needed where a moved record was not the first of its hash chain: the
     * chain is published anew with copies of the records before it, so those records become
     * garbage in slabs the pass did not take (with colliding keys, whole slabs of them).
     *
     * @return the bytes of slab memory freed
     */
    public long compact() {
        ensureOpen();
        long freed = 0;
        for (int pass = 0; pass < COMPACT_PASSES; pass++) {
            long f = compact(1.0, Integer.MAX_VALUE);
            freed += f;
            if (f == 0) {
                break;
            }
        }
        return freed;
    }

    /** Passes of {@link #compact()} at most: each takes the garbage the previous one made. */
    private static final int COMPACT_PASSES = 4;

    /**
     * At the memory limit: compacts every slab not full of live records (its garbage and its
     * unused tail), sparsest first, then gives the compactor's slab, with the room left in it, to
     * the writers (their own slab is full: that is how they got here).
     */
    private void compactForRoom() {
        compact(ROOM, Integer.MAX_VALUE);
    }

    /** {@link #compact(double, int)}'s threshold for {@link #compactForRoom}. */
    private static final double ROOM = 2.0;

    /**
     * Compacts up to {@code maxVictims} of the slabs under {@code below} (sparsest first). The
     * automatic compaction takes {@link #AUTO_VICTIMS} a time: each new slab's worth of writes
     * then pays for a bounded amount of moving, instead of one writer moving most of a large map
     * when many slabs cross the threshold together (as uniform overwrites make them).
     */
    private long compact(double below, int maxVictims) {
        boolean explicit = below >= 1.0;
        while (!compacting.compareAndSet(false, true)) {
            if (!explicit) {
                return 0;
            }
            ensureOpen();
            LockSupport.parkNanos(50_000);
        }
        long freed = 0;
        try {
            compactionWanted = false;
            List<Slab> victims;
            slabLock.lock();
            try {
                victims = sparseSlabs(below);
            } finally {
                slabLock.unlock();
            }
            if (victims.size() > maxVictims) {
                victims = victims.subList(0, maxVictims); // the rest when the next slab opens
            }
            if (victims.isEmpty()) {
                return 0;
            }
            gate.awaitGrace(); // B2: every record in the victims is now completely written
            long[] at = new long[BATCH];
            long[] hashes = new long[BATCH];
            long[] heads = new long[BATCH];
            int touched = 0;
            for (Slab v : victims) {
                try {
                    long end = v.end();
                    MemorySegment m = v.memory;
                    for (long o = 0; o < end; ) {
                        // Whether a record is live takes its key's index entry and, for garbage,
                        // the record that replaced it: two misses a record, so a batch's entries
                        // are loaded together (the table's batched getAll), then the first
                        // records of their chains (independent loads whose misses overlap), and
                        // move() finds both in cache.
                        int n = 0;
                        for (; n < BATCH && o < end; n++) {
                            int keyLength = m.get(LENGTH, o + Slab.KEY_LENGTH);
                            at[n] = v.prefix | o;
                            hashes[n] = hash(m.asSlice(o + Slab.HEADER, keyLength));
                            o += Slab.recordBytes(keyLength, m.get(LENGTH, o + Slab.VALUE_LENGTH));
                        }
                        index.getAll(hashes, 0, heads, 0, n);
                        for (int i = 0; i < n; i++) {
                            if (heads[i] != at[i]) {
                                touched += peekKeyLength(heads[i]);
                            }
                        }
                        for (int i = 0; i < n; i++) {
                            if (heads[i] != 0) { // no chain for the hash: garbage, never reachable again (B3)
                                move(at[i]);
                            }
                        }
                    }
                } catch (OutOfSlabs e) {
                    break; // no room to move the rest: this slab and the later ones stay
                }
                free(v);
                freed += v.capacity;
            }
            peeked = touched; // keeps the peeking loads
            if (below == ROOM) {
                slabLock.lock();
                try {
                    Slab c = compactorSlab;
                    if (c != null && c.end() < 0 && active.end() >= 0) {
                        compactorSlab = null;
                        active = c;
                    }
                } finally {
                    slabLock.unlock();
                }
            }
        } catch (IllegalStateException e) {
            if (!closed) {
                throw e;
            }
        } finally {
            compacting.set(false);
        }
        return freed;
    }

    /** Moves the record at {@code at} to the open slab where it is still reachable (B3). */
    private void move(long at) {
        MemorySegment m = slab(at).memory;
        long o = Slab.offset(at);
        MemorySegment key = m.asSlice(o + Slab.HEADER, m.get(LENGTH, o + Slab.KEY_LENGTH));
        long h = hash(key);
        Write w = new Write(true);
        for (;;) {
            // No chain reaches a freed slab (B3) and only the compactor frees: no Moved here.
            long head = index.get(h);
            w.walk(head, key);
            if (w.found != at) {
                return; // replaced or removed: garbage already
            }
            long c = copy(at, 0, true);
            long newHead;
            try {
                newHead = w.newChain(c);
            } catch (OutOfSlabs e) {
                w.copiesLost();
                dead(c, recordBytesAt(c));
                throw e;
            }
            if (index.replace(h, head, newHead)) {
                w.published(); // the moved record and the copied ones before it are garbage
                return;
            }
            w.copiesLost();
            dead(c, recordBytesAt(c));
        }
    }

    private void free(Slab v) {
        slabLock.lock();
        try {
            Slab[] t = slabs.clone();
            t[v.slot] = null;
            slabs = t;
            slabMemory.addAndGet(-v.capacity);
            frees++; // before the close: a call that meets the closed slab then sees it
        } finally {
            slabLock.unlock();
        }
        v.close();
    }

    // ---------------------------------------------------------------- whole map

    /** Mappings; weakly consistent with concurrent writes. */
    public long size() {
        ensureOpen();
        return Math.max(0, size.sum());
    }

    /** Bytes of off-heap slab memory held (records live and garbage); the index's memory aside. */
    public long memoryBytes() {
        ensureOpen();
        return slabMemory.get();
    }

    /** Bytes of the index ({@link GrowingLongLongTable#memoryBytes()}). */
    public long indexBytes() {
        ensureOpen();
        return index.memoryBytes();
    }

    /** Bytes of live records (headers and padding included): {@link #memoryBytes()} less garbage and free room. */
    public long liveBytes() {
        ensureOpen();
        long live = 0;
        for (Slab s : slabs) {
            if (s != null) {
                live += s.used() - s.dead.get();
            }
        }
        return live;
    }

    /**
     * Calls {@code action} with a copy of each mapping's key and value. Weakly consistent: a
     * mapping present throughout is seen once, one added or removed meanwhile may or may not be.
     * The action may write to the map. Takes a snapshot of the index's hashes first (8 bytes a
     * mapping).
     */
    public void forEach(BiConsumer<byte[], byte[]> action) {
        Objects.requireNonNull(action, "action");
        walk(action, true);
    }

    /** As {@link #forEach}, the keys only (no value is copied). */
    public void forEachKey(Consumer<byte[]> action) {
        Objects.requireNonNull(action, "action");
        walk((k, v) -> action.accept(k), false);
    }

    private void walk(BiConsumer<byte[], byte[]> action, boolean values) {
        long[] hashes = hashes();
        List<byte[]> chain = new ArrayList<>();
        for (long h : hashes) {
            chain.clear();
            for (;;) {
                ensureOpen();
                long frees = this.frees;
                try {
                    for (long at = index.get(h); at != 0; at = next(at)) {
                        MemorySegment m = slab(at).memory;
                        long o = Slab.offset(at);
                        int keyLength = m.get(LENGTH, o + Slab.KEY_LENGTH);
                        byte[] k = new byte[keyLength];
                        MemorySegment.copy(m, ValueLayout.JAVA_BYTE, o + Slab.HEADER, k, 0, keyLength);
                        chain.add(k);
                        chain.add(values ? value(at) : null);
                    }
                    break;
                } catch (IllegalStateException | Moved e) {
                    retryOrThrow(e, frees);
                    chain.clear();
                }
            }
            for (int i = 0; i < chain.size(); i += 2) {
                action.accept(chain.get(i), chain.get(i + 1));
            }
        }
    }

    /** The index's keys (the hashes of the keys) at one moment, weakly. */
    private long[] hashes() {
        ensureOpen();
        long[][] out = {new long[16]};
        int[] n = {0};
        index.forEach((h, at) -> {
            if (n[0] == out[0].length) {
                out[0] = Arrays.copyOf(out[0], n[0] * 2);
            }
            out[0][n[0]++] = h;
        });
        return Arrays.copyOf(out[0], n[0]);
    }

    /** Removes every mapping; weakly consistent, as {@link #forEach}. The slabs are compacted after. */
    public void clear() {
        long[] chain = new long[8];
        for (long h : hashes()) {
            for (;;) {
                ensureOpen();
                long frees = this.frees;
                try {
                    long head = index.get(h);
                    if (head == 0) {
                        break;
                    }
                    // The chain's records and sizes first: once removed, its slabs may be freed.
                    int n = 0;
                    for (long at = head; at != 0; at = next(at)) {
                        if (n + 2 > chain.length) {
                            chain = Arrays.copyOf(chain, chain.length * 2);
                        }
                        chain[n++] = at;
                        chain[n++] = recordBytesAt(at);
                    }
                    if (index.remove(h, head)) {
                        size.add(-n / 2);
                        for (int i = 0; i < n; i += 2) {
                            dead(chain[i], chain[i + 1]);
                        }
                        break;
                    }
                } catch (IllegalStateException | Moved e) {
                    retryOrThrow(e, frees);
                }
            }
        }
        compact(1.0, Integer.MAX_VALUE);
    }

    private long hash(MemorySegment key) {
        return hashFunction.hash(key, seed);
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    private void ensureOpen() {
        if (closed) {
            throw closedError();
        }
    }

    private static IllegalStateException closedError() {
        return new IllegalStateException("the map is closed: its slabs and index are freed");
    }

    /**
     * Frees the slabs and the index. Idempotent. Calls racing it throw
     * {@link IllegalStateException}.
     */
    @Override
    public void close() {
        slabLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            index.close();
            for (Slab s : slabs) {
                if (s != null) {
                    s.close();
                }
            }
            slabMemory.set(0);
        } finally {
            slabLock.unlock();
        }
    }

    @Override
    public String toString() {
        return closed ? "ConcurrentBytesMap[closed]"
                : "ConcurrentBytesMap[size=" + size.sum() + ", slabs " + slabMemory.get() + " bytes]";
    }

    /** A location whose slab was freed or replaced: start again from the index. No stack trace. */
    static final class Moved extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final Moved INSTANCE = new Moved();

        private Moved() {
            super("the record moved", null, false, false);
        }
    }

    /** No slab can be opened (the memory limit or the slot count). No stack trace. */
    static final class OutOfSlabs extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final OutOfSlabs INSTANCE = new OutOfSlabs();

        private OutOfSlabs() {
            super("no room for another slab", null, false, false);
        }
    }

    /** Options of a {@link ConcurrentBytesMap}. */
    public static final class Builder {
        private long expectedEntries = 768;
        private long slabBytes = 4L << 20;
        private long maxBytes = Long.MAX_VALUE;
        private double compactBelow = 0.5;
        private long seed = new SplittableRandom().nextLong();
        private KeyHash hash = KeyHash.WY;
        private MemoryProvider memory = MemoryProvider.hugePageAdvised();

        private Builder() {
        }

        /**
         * Where the slabs and the index get their memory (default {@link
         * MemoryProvider#hugePageAdvised()}: mapped memory, freed when a slab is compacted or the
         * map closed). With {@link MemoryProvider#gcManaged()} the map may be dropped unclosed.
         */
        public Builder memory(MemoryProvider provider) {
            this.memory = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /** Mappings the index holds before it first grows (it grows as needed). */
        public Builder expectedEntries(long entries) {
            if (entries < 0) {
                throw new IllegalArgumentException("expectedEntries must be >= 0, got " + entries);
            }
            this.expectedEntries = entries;
            return this;
        }

        /**
         * Bytes of each slab, 4 KiB to 1 GiB (default 4 MiB). A record larger than a slab gets a
         * slab of its own.
         */
        public Builder slabBytes(long bytes) {
            if (bytes < 4096 || bytes > 1L << 30 || bytes % 8 != 0) {
                throw new IllegalArgumentException("slabBytes must be a multiple of 8 from 4096 to 2^30, got " + bytes);
            }
            this.slabBytes = bytes;
            return this;
        }

        /**
         * The most slab memory the map may hold (the index aside); at least one slab. Compaction
         * may open one slab more, to move records before it frees any, and the map may keep it.
         */
        public Builder maxBytes(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("maxBytes must be > 0, got " + bytes);
            }
            this.maxBytes = bytes;
            return this;
        }

        /**
         * Compact a full slab automatically once its live bytes fall under this fraction of its
         * capacity (0 to 1, default 0.5; 0 compacts only on {@link #compact()} or at the memory
         * limit). Lower values trade memory (up to 1/fraction of the live bytes) for fewer copies.
         */
        public Builder compactBelow(double fraction) {
            if (!(fraction >= 0 && fraction <= 1)) {
                throw new IllegalArgumentException("compactBelow must be from 0 to 1, got " + fraction);
            }
            this.compactBelow = fraction;
            return this;
        }

        /** The hash seed (default random per map: hash-flooding resistant across maps). */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** A test hook: another hash function (a weak one forces collisions). */
        Builder hash(KeyHash function) {
            this.hash = Objects.requireNonNull(function, "function");
            return this;
        }

        /**
         * Builds the map.
         *
         * @throws IllegalArgumentException if {@link #maxBytes} is below {@link #slabBytes}
         */
        public ConcurrentBytesMap build() {
            if (maxBytes < slabBytes) {
                throw new IllegalArgumentException("maxBytes " + maxBytes + " is below one slab ("
                        + slabBytes + " bytes); raise it or lower slabBytes");
            }
            return new ConcurrentBytesMap(this);
        }
    }
}
