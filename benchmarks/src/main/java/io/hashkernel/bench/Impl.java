package io.hashkernel.bench;

import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.table.ConcurrentLongLongTable;
import org.jctools.maps.NonBlockingHashMapLong;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/** The implementations htbench can run, with how to build each for a given number of entries. */
enum Impl {
    /** HashKernel's table through its batched calls ({@code getAll}, {@code putAll}): prefetched batches. */
    HASHKERNEL("hashkernel", 0) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth) {
            return new TableSubject(capacity, batch, depth, true);
        }
    },
    /** HashKernel's table through its synchronous API, one key at a time. */
    HASHKERNEL_UNBATCHED("hashkernel-unbatched", 0) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth) {
            return new TableSubject(capacity, batch, depth, false);
        }
    },
    /** {@code ConcurrentHashMap<Long, Long>}, pre-sized for the entries. */
    CHM("chm", 80) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth) {
            ConcurrentHashMap<Long, Long> map = new ConcurrentHashMap<>(saturatedInt(entries));
            return new HeapSubject() {
                @Override
                public long get(long key) {
                    Long v = map.get(key);
                    return v == null ? Keys.MISSING : v;
                }

                @Override
                public void put(long key, long value) {
                    map.put(key, value);
                }
            };
        }
    },
    /**
     * JCTools {@code NonBlockingHashMapLong<Long>}, pre-sized to twice the entries: it doubles its
     * table once it is half full, and a resize of a table of 10^8 keys with two threads takes
     * many minutes, so this is its best case.
     */
    NBHML("nbhml", 80) {
        @Override
        Subject create(long capacity, long entries, int batch, int depth) {
            NonBlockingHashMapLong<Long> map = new NonBlockingHashMapLong<>(saturatedInt(2 * entries));
            return new HeapSubject() {
                @Override
                public long get(long key) {
                    Long v = map.get(key);
                    return v == null ? Keys.MISSING : v;
                }

                @Override
                public void put(long key, long value) {
                    map.put(key, Long.valueOf(value));
                }
            };
        }
    };

    /** The name on the command line and in reports. */
    final String id;
    /**
     * Heap bytes per entry to expect, pre-sized, with GC headroom left out; 0 for off-heap. Used to
     * skip a peer that cannot fit before it runs out of heap. Measured here: chm about 75, nbhml
     * about 80 (its table stays at most a quarter full).
     */
    final int heapBytesPerEntry;

    Impl(String id, int heapBytesPerEntry) {
        this.id = id;
        this.heapBytesPerEntry = heapBytesPerEntry;
    }

    /**
     * A fresh, empty subject able to hold {@code entries} (the HashKernel table has {@code capacity}
     * slots and prefetches {@code batch} requests at a time, {@code depth} batches ahead).
     */
    abstract Subject create(long capacity, long entries, int batch, int depth);

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

    /** HashKernel's table, used one key at a time or through its batched calls. */
    private static final class TableSubject implements Subject {
        private final ConcurrentLongLongTable table;
        private final boolean batched;

        TableSubject(long capacity, int batch, int depth, boolean batched) {
            this.table = ConcurrentLongLongTable.builder()
                    .capacity(capacity).missingValue(Keys.MISSING).batch(batch).depth(depth).build();
            this.batched = batched;
        }

        @Override
        public long get(long key) {
            return table.get(key);
        }

        @Override
        public void put(long key, long value) {
            table.put(key, value);
        }

        @Override
        public boolean batched() {
            return batched;
        }

        @Override
        public void getAll(long[] keys, long[] values, int n) {
            table.getAll(keys, 0, values, 0, n);
        }

        @Override
        public void putAll(long[] keys, long[] values, int n) {
            table.putAll(keys, 0, values, 0, n);
        }

        @Override
        public long offHeapBytes() {
            return table.memoryBytes();
        }

        @Override
        public String memory() {
            String m = "off-heap, " + table.memoryDescription();
            return batched ? m + ", prefetch " + Prefetchers.describe(table.prefetchStrategy())
                    + ", batch " + table.batch() + (table.depth() > 1 ? ", depth " + table.depth() : "") : m;
        }

        @Override
        public void close() {
            table.close();
        }
    }

    /** A subject whose memory is the Java heap; its size is measured as heap growth. */
    private abstract static class HeapSubject implements Subject {
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
