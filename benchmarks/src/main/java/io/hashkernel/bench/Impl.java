package io.hashkernel.bench;

import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.GrowingLongLongTable;
import io.hashkernel.table.LongLongMap;
import io.hashkernel.table.PartitionedLongLongTable;
import org.jctools.maps.NonBlockingHashMapLong;

import it.unimi.dsi.fastutil.longs.Long2LongOpenHashMap;
import net.openhft.chronicle.map.ChronicleMap;
import org.agrona.collections.Long2LongHashMap;
import org.eclipse.collections.impl.map.mutable.primitive.LongLongHashMap;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.LongUnaryOperator;
import java.util.stream.Collectors;

/** The implementations htbench can run, with how to build each for a given number of entries. */
enum Impl {
    /** HashKernel's table through its batched calls ({@code getAll}, {@code putAll}): prefetched batches. */
    HASHKERNEL("hashkernel", 0, Contract.CONCURRENT, 12) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            return new TableSubject(capacity, batch, depth, true);
        }
    },
    /** HashKernel's table through its synchronous API, one key at a time. */
    HASHKERNEL_UNBATCHED("hashkernel-unbatched", 0, Contract.CONCURRENT, 3) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            return new TableSubject(capacity, batch, depth, false);
        }
    },
    /**
     * HashKernel's partitioned table (DRAMHiT-P): writes sent through SPSC queues to their
     * partition, reads direct (batched: each chunk's keys grouped by partition and looked up with
     * the partitions' prefetched getAll); each worker syncs after its writes. {@code --owners 0}:
     * one partition per worker, drained by the workers themselves (DRAMHiT-P's arrangement);
     * {@code --owners N}: N partitions with an owner thread each, besides the workers.
     */
    HASHKERNEL_PARTITIONED("hashkernel-partitioned", 0, Contract.CONCURRENT, 6) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            return new PartitionedSubject(capacity, owners, threads);
        }
    },
    /**
     * HashKernel's growing table through its batched calls, started at {@code --initial-capacity}
     * slots: it grows (migrating as it goes) to hold the entries.
     */
    HASHKERNEL_GROWING("hashkernel-growing", 0, Contract.CONCURRENT, 8) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads,
                       long initialCapacity) {
            return new GrowingSubject(initialCapacity, batch, depth);
        }
    },
    /** {@code ConcurrentHashMap<Long, Long>}, pre-sized for the entries. */
    CHM("chm", 80, Contract.CONCURRENT, 0.4) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            ConcurrentHashMap<Long, Long> map = new ConcurrentHashMap<>(saturatedInt(entries));
            // Its table array is allocated by the first put: do it now, not inside a measurement.
            map.put(0L, 0L);
            map.remove(0L);
            return new HeapSubject(key -> {
                Long v = map.get(key);
                return v == null ? Keys.MISSING : v;
            }, map::put, map::mappingCount);
        }
    },
    /**
     * JCTools {@code NonBlockingHashMapLong<Long>}, pre-sized to twice the entries: it doubles its
     * table once it is half full, and a resize of a table of 10^8 keys with two threads takes
     * many minutes, so this is its best case.
     */
    NBHML("nbhml", 80, Contract.CONCURRENT, 0.5) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            NonBlockingHashMapLong<Long> map = new NonBlockingHashMapLong<>(saturatedInt(2 * entries));
            return new HeapSubject(key -> {
                Long v = map.get(key);
                return v == null ? Keys.MISSING : v;
            }, (key, value) -> map.put(key, Long.valueOf(value)), map::size);
        }
    },
    /** Agrona {@code Long2LongHashMap} (open addressing, primitive longs): one writer, or readers only. */
    AGRONA("agrona", 48, Contract.SINGLE_WRITER, 2) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            Long2LongHashMap map = new Long2LongHashMap(presize(entries, 0.65f), 0.65f, Keys.MISSING);
            return new HeapSubject(map::get, map::put, map::size);
        }
    },
    /** fastutil {@code Long2LongOpenHashMap}: one writer, or readers only. */
    FASTUTIL("fastutil", 48, Contract.SINGLE_WRITER, 2) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            Long2LongOpenHashMap map = new Long2LongOpenHashMap(saturatedInt(entries), 0.75f);
            map.defaultReturnValue(Keys.MISSING);
            return new HeapSubject(map::get, map::put, map::size);
        }
    },
    /** Eclipse Collections {@code LongLongHashMap}: one writer, or readers only. */
    ECLIPSE("eclipse", 48, Contract.SINGLE_WRITER, 2) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            LongLongHashMap map = new LongLongHashMap(saturatedInt(entries));
            return new HeapSubject(key -> map.getIfAbsent(key, Keys.MISSING), map::put, map::size);
        }
    },
    /**
     * Chronicle Map {@code ChronicleMap<Long, Long>} in off-heap memory (not persisted), sized for
     * the entries. It runs on JDK 25 with the {@code --add-opens} flags of {@link #jvmFlags()}
     * (it reaches into JDK internals and {@code sun.misc.Unsafe}); its usage analytics are switched
     * off, as this machine has no network.
     */
    CHRONICLE("chronicle", 0, Contract.CONCURRENT, 1) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth, int owners, int threads, long initialCapacity) {
            System.setProperty("chronicle.analytics.disable", "true");
            return new ChronicleSubject(entries);
        }

        @Override
        List<String> jvmFlags() {
            return CHRONICLE_FLAGS;
        }
    };

    /** The name on the command line and in reports. */
    final String id;
    /**
     * Heap bytes per entry to expect, pre-sized, with GC headroom left out; 0 for off-heap. Used to
     * skip a peer that cannot fit before it runs out of heap. Measured here: chm about 75, nbhml
     * about 80 (its table stays at most a quarter full); the primitive open-addressing maps 32-43
     * (a power-of-two table below their load factor).
     */
    final int heapBytesPerEntry;

    /** Which threads may call it at once. */
    final Contract contract;

    /**
     * Million entries per second it loads a large table at here (2 cpus; conservative), for the
     * time estimate of a run.
     */
    final double loadMopsEstimate;

    Impl(String id, int heapBytesPerEntry, Contract contract, double loadMopsEstimate) {
        this.id = id;
        this.heapBytesPerEntry = heapBytesPerEntry;
        this.contract = contract;
        this.loadMopsEstimate = loadMopsEstimate;
    }

    /** What a map promises about threads, and so what htbench runs on it. */
    enum Contract {
        /** Any number of threads may read and write at once. */
        CONCURRENT("concurrent"),
        /**
         * One writer, or any number of readers once writing has stopped: loads and writes run on
         * one thread, finds on all.
         */
        SINGLE_WRITER("single-writer");

        /** The name in reports. */
        final String label;

        Contract(String label) {
            this.label = label;
        }
    }

    /** Extra flags its JVM needs (a forked cell adds them). */
    List<String> jvmFlags() {
        return List.of();
    }

    /** Threads that may run a workload that writes, when {@code threads} were asked for. */
    int writerThreads(int threads) {
        return contract == Contract.SINGLE_WRITER ? 1 : threads;
    }

    /** JDK internals Chronicle Map opens at start-up, as its documentation lists them for JDK 17+. */
    private static final List<String> CHRONICLE_FLAGS = List.of(
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-exports=java.base/jdk.internal.util=ALL-UNNAMED",
            "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
            "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
            "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
            "-Dchronicle.analytics.disable=true");

    /**
     * A fresh, empty subject able to hold {@code entries} (the HashKernel table has {@code capacity}
     * slots and prefetches {@code batch} requests at a time, {@code depth} batches ahead; the
     * partitioned one has {@code owners} owner threads, or, with 0, a partition per each of the
     * {@code threads} workers; the growing one starts at {@code initialCapacity} slots).
     */
    abstract Subject create(long capacity, long entries, int batch, int depth, int owners, int threads,
                           long initialCapacity);

    /** Parses a command-line name; the message lists every allowed one. */
    static Impl parse(String id) {
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (Impl impl : values()) {
            if (impl.id.equals(wanted)) {
                return impl;
            }
        }
        throw new IllegalArgumentException("unknown implementation '" + id + "'; choose from: " + allIds());
    }

    static String allIds() {
        return Arrays.stream(values()).map(i -> i.id).collect(Collectors.joining(", "));
    }

    private static int saturatedInt(long n) {
        return (int) Math.min(n, Integer.MAX_VALUE - 8);
    }

    /** An initial capacity that holds {@code entries} below the load factor without a resize. */
    private static int presize(long entries, float loadFactor) {
        return saturatedInt((long) Math.ceil(entries / (double) loadFactor) + 1);
    }

    /**
     * The partitioned table through its asynchronous writes (DRAMHiT-P's messages); they are
     * applied by its owners or its writers, and {@link #sync()} waits for them.
     */
    private static final class PartitionedSubject extends MapSubject<PartitionedLongLongTable> {
        PartitionedSubject(long capacity, int owners, int threads) {
            // Its maximum is its capacity: pre-sized like the plain table (a fill of 0.75 would
            // otherwise start its growth), so the two are compared on the same memory.
            super(PartitionedLongLongTable.builder().capacity(capacity).maxCapacity(capacity)
                    .partitions(owners > 0 ? owners : threads).ownerThreads(owners > 0).missingValue(Keys.MISSING)
                    .maxProducers(1024).preTouch(true).build(), true);
        }

        @Override
        public void put(long key, long value) {
            map.putAsync(key, value);
        }

        @Override
        public void putAll(long[] keys, long[] values, int n) {
            map.putAllAsync(keys, 0, values, 0, n);
        }

        @Override
        public void sync() {
            map.sync();
        }

        @Override
        public long offHeapBytes() {
            return map.memoryBytes();
        }

        @Override
        public long hugePageBytes() {
            return map.hugePageBytes();
        }

        @Override
        public String memory() {
            return "off-heap, " + (map.hasOwnerThreads() ? "with owner threads, " : "drained by the workers, ")
                    + map.memoryDescription() + ", pre-touched";
        }
    }

    /** Chronicle Map, off-heap; its size is what it reports as used off-heap memory. */
    private static final class ChronicleSubject implements Subject {
        private final ChronicleMap<Long, Long> map;

        ChronicleSubject(long entries) {
            this.map = ChronicleMap.of(Long.class, Long.class).name("htbench")
                    .entries(Math.max(1, entries)).create();
        }

        @Override
        public long get(long key) {
            Long v = map.get(key);
            return v == null ? Keys.MISSING : v;
        }

        @Override
        public void put(long key, long value) {
            map.put(key, value);
        }

        @Override
        public long size() {
            return map.longSize();
        }

        @Override
        public long offHeapBytes() {
            return map.offHeapMemoryUsed();
        }

        @Override
        public String memory() {
            return "off-heap (Chronicle Map, in memory)";
        }

        @Override
        public void close() {
            map.close();
        }
    }

    /** A HashKernel map, used one key at a time or through its batched calls. */
    private abstract static class MapSubject<M extends LongLongMap> implements Subject {
        final M map;
        private final boolean batched;

        MapSubject(M map, boolean batched) {
            this.map = map;
            this.batched = batched;
        }

        @Override
        public long get(long key) {
            return map.get(key);
        }

        @Override
        public void put(long key, long value) {
            map.put(key, value);
        }

        @Override
        public boolean batched() {
            return batched;
        }

        @Override
        public void getAll(long[] keys, long[] values, int n) {
            map.getAll(keys, 0, values, 0, n);
        }

        @Override
        public void putAll(long[] keys, long[] values, int n) {
            map.putAll(keys, 0, values, 0, n);
        }

        @Override
        public long size() {
            return map.size();
        }

        @Override
        public void close() {
            map.close();
        }
    }

    /** HashKernel's table, used one key at a time or through its batched calls. */
    private static final class TableSubject extends MapSubject<ConcurrentLongLongTable> {
        TableSubject(long capacity, int batch, int depth, boolean batched) {
            // Pre-touched, as a user filling a table soon builds it: every map's memory is then
            // resident before the clock starts (a heap map's arrays are zeroed by the JVM when
            // allocated); the time it takes is reported as the insert rows' build time.
            super(ConcurrentLongLongTable.builder().capacity(capacity).missingValue(Keys.MISSING).batch(batch)
                    .depth(depth).preTouch(true).build(), batched);
        }

        @Override
        public long hugePageBytes() {
            return map.hugePageBytes();
        }

        @Override
        public long offHeapBytes() {
            return map.memoryBytes();
        }

        @Override
        public java.lang.foreign.MemorySegment limitRegion() {
            return io.hashkernel.table.BenchmarkAccess.readOnlyMemory(map);
        }

        @Override
        public String memory() {
            String m = "off-heap, " + map.memoryDescription() + ", pre-touched";
            return batched() ? m + ", prefetch " + Prefetchers.describe(map.prefetchStrategy())
                    + ", batch " + map.batch() + (map.depth() > 1 ? ", depth " + map.depth() : "") : m;
        }
    }

    /** HashKernel's growing table, through its batched calls. */
    private static final class GrowingSubject extends MapSubject<GrowingLongLongTable> {
        GrowingSubject(long initialCapacity, int batch, int depth) {
            super(GrowingLongLongTable.builder().capacity(initialCapacity).missingValue(Keys.MISSING)
                    .batch(batch).depth(depth).build(), true);
        }

        @Override
        public long hugePageBytes() {
            return map.hugePageBytes();
        }

        @Override
        public long offHeapBytes() {
            return map.memoryBytes();
        }

        @Override
        public String memory() {
            return "off-heap, grown to " + map.capacity() + " slots in " + map.migrations() + " migrations, "
                    + map.memoryDescription();
        }
    }

    /**
     * A subject whose memory is the Java heap (its size is measured as heap growth), seen through
     * its map's own primitive or boxed calls. Each child JVM (and JMH fork) runs one map, so the
     * calls through these functions stay monomorphic and inline.
     */
    private static final class HeapSubject implements Subject {
        /** A map's put of two longs. */
        @FunctionalInterface
        interface Put {
            void put(long key, long value);
        }

        private final LongUnaryOperator get;
        private final Put put;
        private final LongSupplier size;

        HeapSubject(LongUnaryOperator get, Put put, LongSupplier size) {
            this.get = get;
            this.put = put;
            this.size = size;
        }

        @Override
        public long get(long key) {
            return get.applyAsLong(key);
        }

        @Override
        public void put(long key, long value) {
            put.put(key, value);
        }

        @Override
        public long size() {
            return size.getAsLong();
        }

        @Override
        public long offHeapBytes() {
            return -1;
        }

        @Override
        public String memory() {
            return "heap";
        }

        @Override
        public void close() {
            // garbage-collected
        }
    }
}
