package io.hashkernel.table;

import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.prefetch.batch.BatchPipeline;
import io.hashkernel.table.internal.TableInternals;
import io.hashkernel.table.spi.MemoryProvider;

import java.util.Objects;

/**
 * An off-heap, fixed-capacity, lock-free hash map from {@code long} to {@code long} in the style
 * of DRAMHiT: 16-byte slots four to a 64-byte cache line, linear probing line by line, so that a
 * lookup at fill 0.75 touches about 1.3 lines, usually one DRAM miss.
 *
 * <p>Guarantees: every single-key operation is linearizable and lock-free, with reads as
 * acquire loads as in {@link java.util.concurrent.ConcurrentHashMap}: on weakly ordered CPUs two
 * threads that each put one key and then get the other's may both miss (never on x86); every
 * {@code long} is a valid key; values may be anything but the {@linkplain Builder#missingValue missing value}.
 * {@link #size()}, {@link #forEach} and {@link #clear()} are weakly consistent under concurrent
 * updates, never corrupting: {@code size()} is never negative, and {@code clear()} removes each
 * mapping as {@link #remove(long)} would. The table never grows: once every slot holds a key,
 * inserting a new key throws {@link TableFullException}. A removed key keeps its slot (and can be
 * re-put without a new one); so do the keys that {@code clear()} removes: to reclaim slots, use
 * {@link GrowingLongLongTable}, whose migrations leave removed keys behind.
 * After {@link #close()} the memory is released and any use throws {@link IllegalStateException},
 * also from a thread racing with the close: never a crash.
 *
 * <p>The bulk calls ({@link #getAll(long[], int, long[], int, int) getAll}, {@code putAll},
 * {@code removeAll}, {@code containsAll}) and {@linkplain #session() sessions} are batched: the
 * keys' lines are prefetched a batch at a time ({@link Builder#batch}), one batch's misses
 * overlapping the probes of the previous one, so many lookups share the wait for DRAM. Each of
 * their elements is linearizable on its own, as the single call.
 *
 * <pre>{@code
 * try (ConcurrentLongLongTable table = ConcurrentLongLongTable.builder()
 *         .capacity(1 << 20).missingValue(-1).build()) {
 *     table.put(42, 7);
 *     long v = table.get(42); // 7
 * }
 * }</pre>
 */
public final class ConcurrentLongLongTable implements LongLongMap {
    // A facade: the table, its protocol and its implementation notes are in LineTable, the engine
    // that the growing table's segments and the partitioned table's partitions are made of too.

    /** Requests per prefetched batch unless {@link Builder#batch} says otherwise. */
    public static final int DEFAULT_BATCH = 64;
    /** Batches in flight unless {@link Builder#depth} says otherwise. */
    public static final int DEFAULT_DEPTH = 1;

    private final LineTable table;

    static {
        TableInternals.register(new TableInternals.Access() {
            @Override
            public long bytesFor(long capacity) {
                return TableLayout.bytesFor(capacity);
            }

            @Override
            public long roundCapacity(long requested) {
                return TableLayout.roundCapacity(requested);
            }

            @Override
            public TableInternals.Adopted adopt(Builder options, long capacity, long mappings) {
                // Memory that already holds a table is never pre-touched: it is not fresh.
                LineTable engine = options.copy().preTouch(false).engine(capacity, 0);
                try {
                    long repaired = 0;
                    if (mappings < 0) {
                        repaired = engine.recoverAdopted();
                    } else {
                        engine.addSize(mappings);
                    }
                    return new TableInternals.Adopted(new ConcurrentLongLongTable(engine), repaired);
                } catch (RuntimeException | Error e) {
                    engine.close();
                    throw e;
                }
            }

            @Override
            public long homeLine(ConcurrentLongLongTable table, long key) {
                return table.table.homeLine(key);
            }

            @Override
            public long valueOffset(ConcurrentLongLongTable table, long key) {
                return table.table.valueOffset(key);
            }
        });
    }

    private ConcurrentLongLongTable(LineTable table) {
        this.table = table;
    }

    /**
     * A builder with capacity 1024 slots, missing value 0 (so a value of 0 cannot be stored:
     * choose another missing value where 0 is a value) and huge-page-advised memory.
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Configures a table; not thread-safe. The growing and partitioned tables' builders offer the
     * same options under the same names.
     */
    public static final class Builder {
        private long capacity = 1024;
        private long missingValue;
        private MemoryProvider memory = MemoryProvider.hugePageAdvised();
        private boolean seeded;
        private long seed;
        private PrefetchStrategy prefetcher;
        private int batch = DEFAULT_BATCH;
        private int depth = DEFAULT_DEPTH;
        private boolean preTouch;
        private long inCacheBytes = LineTable.IN_CACHE_BYTES;

        private Builder() {
        }

        /**
         * How the batched calls and sessions prefetch; default {@link Prefetchers#selected()}
         * (real prefetch instructions where they can run, else touch loads).
         */
        public Builder prefetch(PrefetchStrategy strategy) {
            this.prefetcher = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /**
         * Requests per prefetched batch in the bulk calls and sessions; default {@value #DEFAULT_BATCH}.
         *
         * @throws IllegalArgumentException if not between 1 and {@value BatchPipeline#MAX_BATCH}
         */
        public Builder batch(int requests) {
            this.batch = BatchPipeline.checkBatch(requests);
            return this;
        }

        /**
         * The number of slots (distinct keys the table can hold), rounded up to a power of two of
         * at least 4. The table takes 16 bytes per slot. Fill it to about 0.75 for short probes.
         *
         * @throws IllegalArgumentException if {@code slots} is not between 1 and 2^58
         */
        public Builder capacity(long slots) {
            TableLayout.roundCapacity(slots);
            this.capacity = slots;
            return this;
        }

        /** The value returned for absent keys, which can therefore not be stored. Default 0. */
        public Builder missingValue(long missingValue) {
            this.missingValue = missingValue;
            return this;
        }

        /** Where the memory comes from; default {@link MemoryProvider#hugePageAdvised()}. */
        public Builder memory(MemoryProvider provider) {
            this.memory = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /**
         * A fixed hash seed, for reproducible layouts. By default each table draws a secret random
         * seed, which is what a table exposed to untrusted keys wants.
         */
        public Builder seed(long seed) {
            this.seeded = true;
            this.seed = seed;
            return this;
        }

        /**
         * Batches in flight in the bulk calls and sessions: a batch is probed this many rounds
         * after its lines were prefetched; default {@value #DEFAULT_DEPTH}.
         *
         * @throws IllegalArgumentException if not between 1 and {@value BatchPipeline#MAX_DEPTH}
         */
        public Builder depth(int batches) {
            this.depth = BatchPipeline.checkDepth(batches);
            return this;
        }

        /**
         * Whether {@link #build()} writes to every page of the table's memory before it returns,
         * from several threads at once (the common fork-join pool), so that the operating system's
         * page faults (and the zeroing of each page) are paid while the table is built rather than
         * by the first writes that reach each page; default {@code false}. What the JVM's
         * {@code -XX:+AlwaysPreTouch} does for the heap: a table that will be filled soon, or
         * whose writes must not wait for the kernel, wants it. The building thread waits for the
         * touch; it takes about as long as zeroing the memory once. The memory stays as the
         * provider handed it over (zero-filled): only its pages are made resident. The pool's
         * threads write it: the provider's memory must be accessible from every thread, as the
         * {@link io.hashkernel.table.spi.TableMemory} contract requires (a confined arena's is not).
         */
        public Builder preTouch(boolean touch) {
            this.preTouch = touch;
            return this;
        }

        /**
         * Allocates the table.
         *
         * @throws IllegalArgumentException if the memory cannot be had; the message says how much
         *                                  was asked and how much is available
         * @throws IllegalStateException    if the system property {@code hashkernel.lines} is not
         *                                  {@code auto}, {@code vector}, {@code vector256} or {@code
         *                                  scalar}, or forces a vector compare where it cannot run
         *                                  (the message says why)
         */
        public ConcurrentLongLongTable build() {
            return new ConcurrentLongLongTable(engine(TableLayout.roundCapacity(capacity), 0));
        }

        /**
         * An engine of {@code slots} (a power of two) with these options; a fixed seed is moved by
         * {@code seedOffset}. How the growing and partitioned tables make their segments and
         * partitions.
         */
        LineTable engine(long slots, long seedOffset) {
            return new LineTable(this, slots, seedOffset);
        }

        /** A copy of these options, which later changes to this builder do not reach. */
        Builder copy() {
            Builder c = new Builder();
            c.capacity = capacity;
            c.missingValue = missingValue;
            c.memory = memory;
            c.seeded = seeded;
            c.seed = seed;
            c.prefetcher = prefetcher;
            c.batch = batch;
            c.depth = depth;
            c.preTouch = preTouch;
            c.inCacheBytes = inCacheBytes;
            return c;
        }

        long missingValue() {
            return missingValue;
        }

        MemoryProvider memory() {
            return memory;
        }

        PrefetchStrategy prefetcher() {
            return prefetcher != null ? prefetcher : Prefetchers.selected();
        }

        int batch() {
            return batch;
        }

        int depth() {
            return depth;
        }

        boolean preTouch() {
            return preTouch;
        }

        /**
         * The largest table whose batched lookups finish a probe past a full home line at once
         * rather than re-queue it ({@link LineTable#IN_CACHE_BYTES}); tests set 0 to have every
         * table re-queue, or a large value to have none do so.
         */
        Builder inCacheBytes(long bytes) {
            this.inCacheBytes = bytes;
            return this;
        }

        long inCacheBytes() {
            return inCacheBytes;
        }

        /** The hash of a table made with these options; a fixed seed moved by {@code seedOffset}. */
        KeyHasher hasher(long seedOffset) {
            return seeded ? KeyHasher.seeded(seed + seedOffset) : KeyHasher.random();
        }
    }

    /** The engine, for the benchmarks' access to its memory and for white-box tests. */
    LineTable engine() {
        return table;
    }

    @Override
    public long missingValue() {
        return table.missingValue();
    }

    @Override
    public long get(long key) {
        return table.get(key);
    }

    @Override
    public boolean containsKey(long key) {
        return table.containsKey(key);
    }

    @Override
    public long put(long key, long value) {
        return table.put(key, value);
    }

    @Override
    public long putIfAbsent(long key, long value) {
        return table.putIfAbsent(key, value);
    }

    @Override
    public long replace(long key, long value) {
        return table.replace(key, value);
    }

    @Override
    public boolean replace(long key, long expectedValue, long newValue) {
        return table.replace(key, expectedValue, newValue);
    }

    @Override
    public long remove(long key) {
        return table.remove(key);
    }

    @Override
    public boolean remove(long key, long expectedValue) {
        return table.remove(key, expectedValue);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched and prefetched; each lookup is linearizable on its own, as {@link #get}.
     */
    @Override
    public void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        table.getAll(keys, keysOffset, values, valuesOffset, length);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched and prefetched; each put is linearizable on its own, as {@link #put}. On
     * {@link TableFullException} every key that found a slot was put.
     */
    @Override
    public long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        return table.putAll(keys, keysOffset, values, valuesOffset, length);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched and prefetched; each remove is linearizable on its own, as {@link #remove(long)}.
     */
    @Override
    public long removeAll(long[] keys, int offset, int length) {
        return table.removeAll(keys, offset, length);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Batched and prefetched, as {@link #getAll(long[], int, long[], int, int)}.
     */
    @Override
    public int containsAll(long[] keys, int keysOffset, boolean[] present, int presentOffset, int length) {
        return table.containsAll(keys, keysOffset, present, presentOffset, length);
    }

    /**
     * A new asynchronous session on this table, with this table's batch size and depth: submit
     * requests tagged with ids, collect their results out of order. For one thread at a time.
     */
    @Override
    public LongLongSession session() {
        return table.session();
    }

    /** The batch size of the bulk calls and sessions. */
    public int batch() {
        return table.batch();
    }

    /** Batches in flight in the bulk calls and sessions. */
    public int depth() {
        return table.depth();
    }

    /** The prefetch strategy of the bulk calls and sessions. */
    public PrefetchStrategy prefetchStrategy() {
        return table.prefetchStrategy();
    }

    /**
     * {@inheritDoc} Never negative: a put and a remove of one key racing each other count their
     * changes one after the other, so the sum can be one below the truth for a moment.
     */
    @Override
    public long size() {
        return table.size();
    }

    @Override
    public void forEach(LongLongConsumer action) {
        table.forEach(action);
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
        table.clear();
    }

    @Override
    public long capacity() {
        return table.capacity();
    }

    /** Bytes of memory the table holds: 16 per slot plus one 64-byte side line. */
    @Override
    public long memoryBytes() {
        return table.memoryBytes();
    }

    /**
     * Bytes of the table's memory backed by huge pages now (pages are backed as they are first
     * written), or -1 where its memory cannot tell.
     */
    @Override
    public long hugePageBytes() {
        return table.hugePageBytes();
    }

    /** How the table's memory was obtained, e.g. {@code mmap+madvise(MADV_HUGEPAGE)}. */
    @Override
    public String memoryDescription() {
        return table.memoryDescription();
    }

    @Override
    public boolean isClosed() {
        return table.isClosed();
    }

    @Override
    public void close() {
        table.close();
    }

    @Override
    public String toString() {
        return "ConcurrentLongLongTable" + table.toString().substring("LineTable".length());
    }
}
