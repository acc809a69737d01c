package io.hashkernel.table;

import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bulk calls against the loop of single calls they are defined as, with each prefetch
 * strategy forced by its system property, batch sizes 1..64 (odd sizes and non-multiples of the
 * batch too), duplicate and absent keys, and tables full enough that probes cross lines (and go
 * past the re-queue limit).
 */
@Tag("lines")
class BatchedApiTest {
    static final long MISSING = -7;

    static boolean nativeAvailable() {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    /** A table whose prefetch strategy is chosen by the system property, as a user would force it. */
    static ConcurrentLongLongTable table(String strategy, long capacity, int batch, int depth, long seed) {
        return table(strategy, capacity, batch, depth, seed, LineTable.IN_CACHE_BYTES);
    }

    /** As above, with the size up to which lookups past a full home line finish at once instead of re-queueing. */
    static ConcurrentLongLongTable table(String strategy, long capacity, int batch, int depth, long seed,
                                         long inCacheBytes) {
        Assumptions.assumeTrue(!strategy.equals("native") || nativeAvailable(), "no native prefetch here");
        String old = System.getProperty(Prefetchers.PROPERTY);
        System.setProperty(Prefetchers.PROPERTY, strategy);
        try {
            ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(capacity).missingValue(MISSING)
                    .batch(batch).depth(depth).seed(seed).inCacheBytes(inCacheBytes).build();
            assertEquals(strategy.equals("native") ? "native-x86_64" : "touch", t.prefetchStrategy().name());
            return t;
        } finally {
            if (old == null) {
                System.clearProperty(Prefetchers.PROPERTY);
            } else {
                System.setProperty(Prefetchers.PROPERTY, old);
            }
        }
    }

    static Stream<Arguments> configurations() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String s : new String[]{"native", "touch"}) {
            for (int batch : new int[]{1, 2, 3, 5, 8, 16, 17, 31, 64}) {
                b.add(Arguments.of(s, batch, batch % 3 == 2 ? 2 : 1));
            }
        }
        return b.build();
    }

    /** Keys: a random pool with the edge keys; lookups draw from it and from keys never put. */
    static long[] keyPool(SplittableRandom r, int n) {
        long[] pool = new long[n];
        for (int i = 0; i < n; i++) {
            pool[i] = r.nextLong();
        }
        pool[0] = 0;
        pool[1] = Long.MIN_VALUE;
        pool[2] = Long.MAX_VALUE;
        pool[3] = -1;
        return pool;
    }

    /** Keys from the pool, with one in five never put ({@code fresh}) where asked for. */
    static long[] draw(SplittableRandom r, long[] pool, int length, boolean fresh) {
        long[] keys = new long[length];
        for (int i = 0; i < length; i++) {
            keys[i] = fresh && r.nextInt(5) == 0 ? r.nextLong() : pool[r.nextInt(pool.length)];
        }
        if (length > 3) {
            keys[length - 1] = keys[0]; // a duplicate inside the batch
        }
        return keys;
    }

    @ParameterizedTest(name = "{0} batch {1} depth {2}")
    @MethodSource("configurations")
    void lookupsEqualTheLoopOfSingleLookups(String strategy, int batch, int depth) {
        SplittableRandom r = new SplittableRandom(batch * 1000L + depth);
        // 64 slots (16 lines) filled to 0.9, and 1024 slots filled to 0.99: many probes cross
        // lines, some past the re-queue limit. Each shape twice: as a table in the cache, whose
        // lookups past a full home line finish at once, and as one that re-queues them.
        for (int run = 0; run < 4; run++) {
            int[] shape = run % 2 == 0 ? new int[]{64, 57} : new int[]{1024, 1013};
            long inCache = run < 2 ? LineTable.IN_CACHE_BYTES : 0;
            try (ConcurrentLongLongTable t = table(strategy, shape[0], batch, depth, r.nextLong(), inCache)) {
                long[] pool = keyPool(r, shape[1]);
                for (long k : pool) {
                    // A value unlike its key: a full line leaves the key in a lookup's place until
                    // the probe that goes on writes the value there.
                    long v = k ^ 0x5DEECE66DL;
                    t.put(k, v == MISSING ? 1 : v);
                }
                for (int i = 0; i < pool.length; i += 3) {
                    t.remove(pool[i]); // removed keys keep their slot and read as absent
                }
                for (int length : new int[]{0, 1, batch - 1, batch, batch + 1, 3 * batch + 2, 200}) {
                    if (length < 0) {
                        continue;
                    }
                    long[] keys = draw(r, pool, length, true);
                    long[] expected = new long[length];
                    boolean[] expectedPresent = new boolean[length];
                    int present = 0;
                    for (int i = 0; i < length; i++) {
                        expected[i] = t.get(keys[i]);
                        expectedPresent[i] = t.containsKey(keys[i]);
                        present += expectedPresent[i] ? 1 : 0;
                    }
                    long[] values = new long[length];
                    t.getAll(keys, values);
                    assertArrayEquals(expected, values, "getAll, length " + length + ", in-cache limit " + inCache);

                    boolean[] flags = new boolean[length];
                    assertEquals(present, t.containsAll(keys, flags));
                    assertArrayEquals(expectedPresent, flags, "containsAll, length " + length);

                    // offset forms: the middle of larger arrays, the rest untouched
                    long[] wide = new long[length + 7];
                    System.arraycopy(keys, 0, wide, 3, length);
                    long[] out = new long[length + 5];
                    java.util.Arrays.fill(out, 99);
                    t.getAll(wide, 3, out, 2, length);
                    for (int i = 0; i < length; i++) {
                        assertEquals(expected[i], out[2 + i]);
                    }
                    assertEquals(99, out[0]);
                    assertEquals(99, out[1]);
                    assertEquals(99, out[length + 2]);

                    // in place: the keys array receives the values
                    long[] inPlace = keys.clone();
                    t.getAll(inPlace, inPlace);
                    assertArrayEquals(expected, inPlace, "in place");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} batch {1} depth {2}")
    @MethodSource("configurations")
    void updatesEqualTheLoopOfSingleUpdates(String strategy, int batch, int depth) {
        SplittableRandom r = new SplittableRandom(batch * 7919L + depth);
        long seed = r.nextLong();
        try (ConcurrentLongLongTable batched = table(strategy, 256, batch, depth, seed);
             ConcurrentLongLongTable single = table(strategy, 256, batch, depth, seed)) {
            long[] pool = keyPool(r, 230);
            for (int round = 0; round < 40; round++) {
                int length = r.nextInt(3 * batch + 5);
                // Puts only of pool keys (fewer than the slots: a removed key keeps its slot, so
                // fresh keys would fill the table); removes of absent keys too.
                boolean put = r.nextBoolean();
                long[] keys = draw(r, pool, length, !put);
                if (put) {
                    long[] values = new long[length];
                    long expectedAdded = 0;
                    for (int i = 0; i < length; i++) {
                        values[i] = r.nextLong();
                        if (values[i] == MISSING) {
                            values[i] = 0;
                        }
                        expectedAdded += single.put(keys[i], values[i]) == MISSING ? 1 : 0;
                    }
                    assertEquals(expectedAdded, batched.putAll(keys, values), "new keys of putAll");
                } else {
                    long expectedRemoved = 0;
                    for (long k : keys) {
                        expectedRemoved += single.remove(k) != MISSING ? 1 : 0;
                    }
                    assertEquals(expectedRemoved, batched.removeAll(keys), "removed by removeAll");
                }
                assertEquals(contents(single), contents(batched), "after round " + round);
                assertEquals(single.size(), batched.size());
            }
        }
    }

    static Map<Long, Long> contents(ConcurrentLongLongTable t) {
        Map<Long, Long> m = new HashMap<>();
        t.forEach(m::put);
        return m;
    }

    /**
     * Key 0 lives in the side cell, not a line: the batched lookup hashes eight keys at a time
     * with the vector compare and leaves a group that holds key 0 to the scalar loop. Key 0 at
     * the start, inside and at the end of groups of eight, with tails of every length.
     */
    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void keyZeroAnywhereInABatchReadsTheSideCell(String strategy) {
        SplittableRandom r = new SplittableRandom(11);
        try (ConcurrentLongLongTable t = table(strategy, 4096, 64, 1, 5)) {
            long[] pool = keyPool(r, 2000);
            for (long k : pool) {
                t.put(k, k == MISSING ? 1 : k ^ 0x5555);
            }
            for (int length = 1; length <= 150; length += 7) {
                for (int zeroAt : new int[]{0, 7, 8, 9, length / 2, length - 1}) {
                    if (zeroAt >= length) {
                        continue;
                    }
                    long[] keys = draw(r, pool, length, true);
                    keys[zeroAt] = 0;
                    long[] expected = new long[length];
                    for (int i = 0; i < length; i++) {
                        expected[i] = t.get(keys[i]);
                    }
                    long[] values = new long[length];
                    t.getAll(keys, values);
                    assertArrayEquals(expected, values, "length " + length + ", key 0 at " + zeroAt);
                    assertEquals(0 ^ 0x5555, values[zeroAt]);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void aPutAllIntoAFullTablePutsWhatFitsAndSaysHowManyDidNot(String strategy) {
        try (ConcurrentLongLongTable t = table(strategy, 8, 4, 1, 3)) {
            long[] keys = new long[12];
            long[] values = new long[12];
            for (int i = 0; i < 12; i++) {
                keys[i] = i + 1;
                values[i] = 100 + i;
            }
            TableFullException e = assertThrows(TableFullException.class, () -> t.putAll(keys, values));
            assertTrue(e.getMessage().contains("4 of 12 keys found no free slot"), e.getMessage());
            assertEquals(8, t.size());
            int found = 0;
            long stored = 0;
            for (int i = 0; i < 12; i++) {
                long v = t.get(keys[i]);
                if (v != MISSING) {
                    assertEquals(values[i], v);
                    found++;
                    stored = keys[i];
                }
            }
            assertEquals(8, found);
            // existing keys still update in bulk, the later of two puts winning
            assertEquals(0, t.putAll(new long[]{stored, stored}, new long[]{5, 6}));
            assertEquals(6, t.get(stored));
        }
    }

    /**
     * Calls whose keys repeat (a few hot keys among fresh ones, as a skewed workload sends) are
     * write-combined: only the last put of a key in a window writes. What a user sees stays the
     * loop of single puts: the count of new keys, the final values, the size; across the
     * combining windows (1024 keys) and past the longest call whose bit set is kept (65,536).
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 63, 64, 65, 1023, 1024, 1025, 3000, 70_000})
    void putsOfRepeatedKeysEqualTheLoopOfSinglePuts(int length) {
        SplittableRandom r = new SplittableRandom(length);
        try (ConcurrentLongLongTable batched = table("native", 1 << 18, 64, 1, 9);
             ConcurrentLongLongTable single = table("native", 1 << 18, 64, 1, 9)) {
            long[] hot = {7, 8, 9, 0, Long.MIN_VALUE};
            for (int round = 0; round < 3; round++) {
                long[] keys = new long[length];
                long[] values = new long[length];
                long expectedAdded = 0;
                for (int i = 0; i < length; i++) {
                    keys[i] = r.nextInt(3) == 0 ? r.nextLong() : hot[r.nextInt(hot.length)];
                    values[i] = r.nextLong() | 1; // never the missing value (-1 is odd, so pick again)
                    if (values[i] == MISSING) {
                        values[i] = 3;
                    }
                    expectedAdded += single.put(keys[i], values[i]) == MISSING ? 1 : 0;
                }
                assertEquals(expectedAdded, batched.putAll(keys, values), "new keys, round " + round);
                assertEquals(contents(single), contents(batched), "round " + round);
                assertEquals(single.size(), batched.size());
            }
        }
    }

    /** A full table refusing repeated keys counts every request it could not put, repeats included. */
    @Test
    void aFullTableCountsEveryRefusedRequestOfRepeatedKeys() {
        try (ConcurrentLongLongTable t = table("native", 8, 4, 1, 3)) {
            for (long k = 1; k <= 8; k++) {
                t.put(k, k);
            }
            // 20 requests: 10 of key 100 and 10 of key 200 (neither fits), with 1 and 2 among them
            long[] keys = new long[24];
            long[] values = new long[24];
            for (int i = 0; i < 20; i++) {
                keys[i] = i % 2 == 0 ? 100 : 200;
                values[i] = i;
            }
            keys[20] = 1;
            keys[21] = 2;
            keys[22] = 1;
            keys[23] = 2;
            values[20] = 21;
            values[21] = 22;
            values[22] = 23;
            values[23] = 24;
            TableFullException e = assertThrows(TableFullException.class, () -> t.putAll(keys, values));
            assertEquals(20, e.notPut(), e.getMessage());
            assertTrue(e.getMessage().startsWith("20 of 24 keys"), e.getMessage());
            assertEquals(23, t.get(1));
            assertEquals(24, t.get(2));
            assertEquals(8, t.size());
        }
    }

    /**
     * Each thread keeps one spare pipeline for its bulk calls and points it at whichever table
     * calls next: tables of different shapes alternating on one thread, and a call that failed
     * midway (its table closed), leave every later call's results right.
     */
    @Test
    void bulkCallsOfSeveralTablesOnOneThreadShareASparePipelineSafely() {
        ConcurrentLongLongTable a = ConcurrentLongLongTable.builder().capacity(1024).missingValue(MISSING).build();
        ConcurrentLongLongTable b = ConcurrentLongLongTable.builder().capacity(1024).missingValue(MISSING).batch(8)
                .build();
        ConcurrentLongLongTable c = ConcurrentLongLongTable.builder().capacity(1024).missingValue(MISSING).build();
        try (a; b; c) {
            long[] keys = new long[300];
            long[] values = new long[300];
            for (int i = 0; i < keys.length; i++) {
                keys[i] = i * 7919L + 1;
                values[i] = i;
            }
            for (int round = 0; round < 3; round++) {
                a.putAll(keys, values);
                for (int i = 0; i < values.length; i++) {
                    values[i] += 1000;
                }
                b.putAll(keys, values);
                for (int i = 0; i < values.length; i++) {
                    values[i] += 1000;
                }
                c.putAll(keys, values);
            }
            c.close();
            long[] got = new long[keys.length];
            assertThrows(IllegalStateException.class, () -> c.getAll(keys, got));
            a.getAll(keys, got);
            for (int i = 0; i < keys.length; i++) {
                assertEquals(i + 4000, got[i], "table a, key " + i);
            }
            b.getAll(keys, got);
            for (int i = 0; i < keys.length; i++) {
                assertEquals(i + 5000, got[i], "table b, key " + i);
            }
            assertEquals(keys.length, a.removeAll(keys));
            a.getAll(keys, got);
            for (long v : got) {
                assertEquals(MISSING, v);
            }
        }
    }

    @Test
    void theReadOnlyViewOfItsMemoryReadsTheTableAndEndsWithIt() {
        ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(64).missingValue(MISSING).build();
        t.put(5, 6);
        java.lang.foreign.MemorySegment view = t.engine().readOnlyMemory();
        assertTrue(view.isReadOnly());
        assertEquals(t.memoryBytes(), view.byteSize());
        boolean found = false;
        for (long o = 0; o + 16 <= view.byteSize(); o += 16) {
            found |= view.get(java.lang.foreign.ValueLayout.JAVA_LONG, o) == 5;
        }
        assertTrue(found, "the key is in the memory it shows");
        assertThrows(IllegalArgumentException.class, () -> view.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1));
        t.close();
        assertThrows(IllegalStateException.class, () -> view.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> t.engine().readOnlyMemory());
    }

    @Test
    void badArgumentsAreRefusedBeforeAnythingHappens() {
        ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(64).missingValue(MISSING)
                .memory(MemoryProvider.gcManaged()).build();
        try {
            long[] keys = {1, 2, 3, 4};
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> t.putAll(keys, new long[]{10, 20, MISSING, 40}));
            assertTrue(missing.getMessage().contains("values[2]"), missing.getMessage());
            assertEquals(0, t.size(), "nothing was put");

            long[] shared = new long[8];
            IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class,
                    () -> t.getAll(shared, 0, shared, 2, 4));
            assertTrue(overlap.getMessage().contains("overlap"), overlap.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> t.getAll(keys, new long[3]));
            assertThrows(IndexOutOfBoundsException.class, () -> t.getAll(keys, 2, new long[4], 0, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> t.removeAll(keys, -1, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> t.containsAll(keys, new boolean[2]));
            assertThrows(IllegalArgumentException.class, () -> ConcurrentLongLongTable.builder().batch(0));
            assertThrows(IllegalArgumentException.class, () -> ConcurrentLongLongTable.builder().depth(9));
            t.close();
            assertThrows(IllegalStateException.class, () -> t.getAll(keys, new long[4]));
            assertThrows(IllegalStateException.class, () -> t.putAll(keys, new long[]{1, 2, 3, 4}));
            assertThrows(IllegalStateException.class, () -> t.removeAll(keys));
            assertThrows(IllegalStateException.class, () -> t.containsAll(keys, new boolean[4]));
            assertThrows(IllegalStateException.class, t::session);
        } finally {
            t.close();
        }
    }

    @Test
    void theDefaultLoopsOfTheInterfaceAgreeWithTheBatchedOverrides() {
        ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(128).missingValue(MISSING).build();
        try {
            LongLongMap loop = new LongLongMap() {
                // Only the single calls are delegated: the bulk calls run the interface's loops.
                @Override public long missingValue() { return t.missingValue(); }
                @Override public long get(long key) { return t.get(key); }
                @Override public boolean containsKey(long key) { return t.containsKey(key); }
                @Override public long put(long key, long value) { return t.put(key, value); }
                @Override public long putIfAbsent(long key, long value) { return t.putIfAbsent(key, value); }
                @Override public long replace(long key, long value) { return t.replace(key, value); }
                @Override public boolean replace(long key, long e, long v) { return t.replace(key, e, v); }
                @Override public long remove(long key) { return t.remove(key); }
                @Override public boolean remove(long key, long e) { return t.remove(key, e); }
                @Override public long size() { return t.size(); }
                @Override public void forEach(LongLongConsumer action) { t.forEach(action); }
                @Override public void clear() { t.clear(); }
                @Override public long capacity() { return t.capacity(); }
                @Override public LongLongSession session() { return t.session(); }
                @Override public long memoryBytes() { return t.memoryBytes(); }
                @Override public long hugePageBytes() { return t.hugePageBytes(); }
                @Override public String memoryDescription() { return t.memoryDescription(); }
                @Override public boolean isClosed() { return t.isClosed(); }
                @Override public void close() { t.close(); }
            };
            long[] keys = {5, 6, 5, 0, 9};
            assertEquals(4, loop.putAll(keys, new long[]{1, 2, 3, 4, 5}), "5, 6, 0 and 9 are new");
            long[] a = new long[5];
            long[] b = new long[5];
            loop.getAll(keys, a);
            t.getAll(keys, b);
            assertArrayEquals(a, b);
            assertArrayEquals(new long[]{3, 2, 3, 4, 5}, a);
            boolean[] present = new boolean[5];
            assertEquals(5, loop.containsAll(keys, present));
            assertEquals(4, loop.removeAll(keys));
            assertFalse(t.containsKey(5));
            assertThrows(IllegalArgumentException.class, () -> loop.putAll(keys, new long[]{1, MISSING, 1, 1, 1}));
        } finally {
            t.close();
        }
    }
}
