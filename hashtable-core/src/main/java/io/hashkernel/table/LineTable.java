package io.hashkernel.table;

import io.hashkernel.prefetch.batch.BatchPipeline;
import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.table.spi.TableMemory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.IntStream;
import java.util.stream.LongStream;

import static io.hashkernel.table.TableLayout.EMPTY_KEY;
import static io.hashkernel.table.TableLayout.LINE_SHIFT;
import static io.hashkernel.table.TableLayout.NO_VALUE;
import static io.hashkernel.table.TableLayout.SLOT_BYTES;
import static io.hashkernel.table.TableLayout.SLOT_SHIFT;
import static io.hashkernel.table.TableLayout.VALUE_OFFSET;

/**
 * The engine of the tables: one open-addressing table of {@code long} pairs in off-heap memory,
 * with its probe steps, encoding, single-key operations, batched bulk calls, iteration and the
 * copy a migration uses. {@link ConcurrentLongLongTable} is its public face; the growing table's
 * segments and the partitioned table's partitions are engines of their own. The guarantees are
 * those {@link ConcurrentLongLongTable} states.
 */
final class LineTable implements LongLongMap {

    /*
     * Implementation notes.
     *
     * Layout (see TableLayout): slots of (key word, value word), 4 per 64-byte line. Key word 0 is
     * "free"; the key 0 itself lives in the side cell after the last line. Value words store
     * value ^ missingValue, so a zero value word means "no value" and fresh memory is an empty table.
     *
     * Invariants.
     *  (I1) A key word goes from EMPTY_KEY to a key exactly once, by CAS, and never changes again
     *       (clear() only removes values). Hence no key occupies two slots: every inserter of k walks the same
     *       probe sequence and CASes each free slot it meets, so the first to claim a slot wins it
     *       and the others re-read the key word and see k there, or another key and walk on.
     *  (I2) Within the probe sequence of k, every slot before k's slot held a key before k's slot
     *       was claimed (the claimant saw them non-free). A reader that meets a free slot before
     *       finding k may therefore conclude k was absent when it read that free slot.
     *  (I3) A value word is only written after its key word is claimed.
     *
     * Linearisation points.
     *  get/containsKey: the acquire load of the value word of k's slot (absent if it is NO_VALUE),
     *      or the load that found a free slot (absent) before k's slot.
     *  put: the getAndSet of the value word (returns the previous value, NO_VALUE = absent). A
     *      claimed slot whose value word is still NO_VALUE reads as absent: the put linearises at
     *      its value store, not at the claim.
     *  putIfAbsent: the successful CAS NO_VALUE -> value, or the load that saw a value.
     *  replace/remove(k[, expected]): the successful CAS (or getAndSet for remove(k)), or the load
     *      that saw NO_VALUE / an unexpected value.
     *  remove keeps the key in its slot (I1); only a value word returns to NO_VALUE.
     *
     * Fences. Value words are read with acquire loads and written with CAS/getAndSet (volatile).
     * Key words are written by CAS. The home line's key words are read with plain loads: a key
     * word only ever goes from free to its key, an aligned 8-byte load is single-copy atomic on
     * 64-bit JVMs, and a lookup derives nothing from a key word but "this slot is (not yet) k",
     * which is true at the moment of the load; the value word that follows is read with acquire.
     * The rest of a single-key probe (where it may stop at a free slot, (I2)) reads key words with
     * acquire. A batched lookup reads each of its lines with plain loads, the free-slot test
     * included: a key word only ever goes from free to a key, so a load that saw it free proves
     * the key absent at that moment (I2), as an acquire load would; its value word is read plain
     * too, and an acquire fence after each batch gives the caller the acquire ordering. A lookup
     * that goes on past its home line reads like a single-key probe, with acquire loads, where it
     * finishes at once (past MAX_HOPS lines, or in a table in the cache: IN_CACHE_BYTES).
     * A lookup costs few instructions around its one miss, which lets the CPU overlap many of them.
     *
     * Full table: a probe visits at most every line once; a new key that finds no free slot in
     * all of them fails with TableFullException instead of probing forever.
     */

    /** Acquire/CAS access to 8-byte words of the segment: coordinates (MemorySegment, long offset). */
    static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();
    /**
     * Plain loads of key words on the lookup fast path. The layout is aligned by construction, so
     * the unaligned layout only spares the per-access alignment check; the load is the same.
     */
    private static final ValueLayout.OfLong KEY_WORD = ValueLayout.JAVA_LONG_UNALIGNED;

    private final MemorySegment memory;
    private final TableMemory allocation;
    private final KeyHasher hasher;
    private final long capacity;
    private final long lineMask;
    private final long sideValueOffset;
    private final long missingValue;
    private final LongAdder size = new LongAdder();
    private final PrefetchStrategy prefetcher;
    private final int batch;
    private final int depth;
    /** Whether {@link #getAll} finishes a lookup past a full home line at once ({@link #IN_CACHE_BYTES}). */
    private final boolean inCache;
    private volatile boolean closed;

    /**
     * Allocates a table of {@code capacity} slots (a power of two) with {@code options}; a fixed
     * seed is moved by {@code seedOffset}, so that the segments or partitions of one table differ.
     */
    LineTable(ConcurrentLongLongTable.Builder options, long capacity, long seedOffset) {
        if (LineCompare.PROBLEM != null) {
            throw new IllegalStateException(LineCompare.PROBLEM);
        }
        this.capacity = capacity;
        this.lineMask = (capacity >>> 2) - 1;
        this.sideValueOffset = TableLayout.sideValueOffset(capacity);
        this.missingValue = options.missingValue();
        this.prefetcher = options.prefetcher();
        this.batch = options.batch();
        this.depth = options.depth();
        this.inCache = capacity * TableLayout.SLOT_BYTES <= options.inCacheBytes();
        this.hasher = options.hasher(seedOffset);
        this.allocation = options.memory().allocate(TableLayout.bytesFor(capacity), TableLayout.LINE_BYTES);
        this.memory = allocation.segment();
        if (memory.byteSize() < TableLayout.bytesFor(capacity) || memory.address() % TableLayout.LINE_BYTES != 0) {
            allocation.close();
            throw new IllegalStateException("memory provider returned " + memory.byteSize()
                    + " bytes at 0x" + Long.toHexString(memory.address()) + "; needed "
                    + TableLayout.bytesFor(capacity) + " bytes aligned to " + TableLayout.LINE_BYTES);
        }
        if (options.preTouch()) {
            try {
                preTouch(memory);
            } catch (RuntimeException | Error e) {
                allocation.close();
                throw e;
            }
        }
    }

    /** The smallest page the touch must reach: each one is faulted in by its own write. */
    private static final long PAGE_BYTES = 4096;
    /** Pages one task of the touch writes: 2 MiB, one huge page, so no huge page is split between threads. */
    private static final long PAGES_PER_TASK = 512;

    /**
     * Writes a zero to the first byte of every page of {@code m}, which is freshly zero-filled
     * memory (so nothing changes but which pages are resident), in tasks of 2 MiB spread over
     * the common fork-join pool. A write, not a read: a read of an untouched anonymous page maps
     * the shared zero page, which the first real write then replaces with a fault after all.
     */
    static void preTouch(MemorySegment m) {
        long pages = (m.byteSize() + PAGE_BYTES - 1) / PAGE_BYTES;
        long tasks = (pages + PAGES_PER_TASK - 1) / PAGES_PER_TASK;
        LongStream.range(0, tasks).parallel().forEach(t -> {
            long end = Math.min(pages, (t + 1) * PAGES_PER_TASK) * PAGE_BYTES;
            for (long offset = t * PAGES_PER_TASK * PAGE_BYTES; offset < end; offset += PAGE_BYTES) {
                m.set(ValueLayout.JAVA_BYTE, offset, (byte) 0);
            }
        });
    }

    // ---------------------------------------------------------------- probing

    /** 1 if {@code a == b}, else 0, without a branch. */
    private static int eq(long a, long b) {
        long x = a ^ b;
        return (int) (((x | -x) >>> 63) ^ 1);
    }

    /**
     * Bit 2i set where key word i of the line at {@code base} equals {@code key} (the key lanes of
     * the line's eight words, as the vector compare gives them); branch-free, since a ternary per
     * slot compiles to branches that mispredict on random keys.
     */
    private long matches(long base, long key) {
        final MemorySegment m = memory;
        if (LineCompare.VECTOR) {
            return VectorLines.matches(m, base, key);
        }
        if (LineCompare.VECTOR_256) {
            return VectorLines.matches256(m, base, key);
        }
        return eq(m.get(KEY_WORD, base), key)
                | eq(m.get(KEY_WORD, base + SLOT_BYTES), key) << 2
                | eq(m.get(KEY_WORD, base + 2 * SLOT_BYTES), key) << 4
                | eq(m.get(KEY_WORD, base + 3 * SLOT_BYTES), key) << 6;
    }

    /** The value word's offset for a key-lane hit mask ({@link #matches}) that is not zero. */
    static long hitOffset(long base, long hit) {
        return base + ((long) Long.numberOfTrailingZeros(hit) << 3) + VALUE_OFFSET;
    }

    /** Byte offset of the line {@code key} hashes to. */
    long homeLine(long key) {
        return (hasher.hash(key) & lineMask) << LINE_SHIFT;
    }

    /**
     * Byte offset of the value word of {@code key}'s slot, or -1 if the key has no slot. The home
     * line is checked inline (the common case at fill 0.75: a lookup is then a handful of
     * instructions around one miss, so the CPU overlaps many lookups); the rest of the probe is
     * out of line.
     */
    private long findValueOffset(long key) {
        if (key == EMPTY_KEY) {
            return sideValueOffset;
        }
        long base = homeLine(key);
        long offset = lineFind(base, key);
        if (offset >= 0 || offset == ABSENT) {
            return offset; // ABSENT is -1
        }
        return probe(key, nextLine(base), false);
    }

    /**
     * One line of a lookup (the single one's home line, each line of a batched one), from plain
     * loads and without a branch on key equality: the
     * offset of the key's value word, {@link #ABSENT} (no key, a free slot) or {@link #GO_ON} (four
     * other keys). The free-slot test reuses the loaded words (a word is free when it is zero), so
     * a miss costs no second look at the line. With {@link LineCompare#VECTOR} the line is one
     * vector load and two compares ({@link VectorLines#lineFind}), with {@link
     * LineCompare#VECTOR_256} two loads and four ({@link VectorLines#lineFind256}).
     */
    long lineFind(long base, long key) {
        final MemorySegment m = memory;
        if (LineCompare.VECTOR) {
            return VectorLines.lineFind(m, base, key);
        }
        if (LineCompare.VECTOR_256) {
            return VectorLines.lineFind256(m, base, key);
        }
        long w0 = m.get(KEY_WORD, base);
        long w1 = m.get(KEY_WORD, base + SLOT_BYTES);
        long w2 = m.get(KEY_WORD, base + 2 * SLOT_BYTES);
        long w3 = m.get(KEY_WORD, base + 3 * SLOT_BYTES);
        long d0 = w0 ^ key;
        long d1 = w1 ^ key;
        long d2 = w2 ^ key;
        long d3 = w3 ^ key;
        long z0 = (d0 - 1) & ~d0;
        long z1 = (d1 - 1) & ~d1;
        long z2 = (d2 - 1) & ~d2;
        long z3 = (d3 - 1) & ~d3;
        if ((z0 | z1 | z2 | z3) < 0) {
            return base + VALUE_OFFSET + ((z1 >> 63) & SLOT_BYTES | (z2 >> 63) & 2 * SLOT_BYTES | (z3 >> 63) & 3 * SLOT_BYTES);
        }
        long free = ((w0 - 1) & ~w0) | ((w1 - 1) & ~w1) | ((w2 - 1) & ~w2) | ((w3 - 1) & ~w3);
        return free < 0 ? ABSENT : GO_ON;
    }

    /** In a {@link #lineMasks} result: the shift of the free key lanes. */
    static final int FREE_SHIFT = 8;

    /**
     * The line at {@code base} of {@code m} from one look, for the batched lookup's scalar
     * branch-free loop (which passes its local copy of the memory field: the fence after each
     * lookup would make the JIT read the field, and check its class and arena, again): bit 2i set
     * where key word i equals {@code key} ({@link TableLayout#KEY_LANES}), bit {@link
     * #FREE_SHIFT} + 2i where key word i is free. Plain loads, as {@link #lineFind}; two 256-bit
     * loads where {@link LineCompare#VECTOR_256} ({@link VectorLines#lineMasks256}).
     */
    static long lineMasks(MemorySegment m, long base, long key) {
        if (LineCompare.VECTOR_256) {
            return VectorLines.lineMasks256(m, base, key);
        }
        long w0 = m.get(KEY_WORD, base);
        long w1 = m.get(KEY_WORD, base + SLOT_BYTES);
        long w2 = m.get(KEY_WORD, base + 2 * SLOT_BYTES);
        long w3 = m.get(KEY_WORD, base + 3 * SLOT_BYTES);
        int hit = eq(w0, key) | eq(w1, key) << 2 | eq(w2, key) << 4 | eq(w3, key) << 6;
        int free = eq(w0, EMPTY_KEY) | eq(w1, EMPTY_KEY) << 2 | eq(w2, EMPTY_KEY) << 4 | eq(w3, EMPTY_KEY) << 6;
        return hit | (long) free << FREE_SHIFT;
    }

    /**
     * As {@link #findValueOffset} but claims a free slot for a key that has none. Deliberately a
     * twin rather than one method with a claim flag: HotSpot profiles branches per method, and with
     * one shared method the inserts (whose home-line hit branch is rarely taken) would train the
     * code the lookups then run.
     */
    private long claimValueOffset(long key) {
        if (key == EMPTY_KEY) {
            return sideValueOffset;
        }
        long base = homeLine(key);
        long hit = matches(base, key);
        if (hit != 0) {
            return hitOffset(base, hit);
        }
        return probe(key, base, true);
    }

    /**
     * Set in an offset returned by a claiming probe ({@link #lineStep}, {@link #probe},
     * {@link #claimStep}) when this call claimed a free slot for the key: value-word offsets are
     * multiples of 8, so bit 0 is free to carry it. Users of the offset mask it off.
     */
    static final long CLAIMED = 1;
    /** Result of {@link #lineFind} and {@link #lineStep}: a free slot ends the probe, the key is absent. */
    static final long ABSENT = -1;
    /** Result of {@link #lineFind} and {@link #lineStep}: the line is full without the key, the probe goes on. */
    static final long GO_ON = -2;
    /** A batched request re-queued this many times finishes its probe synchronously. */
    static final int MAX_HOPS = 8;

    /**
     * Tables whose slots take at most this many bytes are taken to sit in the caches of the
     * cores that use them (a core's L2 and its share of the L3). There a {@link #getAll} lookup
     * whose home line is full reads the next lines at once instead of being re-queued: the
     * re-queue (the pipeline's bookkeeping, another prefetch, another round) costs more than the
     * cache hit it would spare, while over DRAM it lets that line's miss overlap the others. Measured on a
     * Zen 1 CPU with an 8 MiB L3: reading at once was 1.06x as fast in a 1 MiB table of skewed
     * keys, level at 4 MiB, and slower from 16 MiB on. Judged per engine, so a partitioned table
     * whose partitions are small each but many together may misjudge: a matter of speed only.
     */
    static final long IN_CACHE_BYTES = 2L << 20;

    /**
     * One line of a probe, from acquire loads: the line's four key words compared branch-free
     * against the key and against the free marker. Returns the offset of the key's value word,
     * {@link #ABSENT} (a free slot and no key; with {@code claim}, never: the free slot is claimed
     * by CAS, and a lost claim re-reads the line; the offset of a slot this call claimed carries
     * {@link #CLAIMED}) or {@link #GO_ON}.
     */
    long lineStep(long base, long key, boolean claim) {
        final MemorySegment m = memory;
        for (;;) {
            long k0 = (long) WORD.getAcquire(m, base);
            long k1 = (long) WORD.getAcquire(m, base + SLOT_BYTES);
            long k2 = (long) WORD.getAcquire(m, base + 2 * SLOT_BYTES);
            long k3 = (long) WORD.getAcquire(m, base + 3 * SLOT_BYTES);
            int hit = eq(k0, key) | eq(k1, key) << 1 | eq(k2, key) << 2 | eq(k3, key) << 3;
            if (hit != 0) {
                return base + ((long) Integer.numberOfTrailingZeros(hit) << SLOT_SHIFT) + VALUE_OFFSET;
            }
            int free = eq(k0, EMPTY_KEY) | eq(k1, EMPTY_KEY) << 1 | eq(k2, EMPTY_KEY) << 2 | eq(k3, EMPTY_KEY) << 3;
            if (free == 0) {
                return GO_ON;
            }
            if (!claim) {
                return ABSENT;
            }
            long keyOffset = base + ((long) Integer.numberOfTrailingZeros(free) << SLOT_SHIFT);
            long witness = (long) WORD.compareAndExchange(m, keyOffset, EMPTY_KEY, key);
            if (witness == EMPTY_KEY) {
                return keyOffset + VALUE_OFFSET | CLAIMED;
            }
            if (witness == key) {
                return keyOffset + VALUE_OFFSET;
            }
            // another key took the slot: look at this line again
        }
    }

    /** The line after the one at {@code base}, wrapping at the end of the table. */
    long nextLine(long base) {
        return (base + TableLayout.LINE_BYTES) & (lineMask << LINE_SHIFT);
    }

    /**
     * The full probe from the line at {@code base}, line by line ({@link #lineStep}). Visits each
     * line at most once: a lookup then reports -1, a claim fails with {@link TableFullException}.
     */
    long probe(long key, long base, boolean claim) {
        for (long visited = 0; visited <= lineMask; visited++) {
            long offset = lineStep(base, key, claim);
            if (offset != GO_ON) {
                return offset;
            }
            base = nextLine(base);
        }
        if (!claim) {
            return -1;
        }
        throw new TableFullException(fullMessage());
    }

    /** Why a new key found no slot, with the size as it is now. */
    private String fullMessage() {
        return "table full: all " + capacity + " slots hold keys (" + size.sum()
                + " mapped, the rest removed; removed keys keep their slot); build a larger table";
    }

    /**
     * One batched lookup step at the line at {@code base} ({@link #lineFind}): the value word's
     * offset, {@link #ABSENT} or {@link #GO_ON}; past {@link #MAX_HOPS} lines the rest of the
     * probe runs here.
     */
    long findStep(long base, long key, int hops) {
        long offset = lineFind(base, key);
        if (offset == GO_ON && hops >= MAX_HOPS) {
            return probe(key, nextLine(base), false);
        }
        return offset;
    }

    /**
     * One batched claiming step at the line at {@code base} (the sessions' puts): the value word's
     * offset (the key's slot, claimed if need be) or {@link #GO_ON}; past {@link #MAX_HOPS} lines
     * the rest of the probe runs here (and may throw {@link TableFullException}).
     */
    long claimStep(long base, long key, int hops) {
        final MemorySegment m = memory;
        long offset = LineCompare.VECTOR ? VectorLines.claimLine(m, base, key) : claimLine(m, base, key);
        return offset >= 0 ? offset : settleClaim(base, key, offset, hops);
    }

    /**
     * The rare answers of {@link #claimLine} for the line at {@code base}, reached after {@code
     * hops} lines: a free slot lost to another key ({@link #LOST}) is retried with acquire loads
     * ({@link #lineStep}); a line full without the key ({@link #GO_ON}) stays so, unless the probe
     * is past {@link #MAX_HOPS} lines, where the rest of it runs here (and may throw {@link
     * TableFullException}).
     */
    private long settleClaim(long base, long key, long result, int hops) {
        long offset = result == LOST ? lineStep(base, key, true) : result;
        if (offset == GO_ON && hops >= MAX_HOPS) {
            return probe(key, nextLine(base), true);
        }
        return offset;
    }

    long encode(long value) {
        requireStorable(value, missingValue);
        return value ^ missingValue;
    }

    /** Throws when {@code value} is the missing value, which no table can store. */
    static void requireStorable(long value, long missingValue) {
        if (value == missingValue) {
            throw new IllegalArgumentException("value " + value
                    + " is this table's missingValue and cannot be stored; any other long can");
        }
    }

    long decode(long word) {
        return word ^ missingValue;
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("table is closed: its memory has been released");
        }
    }

    // ---------------------------------------------------------------- map API

    @Override
    public long missingValue() {
        return missingValue;
    }

    @Override
    public long get(long key) {
        ensureOpen();
        long offset = findValueOffset(key);
        return offset < 0 ? missingValue : decode((long) WORD.getAcquire(memory, offset));
    }

    @Override
    public boolean containsKey(long key) {
        ensureOpen();
        long offset = findValueOffset(key);
        return offset >= 0 && (long) WORD.getAcquire(memory, offset) != NO_VALUE;
    }

    /** Whether {@code key} holds a slot (mapped, or removed and keeping its slot): a put of it claims none. */
    boolean hasSlot(long key) {
        ensureOpen();
        return findValueOffset(key) >= 0;
    }

    @Override
    public long put(long key, long value) {
        return put(key, value, null);
    }

    /**
     * {@link #put(long, long)}, adding 1 to {@code claims[0]} (where {@code claims} is not null)
     * if this call claimed a new slot for the key: a re-put of a removed key claims none.
     */
    long put(long key, long value, long[] claims) {
        long word = encode(value);
        ensureOpen();
        long offset = claimValueOffset(key);
        long previous = (long) WORD.getAndSet(memory, offset & ~CLAIMED, word);
        if (previous == NO_VALUE) {
            size.increment();
        }
        if (claims != null) {
            claims[0] += offset & CLAIMED;
        }
        return decode(previous);
    }

    @Override
    public long putIfAbsent(long key, long value) {
        return putIfAbsent(key, value, null);
    }

    /** {@link #putIfAbsent(long, long)}, counting a claimed slot as {@link #put(long, long, long[])} does. */
    long putIfAbsent(long key, long value, long[] claims) {
        long word = encode(value);
        ensureOpen();
        long offset = claimValueOffset(key);
        long witness = (long) WORD.compareAndExchange(memory, offset & ~CLAIMED, NO_VALUE, word);
        if (witness == NO_VALUE) {
            size.increment();
        }
        if (claims != null) {
            claims[0] += offset & CLAIMED;
        }
        return decode(witness);
    }

    @Override
    public long replace(long key, long value) {
        long word = encode(value);
        ensureOpen();
        long offset = findValueOffset(key);
        if (offset < 0) {
            return missingValue;
        }
        long current = (long) WORD.getAcquire(memory, offset);
        while (current != NO_VALUE) {
            long witness = (long) WORD.compareAndExchange(memory, offset, current, word);
            if (witness == current) {
                break;
            }
            current = witness;
        }
        return decode(current);
    }

    @Override
    public boolean replace(long key, long expectedValue, long newValue) {
        long expected = encode(expectedValue);
        long word = encode(newValue);
        ensureOpen();
        long offset = findValueOffset(key);
        return offset >= 0 && WORD.compareAndSet(memory, offset, expected, word);
    }

    @Override
    public long remove(long key) {
        ensureOpen();
        long offset = findValueOffset(key);
        if (offset < 0) {
            return missingValue;
        }
        long previous = (long) WORD.getAndSet(memory, offset, NO_VALUE);
        if (previous != NO_VALUE) {
            size.decrement();
        }
        return decode(previous);
    }

    @Override
    public boolean remove(long key, long expectedValue) {
        ensureOpen();
        if (expectedValue == missingValue) {
            return false;
        }
        long offset = findValueOffset(key);
        if (offset >= 0 && WORD.compareAndSet(memory, offset, encode(expectedValue), NO_VALUE)) {
            size.decrement();
            return true;
        }
        return false;
    }


    // ---------------------------------------------------------------- batched API

    /**
     * {@inheritDoc}
     *
     * <p>Batched: the keys' lines are prefetched a batch at a time ({@link ConcurrentLongLongTable.Builder#batch}), one
     * batch's misses overlapping the probes of the previous one, so many lookups share the wait
     * for DRAM. Each lookup is linearizable on its own, as {@link #get}.
     */
    @Override
    public void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        ensureOpen();
        final MemorySegment m = memory;
        final long missing = missingValue;
        BatchPipeline p = pipeline();
        final int batchSize = p.batch();
        int next = 0;
        do {
            // Append keys in place (the requests re-queued last round are already there).
            int n = p.buildCount();
            final int[] newTags = p.buildTags();
            final long[] newLines = p.buildOffsets();
            int end = next + Math.min(length - next, batchSize - n);
            if (LineCompare.VECTOR) {
                // Eight keys hashed at once: fewer instructions a key than hashing them one by one.
                int done = VectorLines.homeLines(keys, keysOffset + next, end - next, next, hasher, lineMask,
                        newLines, newTags, n);
                n += done;
                next += done;
            }
            for (; next < end; next++) {
                long key = keys[keysOffset + next];
                if (key == EMPTY_KEY) {
                    values[valuesOffset + next] = decode((long) WORD.getAcquire(m, sideValueOffset));
                } else {
                    newTags[n] = next;
                    newLines[n] = homeLine(key);
                    n++;
                }
            }
            p.setBuildCount(n);
            p.issue();
            final int[] tags = p.probeTags();
            final long[] lines = p.probeOffsets();
            final int count = p.probeCount();
            // Up to 64 lookups at a time, without a branch on the outcome (it would mispredict for
            // every key outside its home line); the keys whose line was full without them are
            // marked in a bit mask and sent on after the loop, because a re-queue inside it
            // (it writes the pipeline's arrays) makes the JIT's code for every lookup slower.
            for (int j0 = 0; j0 < count; j0 += 64) {
                int stop = Math.min(count, j0 + 64);
                long missed = LineCompare.VECTOR
                        ? VectorLines.probeRound(m, tags, lines, keys, keysOffset, values, valuesOffset,
                                missing, j0, stop)
                        : probeRound(m, tags, lines, keys, keysOffset, values, valuesOffset, missing, j0, stop);
                for (; missed != 0; missed &= missed - 1) { // increasing j, as requeue() wants
                    int j = j0 + Long.numberOfTrailingZeros(missed);
                    getMiss(p, j, tags[j], keys[keysOffset + tags[j]], values, valuesOffset);
                }
            }
            VarHandle.acquireFence();
            p.endProbe();
        } while (next < length || !p.isEmpty());
        release(p);
    }

    /**
     * One round of {@link #getAll}'s probe for requests {@code [j0, stop)} ({@code stop - j0 <=
     * 64}), scalar ({@link VectorLines#probeRound} is the vector twin): to each key's place in
     * {@code values} the value (a hit), the missing value (no hit and a free slot: absent), or the
     * key itself (no hit, the line full: the key can only be further on; a call in place keeps it
     * for the next round). Without a branch on the outcome: every lookup loads a value word of
     * its line, the key's lane or lane 0 when no key matched ({@code 8 & 7}).
     *
     * @return bit {@code j - j0} set for each request whose line was full without its key
     */
    private static long probeRound(MemorySegment m, int[] tags, long[] lines, long[] keys, int keysOffset,
                                   long[] values, int valuesOffset, long missing, int j0, int stop) {
        long missed = 0;
        for (int j = j0; j < stop; j++) {
            int i = tags[j];
            long base = lines[j];
            long key = keys[keysOffset + i];
            long masks = lineMasks(m, base, key);
            long hit = masks & TableLayout.KEY_LANES;
            long lane = Long.numberOfTrailingZeros(hit | 1L << 8) & 7;
            long value = m.get(KEY_WORD, base + VALUE_OFFSET + (lane << 3)) ^ missing;
            long noHit = (hit - 1) >> 63;                   // all ones without a hit
            long full = ((masks >>> FREE_SHIFT) - 1) >> 63; // all ones without a free slot
            values[valuesOffset + i] = value & ~noHit | (key & full | missing & ~full) & noHit;
            missed |= (noHit & full & 1) << (j - j0);
            // Each look is decided by its own loads, in array order: two lookups of one key in
            // one round answer in that order (a put racing them is seen by the second if by the
            // first). No instruction on x86; it keeps the JIT from moving a later lookup's loads
            // before these (plain loads may be reordered, even of one address). The fence after
            // the round orders them before what follows the call.
            VarHandle.loadLoadFence();
        }
        return missed;
    }

    /**
     * {@link #getAll}'s rare case: request {@code j} (the array index {@code i}) found its line
     * full without its key. Four other keys stay there, so the key can only be further on: the
     * request goes on to the next line in the next round, or, in a table that fits in the cache
     * ({@link #IN_CACHE_BYTES}) or past {@link #MAX_HOPS} lines, the rest of its probe runs here.
     * Either way a later lookup of the same key in this call reads its lines after this one's.
     */
    private void getMiss(BatchPipeline p, int j, int i, long key, long[] values, int valuesOffset) {
        long next = nextLine(p.offset(j));
        if (!inCache && p.hops(j) < MAX_HOPS) {
            p.requeue(j, next);
            return;
        }
        long offset = probe(key, next, false);
        values[valuesOffset + i] = offset < 0 ? missingValue : decode((long) WORD.getAcquire(memory, offset));
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched as {@link #getAll(long[], int, long[], int, int)}, the lines prefetched for
     * writing; each put is linearizable on its own, as {@link #put}. Puts of one key in one call
     * may be write-combined: only the last of them writes, and the earlier ones take effect
     * immediately before it, so no other thread sees their values (it could not tell them from
     * values overwritten at once). On {@link TableFullException} every key that found a slot
     * was put, and {@link TableFullException#notPut()} counts each request of the keys that did not.
     */
    @Override
    public long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        BulkRanges.check(keys, keysOffset, values, valuesOffset, length);
        BulkRanges.checkValues(values, valuesOffset, length, missingValue);
        return putBatched(keys, keysOffset, values, valuesOffset, length, null, false);
    }

    /**
     * {@link #putAll(long[], int, long[], int, int)} with the ranges checked by the caller,
     * adding to {@code claims[0]} the slots it claimed (as {@link #put(long, long, long[])}).
     */
    long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length, long[] claims) {
        return putBatched(keys, keysOffset, values, valuesOffset, length, claims, false);
    }

    /**
     * {@link #putAll} for a caller that is this table's only writer while it runs (the drain-lock
     * holder of a {@link PartitionedLongLongTable} partition): each value word is written with a
     * release store instead of an atomic exchange, which on x86 is a full fence per put. Readers
     * stay safe: a claim is still a CAS of the key word before the value's release store, and a
     * value word is one 64-bit store. Values are not checked (the partitioned table checked them).
     * Adds the slots it claimed to {@code claims[0]} where {@code claims} is not null.
     */
    long putAllExclusive(long[] keys, int keysOffset, long[] values, int valuesOffset, int length,
                         long[] claims) {
        return putBatched(keys, keysOffset, values, valuesOffset, length, claims, true);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched as {@link #getAll(long[], int, long[], int, int)}; each remove is linearizable
     * on its own, as {@link #remove(long)}.
     */
    @Override
    public long removeAll(long[] keys, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, keys.length);
        return batched(REMOVE, keys, offset, 0, null, length);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched as {@link #getAll(long[], int, long[], int, int)}.
     */
    @Override
    public int containsAll(long[] keys, int keysOffset, boolean[] present, int presentOffset, int length) {
        Objects.checkFromIndexSize(keysOffset, length, keys.length);
        Objects.checkFromIndexSize(presentOffset, length, present.length);
        return (int) batched(CONTAINS, keys, keysOffset, presentOffset, present, length);
    }

    /**
     * The engine of the batched puts: as {@link #getAll}'s loop (keys hashed eight at a time,
     * a batch's lines prefetched for writing, the arrays in locals), each key's line read once
     * ({@link #claimLine}): a hit is written, a free slot claimed by CAS and then written, a
     * full line sends the request on; a put that a later one of the call supersedes
     * ({@link #combine}) writes nothing and never enters the batch. Where {@code exclusive}, the
     * caller is the only writer and each value word is written with a release store instead of
     * an exchange.
     */
    private long putBatched(long[] keys, int keysOffset, long[] values, int valuesOffset, int length,
                            long[] claims, boolean exclusive) {
        ensureOpen();
        final MemorySegment m = memory;
        final long missing = missingValue;
        BatchPipeline p = pipeline();
        final int batchSize = p.batch();
        final long[] superseded = combine(keys, keysOffset, length);
        long count = 0;
        long claimed = 0;
        long failed = 0;
        boolean full = false;
        int next = 0;
        try {
            do {
                int n = p.buildCount();
                final int[] newTags = p.buildTags();
                final long[] newLines = p.buildOffsets();
                if (superseded == null) {
                    int end = next + Math.min(length - next, batchSize - n);
                    if (LineCompare.VECTOR) {
                        int done = VectorLines.homeLines(keys, keysOffset + next, end - next, next, hasher, lineMask,
                                newLines, newTags, n);
                        n += done;
                        next += done;
                    }
                    for (; next < end; next++) {
                        long key = keys[keysOffset + next];
                        if (key == EMPTY_KEY) {
                            count += putWord(m, sideValueOffset, values[valuesOffset + next] ^ missing, exclusive);
                        } else {
                            newTags[n] = next;
                            newLines[n] = homeLine(key);
                            n++;
                        }
                    }
                } else {
                    // Superseded puts never enter the batch: each request is written to the next
                    // place and kept (the count moves on) only where no later put of its key
                    // follows, without a branch on it (about half of a skewed call is superseded,
                    // in no order a predictor could learn).
                    for (; next < length && n < batchSize; next++) {
                        long key = keys[keysOffset + next];
                        int live = 1 - (int) (superseded[next >>> 6] >>> next & 1);
                        if (key == EMPTY_KEY) {
                            if (live != 0) {
                                count += putWord(m, sideValueOffset, values[valuesOffset + next] ^ missing, exclusive);
                            }
                        } else {
                            newTags[n] = next;
                            newLines[n] = homeLine(key);
                            n += live;
                        }
                    }
                }
                p.setBuildCount(n);
                p.issue(true);
                final int[] tags = p.probeTags();
                final long[] lines = p.probeOffsets();
                final int probes = p.probeCount();
                for (int j = 0; j < probes; j++) {
                    int i = tags[j];
                    long base = lines[j];
                    long key = keys[keysOffset + i];
                    long offset = LineCompare.VECTOR ? VectorLines.claimLine(m, base, key) : claimLine(m, base, key);
                    if (offset < 0) {
                        try {
                            offset = putMiss(p, j, base, key, offset);
                        } catch (TableFullException e) {
                            failed++;
                            full = true;
                            continue;
                        }
                        if (offset == GO_ON) {
                            continue;
                        }
                    }
                    claimed += offset & CLAIMED;
                    count += putWord(m, offset & ~CLAIMED, values[valuesOffset + i] ^ missing, exclusive);
                }
                p.endProbe();
            } while (next < length || !p.isEmpty());
            release(p);
        } finally {
            size.add(count);
            if (claims != null) {
                claims[0] += claimed;
            }
        }
        if (full) {
            long notPut = failed;
            if (superseded != null) {
                // Combined puts failed with the one that would have written for them: count the
                // requests whose key has no slot. Exact: a key that found no slot had none free
                // on its probe sequence, slots are never freed, and a key once in a slot stays.
                notPut = 0;
                for (int i = 0; i < length; i++) {
                    notPut += findValueOffset(keys[keysOffset + i]) < 0 ? 1 : 0;
                }
            }
            throw new TableFullException(notPut + " of " + length + " keys found no free slot and were not put;"
                    + " the others were. " + fullMessage(), notPut); // the size now counts this call's puts
        }
        return count;
    }

    /** Slots of the direct-mapped table of keys {@link #combine} looks through; a window of keys is as long. */
    private static final int COMBINE_WINDOW = 1024;

    /** Keys of the longest call whose bit set {@link #combine} keeps for the thread's next calls. */
    private static final int COMBINE_KEPT = 1 << 16;

    /** One thread's scratch for {@link #combine}, shared by all tables (as the spare pipeline). */
    private static final class Combining {
        final long[] keys = new long[COMBINE_WINDOW];
        final int[] stamps = new int[COMBINE_WINDOW];
        final long[] kept = new long[COMBINE_KEPT / 64];
        int stamp;

        /** The next window's stamp: a slot holding another stamp is empty. */
        int nextStamp() {
            int s = ++stamp;
            if (s == 0) { // wrapped: no slot may look current
                Arrays.fill(stamps, 0);
                s = stamp = 1;
            }
            return s;
        }

        /**
         * 1 if {@code key} is in the direct-mapped table under {@code stamp}, else 0; either way
         * it is there afterwards (displacing whatever key shared its slot). Without a branch on
         * the answer: a skewed call's keys are seen about half the time, in no order a predictor
         * could learn, and writing a slot that already held the key changes nothing. The answer
         * is arithmetic, not a comparison: C2 compiled {@code stamps[h] == stamp & keys[h] == key}
         * to a conditional jump, which made the pass twice as slow on skewed keys.
         */
        long mark(int stamp, long key) {
            int h = combiningSlot(key);
            long differ = keys[h] ^ key | stamps[h] ^ stamp; // zero only for this key under this stamp
            stamps[h] = stamp;
            keys[h] = key;
            return eq(differ, 0);
        }
    }

    /** The slot of {@code key} in a {@link Combining} table: two keys of one slot are not combined with each other. */
    static int combiningSlot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 54); // 10 bits: COMBINE_WINDOW slots
    }

    private static final ThreadLocal<Combining> COMBINING = ThreadLocal.withInitial(Combining::new);

    /**
     * Write combining for a batched put: null where the call's first {@value #COMBINE_SAMPLE}
     * keys hold no repeat (uniform keys: the look costs a fraction of a nanosecond a key), else
     * a bit set over {@code [0, length)} with bit {@code i} set where a later element of the
     * same window of {@value #COMBINE_WINDOW} puts the same key (found through a direct-mapped
     * table of the window's keys, newest first; a key that loses its slot to another is just not
     * combined). Only the last put of a key writes: the earlier ones linearise immediately before
     * it, with nothing in between (a put's effect is its value word's write). A skewed workload's
     * hot keys would otherwise move their lines between the writers' cores once a put. Valid
     * until the next call on this thread.
     */
    static long[] combine(long[] keys, int keysOffset, int length) {
        Combining c = COMBINING.get();
        if (!repeats(c, keys, keysOffset, Math.min(length, COMBINE_SAMPLE))) {
            return null;
        }
        int words = (length + 63) >>> 6;
        final long[] superseded = length <= COMBINE_KEPT ? c.kept : new long[words];
        // Backwards, a word of 64 bits at a time, gathered in a register: setting each bit in the
        // array would chain every key's store to the next key's load of the same word. Windows
        // are counted from the end, and a new window is a new stamp.
        int stamp = c.nextStamp();
        int windowStop = length - COMBINE_WINDOW;
        for (int w = words - 1; w >= 0; w--) {
            long word = 0;
            int low = w << 6;
            for (int i = Math.min(length, low + 64) - 1; i >= low; i--) {
                if (i < windowStop) {
                    stamp = c.nextStamp();
                    windowStop -= COMBINE_WINDOW;
                }
                word |= c.mark(stamp, keys[keysOffset + i]) << i;
            }
            superseded[w] = word;
        }
        return superseded;
    }

    /** Keys at the head of a call that {@link #combine} looks at first: without a repeat among them it does nothing. */
    private static final int COMBINE_SAMPLE = 64;

    /** Whether a key repeats among {@code keys[keysOffset, keysOffset + count)} (as far as the direct-mapped table sees). */
    private static boolean repeats(Combining c, long[] keys, int keysOffset, int count) {
        int stamp = c.nextStamp();
        for (int i = 0; i < count; i++) {
            if (c.mark(stamp, keys[keysOffset + i]) != 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Writes {@code word} to the value word at {@code offset}: 1 if it held no value. Without a
     * branch on the old word: a skewed call's puts find their key new or present in no order a
     * predictor could learn.
     */
    private static int putWord(MemorySegment m, long offset, long word, boolean exclusive) {
        if (exclusive) {
            long old = (long) WORD.get(m, offset); // plain: no other writer
            WORD.setRelease(m, offset, word);
            return eq(old, NO_VALUE);
        }
        return eq((long) WORD.getAndSet(m, offset, word), NO_VALUE);
    }

    /**
     * {@link #putBatched}'s rare cases for request {@code j} at the line at {@code base}, which
     * {@link #claimLine} answered {@code result}: as {@link #settleClaim}, and a line still full
     * without the key sends the request on to the next line in the next round ({@link #GO_ON}).
     */
    private long putMiss(BatchPipeline p, int j, long base, long key, long result) {
        long offset = settleClaim(base, key, result, p.hops(j));
        if (offset == GO_ON) {
            p.requeue(j, nextLine(base));
        }
        return offset;
    }

    /** Result of {@link #claimLine}: the free slot it tried was claimed by another key first. */
    static final long LOST = -3;

    /**
     * One line of a batched put, from one plain look at it ({@link #lineMasks}; {@link
     * VectorLines#claimLine} is the vector twin): the offset of the key's value word, the key's
     * own slot or the first free one, claimed now by CAS (then with {@link #CLAIMED}); {@link
     * #GO_ON} where the line is full without the key; {@link #LOST} where the CAS lost the slot to
     * another key. Plain loads suffice: a key word seen holding the key holds it for good, a
     * line seen full stays full, and a slot seen free is claimed only by the CAS, which checks.
     */
    private static long claimLine(MemorySegment m, long base, long key) {
        long masks = lineMasks(m, base, key);
        long hit = masks & TableLayout.KEY_LANES;
        if (hit != 0) {
            return hitOffset(base, hit);
        }
        return claimFree(m, base, key, (masks >>> FREE_SHIFT) & TableLayout.KEY_LANES);
    }

    /**
     * Claims the first slot of the key lanes {@code free} of the line at {@code base} for {@code
     * key}: as {@link #claimLine}, for a line without the key.
     */
    static long claimFree(MemorySegment m, long base, long key, long free) {
        if (free == 0) {
            return GO_ON;
        }
        long keyOffset = base + ((long) Long.numberOfTrailingZeros(free) << 3);
        long witness = (long) WORD.compareAndExchange(m, keyOffset, EMPTY_KEY, key);
        if (witness == EMPTY_KEY) {
            return keyOffset + VALUE_OFFSET | CLAIMED;
        }
        return witness == key ? keyOffset + VALUE_OFFSET : LOST;
    }

    private static final int CONTAINS = 0;
    private static final int REMOVE = 1;

    /**
     * The engine of {@link #removeAll} and {@link #containsAll} (getAll and the puts have their
     * own, leaner loops: they are the hot ones): for each key a batched lookup ({@link
     * #findStep}), then {@link #apply}. Argument {@code at} indexes {@code present} (CONTAINS).
     * Returns how many keys were present, and takes the removed ones off the size.
     */
    private long batched(int op, long[] keys, int keysOffset, int at, boolean[] present, int length) {
        ensureOpen();
        BatchPipeline p = pipeline();
        long count = 0;
        int next = 0;
        try {
            do {
                while (next < length && p.hasRoom()) {
                    long key = keys[keysOffset + next];
                    if (key == EMPTY_KEY) {
                        count += apply(op, sideValueOffset, present, at + next);
                    } else {
                        p.add(next, homeLine(key));
                    }
                    next++;
                }
                p.issue();
                for (int j = 0, n = p.probeCount(); j < n; j++) {
                    int i = p.tag(j);
                    long base = p.offset(j);
                    long offset = findStep(base, keys[keysOffset + i], p.hops(j));
                    if (offset == GO_ON) {
                        p.requeue(j, nextLine(base));
                    } else {
                        count += apply(op, offset, present, at + i);
                    }
                }
                p.endProbe();
            } while (next < length || !p.isEmpty());
            release(p);
        } finally {
            if (op == REMOVE) {
                size.add(-count);
            }
        }
        return count;
    }

    /**
     * Applies REMOVE or CONTAINS to the value word at {@code offset} ({@code < 0}: the key is
     * absent); 1 if the key was present.
     */
    private int apply(int op, long offset, boolean[] present, int at) {
        final MemorySegment m = memory;
        boolean counted;
        if (op == REMOVE) {
            counted = offset >= 0 && (long) WORD.getAndSet(m, offset, NO_VALUE) != NO_VALUE;
        } else {
            counted = offset >= 0 && (long) WORD.getAcquire(m, offset) != NO_VALUE;
            present[at] = counted;
        }
        return counted ? 1 : 0;
    }

    /**
     * A new asynchronous session on this table, with this table's batch size: submit requests
     * tagged with ids, collect their results out of order. For one thread at a time.
     */
    @Override
    public LongLongSession session() {
        return newSession();
    }

    /** {@link #session()} as its own type, for the growing table's sessions. */
    TableSession newSession() {
        ensureOpen();
        return new TableSession(this, new BatchPipeline(prefetcher, memory, batch, depth), depth);
    }

    /** The batch size of the bulk calls and sessions. */
    public int batch() {
        return batch;
    }

    /** Batches in flight in the bulk calls and sessions. */
    public int depth() {
        return depth;
    }

    /**
     * How the tables of this JVM compare a line's four keys with the one looked for: {@code
     * vector-512} or {@code vector-256} (the Vector API: run with {@code --add-modules
     * jdk.incubator.vector} on a CPU with 512-bit or 256-bit vectors) or {@code scalar}, with the
     * reason. Chosen once per JVM; the system property {@code hashkernel.lines} ({@code auto},
     * {@code vector}, {@code vector256} or {@code scalar}) forces one. All give the same answers.
     */
    static String lineCompare() {
        return LineCompare.DESCRIPTION;
    }

    /** The prefetch strategy of the bulk calls and sessions. */
    public PrefetchStrategy prefetchStrategy() {
        return prefetcher;
    }

    /**
     * One bulk call's pipeline: this thread's spare one where it has this table's shape (batch,
     * depth, strategy), pointed at this table's memory, else a new one. Give it back with
     * {@link #release} once empty; a call that throws midway drops it. Reusing it saves an
     * allocation of its arrays per call, a noticeable part of a lookup's CPU time in the cache.
     */
    private BatchPipeline pipeline() {
        BatchPipeline[] spare = SPARE_PIPELINE.get();
        BatchPipeline p = spare[0];
        if (p != null && p.batch() == batch && p.depth() == depth && p.strategy() == prefetcher) {
            spare[0] = null;
            p.retarget(memory);
            return p;
        }
        return new BatchPipeline(prefetcher, memory, batch, depth);
    }

    /** Keeps an emptied pipeline as this thread's spare, pointing at no table's memory. */
    private static void release(BatchPipeline p) {
        p.retarget(MemorySegment.NULL);
        SPARE_PIPELINE.get()[0] = p;
    }

    /**
     * Each thread's spare bulk-call pipeline, shared by all tables (a per-table ThreadLocal would
     * keep every table's pipeline alive in every thread that used it).
     */
    private static final ThreadLocal<BatchPipeline[]> SPARE_PIPELINE =
            ThreadLocal.withInitial(() -> new BatchPipeline[1]);

    /** The value word offset of the key {@link TableLayout#EMPTY_KEY}, which lives in the side cell. */
    long sideValueOffset() {
        return sideValueOffset;
    }

    MemorySegment memory() {
        return memory;
    }

    /**
     * A read-only view of the table's memory, for tools that measure it (htbench reads random
     * lines of it as the memory limit beside the table). It becomes inaccessible when the table
     * is closed: a read then throws {@link IllegalStateException}.
     */
    MemorySegment readOnlyMemory() {
        ensureOpen();
        return memory.asReadOnly();
    }

    /** Counts {@code delta} more (or fewer) mappings. */
    void addSize(long delta) {
        size.add(delta);
    }

    /**
     * {@inheritDoc} Never negative: a put and a remove of one key racing each other count their
     * changes one after the other, so the sum can be one below the truth for a moment.
     */
    @Override
    public long size() {
        ensureOpen();
        return Math.max(0, size.sum());
    }

    @Override
    public void forEach(LongLongConsumer action) {
        Objects.requireNonNull(action, "action");
        ensureOpen();
        final MemorySegment m = memory;
        long side = (long) WORD.getAcquire(m, sideValueOffset);
        if (side != NO_VALUE) {
            action.accept(EMPTY_KEY, decode(side));
        }
        long end = capacity << SLOT_SHIFT;
        for (long offset = 0; offset < end; offset += SLOT_BYTES) {
            long key = (long) WORD.getAcquire(m, offset);
            if (key != EMPTY_KEY) {
                long word = (long) WORD.getAcquire(m, offset + VALUE_OFFSET);
                if (word != NO_VALUE) {
                    action.accept(key, decode(word));
                }
            }
        }
    }

    /**
     * Removes every mapping, each as {@link #remove(long)} would (an atomic exchange of its value
     * word), so it is safe while other threads use the table: a mapping made during the call may
     * stay, none is corrupted. Like {@code remove}, it leaves each key in its slot: the keys can be
     * re-put without new slots, but a full table stays full of them (a {@link GrowingLongLongTable}
     * reclaims them).
     */
    @Override
    public void clear() {
        ensureOpen();
        final MemorySegment m = memory;
        long removed = 0;
        long end = capacity << SLOT_SHIFT;
        for (long offset = VALUE_OFFSET; offset < end; offset += SLOT_BYTES) {
            if ((long) WORD.getAcquire(m, offset) != NO_VALUE && (long) WORD.getAndSet(m, offset, NO_VALUE) != NO_VALUE) {
                removed++;
            }
        }
        if ((long) WORD.getAndSet(m, sideValueOffset, NO_VALUE) != NO_VALUE) {
            removed++;
        }
        size.add(-removed);
    }

    /**
     * For memory that held a table of this layout when its process died ({@code
     * io.hashkernel.pm}): makes every slot a state this protocol can produce, then counts the
     * mappings into the size. The caller guarantees that no other thread uses the table yet.
     *
     * <p>A crash may leave the words of unfinished writes in any combination, so two repairs:
     * a value word in a free slot (its key word was lost) is cleared, since a later claim of the
     * slot would otherwise read it as the new key's value; and a key that a lookup cannot reach
     * (a free slot or the same key comes first in its probe sequence, because an earlier key's
     * claim was lost) loses its value word, keeping its key word so that the keys probing past it
     * stay reachable. Both only ever hit writes that were still unfinished, provided a write was
     * made durable together with the key words of its probe sequence. Idempotent.
     *
     * @return how many value words were cleared
     */
    long recoverAdopted() {
        ensureOpen();
        long lines = capacity >>> 2;
        int chunks = (int) Math.max(1, Math.min(1024, lines >>> 14));
        long perChunk = lines / chunks;
        LongAdder cleared = new LongAdder();
        LongAdder mapped = new LongAdder();
        // Chunks in parallel: a repair writes only its own slot's value word, and the probes of
        // other chunks read key words, which no repair writes.
        IntStream.range(0, chunks).parallel().forEach(c -> {
            long[] counts = recoverLines(c * perChunk, c == chunks - 1 ? lines : (c + 1) * perChunk);
            cleared.add(counts[0]);
            mapped.add(counts[1]);
        });
        if (memory.get(KEY_WORD, sideValueOffset) != NO_VALUE) {
            mapped.increment();
        }
        VarHandle.fullFence();
        size.add(mapped.sum() - size.sum());
        return cleared.sum();
    }

    /** {@link #recoverAdopted} of lines {@code [from, to)}: value words cleared, mappings found. */
    private long[] recoverLines(long from, long to) {
        final MemorySegment m = memory;
        long cleared = 0;
        long mapped = 0;
        for (long line = from; line < to; line++) {
            long base = line << LINE_SHIFT;
            for (long offset = base; offset < base + TableLayout.LINE_BYTES; offset += SLOT_BYTES) {
                if (m.get(KEY_WORD, offset + VALUE_OFFSET) == NO_VALUE) {
                    continue;
                }
                long key = m.get(KEY_WORD, offset);
                // A key in its home line is always reached (a line is searched for the key before
                // its free slots count); a key further on is checked with a lookup.
                if (key != EMPTY_KEY && (homeLine(key) == base
                        || probe(key, homeLine(key), false) == offset + VALUE_OFFSET)) {
                    mapped++;
                } else {
                    m.set(KEY_WORD, offset + VALUE_OFFSET, NO_VALUE);
                    cleared++;
                }
            }
        }
        return new long[]{cleared, mapped};
    }

    /**
     * Byte offset of {@code key}'s value word in this table's memory, or -1 where the key has no
     * slot ({@code io.hashkernel.pm} flushes the words a write touched).
     */
    long valueOffset(long key) {
        ensureOpen();
        return findValueOffset(key);
    }

    /** Lines of four slots ({@code capacity / 4}). */
    long lines() {
        return capacity >>> 2;
    }

    /**
     * For a migration: puts the mapped entries of lines {@code [firstLine, firstLine + lineCount)}
     * into {@code to} with its batched, prefetched put ({@link #putAllExclusive} where
     * {@code exclusive}: {@code to} has no other writer), through the caller's buffers of at least
     * {@code 4 × lineCount} longs; and, where {@code firstLine} is 0, the side cell's entry (the
     * key 0). The caller guarantees that no writer is active in this table.
     */
    void copyMappedInto(LineTable to, long firstLine, int lineCount, long[] keys, long[] values,
                        boolean exclusive) {
        int n = mappedEntries(firstLine, lineCount, keys, values);
        if (exclusive) {
            to.putAllExclusive(keys, 0, values, 0, n, null);
        } else {
            to.putAll(keys, 0, values, 0, n);
        }
        if (firstLine == 0 && containsKey(EMPTY_KEY)) {
            to.put(EMPTY_KEY, get(EMPTY_KEY));
        }
    }

    /**
     * For a migration: the mapped entries of lines {@code [firstLine, firstLine + lineCount)}
     * (not the side cell) into {@code keys}/{@code values}, decoded; how many. Free slots and
     * removed keys (a key with no value) are left out: a migration reclaims them. Plain loads:
     * the caller guarantees that no writer is active in this table.
     */
    private int mappedEntries(long firstLine, int lineCount, long[] keys, long[] values) {
        ensureOpen();
        final MemorySegment m = memory;
        final long missing = missingValue;
        int n = 0;
        long end = (firstLine + lineCount) << TableLayout.LINE_SHIFT;
        for (long offset = firstLine << TableLayout.LINE_SHIFT; offset < end; offset += SLOT_BYTES) {
            long key = m.get(KEY_WORD, offset);
            long word = m.get(KEY_WORD, offset + VALUE_OFFSET);
            if (key != EMPTY_KEY && word != NO_VALUE) {
                keys[n] = key;
                values[n++] = word ^ missing;
            }
        }
        return n;
    }

    @Override
    public long capacity() {
        return capacity;
    }

    /** Bytes of memory the table holds: 16 per slot plus one 64-byte side line. */
    @Override
    public long memoryBytes() {
        return TableLayout.bytesFor(capacity);
    }

    /**
     * Bytes of the table's memory backed by huge pages now (pages are backed as they are first
     * written), or -1 where its memory cannot tell.
     */
    @Override
    public long hugePageBytes() {
        return allocation.hugePageBytes();
    }

    /** How the table's memory was obtained, e.g. {@code mmap+madvise(MADV_HUGEPAGE)}. */
    @Override
    public String memoryDescription() {
        return allocation.description();
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            allocation.close();
        }
    }

    @Override
    public String toString() {
        return "LineTable[capacity=" + capacity + (closed ? ", closed]" : ", size=" + Math.max(0, size.sum()) + "]");
    }
}
