package io.hashkernel.table;

import io.hashkernel.numa.Memory;
import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What is particular to the fixed table beyond the {@link LongLongMapContractTest} contract: every
 * missing value encoding, memory providers, long probes, capacity rounding, full-table and clear
 * behaviour of its slots, and the memory it asks for.
 */
@Tag("lines")
class ConcurrentLongLongTableTest {

    static Stream<MemoryProvider> providers() {
        return Stream.of(MemoryProvider.hugePageAdvised(), MemoryProvider.gcManaged());
    }

    private static ConcurrentLongLongTable table(long capacity, long missing) {
        return ConcurrentLongLongTable.builder().capacity(capacity).missingValue(missing).build();
    }

    @ParameterizedTest
    @ValueSource(longs = {0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 42L})
    void edgeKeysAreOrdinaryKeys(long missing) {
        long[] keys = {0L, 1L, -1L, Long.MIN_VALUE, Long.MAX_VALUE};
        try (ConcurrentLongLongTable t = table(64, missing)) {
            for (long k : keys) {
                assertEquals(missing, t.get(k), "absent key " + k);
                assertFalse(t.containsKey(k));
            }
            long value = missing == 7 ? 8 : 7;
            for (long k : keys) {
                assertEquals(missing, t.put(k, value + k), "first put of " + k);
            }
            for (long k : keys) {
                assertEquals(value + k, t.get(k), "get " + k);
                assertTrue(t.containsKey(k));
            }
            assertEquals(keys.length, t.size());
            for (long k : keys) {
                assertEquals(value + k, t.remove(k));
                assertEquals(missing, t.get(k));
                assertEquals(missing, t.remove(k));
            }
            assertEquals(0, t.size());
            assertTrue(t.isEmpty());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0L, -1L, Long.MIN_VALUE})
    void storingTheMissingValueIsRefusedAndChangesNothing(long missing) {
        try (ConcurrentLongLongTable t = table(16, missing)) {
            t.put(5, 6);
            var e = assertThrows(IllegalArgumentException.class, () -> t.put(5, missing));
            assertTrue(e.getMessage().contains("missingValue"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.putIfAbsent(9, missing));
            assertThrows(IllegalArgumentException.class, () -> t.replace(5, missing));
            assertThrows(IllegalArgumentException.class, () -> t.replace(5, 6, missing));
            assertFalse(t.remove(5, missing));
            assertEquals(6, t.get(5));
            assertFalse(t.containsKey(9));
            assertEquals(1, t.size());
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void manyKeysWithLongProbesAgainstAHashMap(MemoryProvider provider) {
        int capacity = 1 << 12;
        try (ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(capacity)
                .missingValue(Long.MIN_VALUE).memory(provider).seed(1).build()) {
            Map<Long, Long> model = new HashMap<>();
            java.util.SplittableRandom random = new java.util.SplittableRandom(7);
            for (int i = 0; i < capacity * 95 / 100; i++) {
                long k = random.nextLong();
                long v = random.nextLong(Long.MIN_VALUE + 1, Long.MAX_VALUE);
                assertEquals(model.getOrDefault(k, Long.MIN_VALUE), t.put(k, v));
                model.put(k, v);
            }
            assertEquals(model.size(), t.size());
            model.forEach((k, v) -> assertEquals(v, t.get(k)));
            Map<Long, Long> seen = new HashMap<>();
            t.forEach((k, v) -> assertEquals(null, seen.put(k, v), "forEach saw key twice: " + k));
            assertEquals(model, seen);
        }
    }

    @Test
    void sequentialAndStridedKeysStillFit() {
        // Patterned keys must spread over the lines: fill to 0.9 without a full-table failure.
        for (long stride : new long[] {1, 4, 64, 1L << 20, 1L << 32, 1L << 50}) { // n * stride stays below 2^63: distinct keys
            try (ConcurrentLongLongTable t = table(1 << 12, -1)) {
                int n = (1 << 12) * 9 / 10;
                for (long i = 1; i <= n; i++) {
                    t.put(i * stride, i);
                }
                for (long i = 1; i <= n; i++) {
                    assertEquals(i, t.get(i * stride), "stride " + stride);
                }
            }
        }
    }

    @Test
    void aFullTableThrowsAndStaysUsable() {
        try (ConcurrentLongLongTable t = table(16, -1)) {
            for (long k = 1; k <= 16; k++) {
                t.put(k, k);
            }
            TableFullException e = assertThrows(TableFullException.class, () -> t.put(100, 1));
            assertTrue(e.getMessage().contains("16 slots"), e.getMessage());
            assertThrows(TableFullException.class, () -> t.putIfAbsent(100, 1));
            assertEquals(16, t.size());
            assertEquals(3, t.put(3, 30), "existing keys still update");
            assertEquals(30, t.remove(3));
            assertEquals(-1, t.put(3, 31), "a removed key is re-put into its own slot");
            assertEquals(-1, t.get(100));
            assertEquals(-1, t.put(0, 5), "the key 0 lives in the side cell, never full");
            assertEquals(5, t.get(0));
        }
    }

    @Test
    void clearRemovesEveryMappingAndKeepsTheKeysSlots() {
        try (ConcurrentLongLongTable t = table(64, -1)) {
            for (long k = 0; k <= 64; k++) {
                t.put(k, k + 1);                 // all 64 slots, and the side cell (key 0)
            }
            t.clear();
            assertEquals(0, t.size());
            assertTrue(t.isEmpty());
            for (long k = 0; k <= 64; k++) {
                assertFalse(t.containsKey(k));
                assertEquals(-1, t.get(k));
            }
            int[] seen = {0};
            t.forEach((k, v) -> seen[0]++);
            assertEquals(0, seen[0]);
            for (long k = 0; k <= 64; k++) {
                assertEquals(-1, t.put(k, k + 1), "a cleared key is re-put in its slot");
            }
            assertEquals(65, t.size());
            t.clear();
            assertThrows(TableFullException.class, () -> t.put(1000, 1), "the cleared keys keep their slots");
            assertEquals(0, t.size());
        }
    }

    @ParameterizedTest
    @MethodSource("providers")
    void everyUseAfterCloseThrowsIllegalState(MemoryProvider provider) {
        ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(64).memory(provider).build();
        t.put(1, 2);
        t.close();
        t.close(); // idempotent
        assertTrue(t.isClosed());
        assertEquals(64, t.capacity());
        for (org.junit.jupiter.api.function.Executable use : new org.junit.jupiter.api.function.Executable[] {
                () -> t.get(1), () -> t.put(1, 3), () -> t.putIfAbsent(2, 3), () -> t.remove(1),
                () -> t.remove(1, 2), () -> t.replace(1, 3), () -> t.replace(1, 2, 3),
                () -> t.containsKey(1), t::size, t::clear, () -> t.forEach((k, v) -> { })}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, use);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void badCapacityNamesTheRequestAndTheLimit() {
        for (long bad : new long[] {0, -5, (1L << 58) + 1, Long.MAX_VALUE}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> ConcurrentLongLongTable.builder().capacity(bad));
            assertTrue(e.getMessage().contains(Long.toString(bad)) && e.getMessage().contains("2^58"), e.getMessage());
        }
    }

    @Test
    void moreMemoryThanTheMachineHasIsRefusedWithBothFigures() {
        // 2^50 slots = 16 PiB: valid as a capacity, impossible as memory.
        var e = assertThrows(IllegalArgumentException.class,
                () -> ConcurrentLongLongTable.builder().capacity(1L << 50).build());
        assertEquals(IllegalArgumentException.class, e.getClass(), "no other module's exception type reaches users");
        assertTrue(e.getMessage().contains("available") && e.getMessage().contains("cannot allocate"), e.getMessage());
    }

    @Test
    void capacityRoundsUpToAPowerOfTwoOfAtLeastOneLine() {
        assertEquals(4, TableLayout.roundCapacity(1));
        assertEquals(4, TableLayout.roundCapacity(4));
        assertEquals(8, TableLayout.roundCapacity(5));
        assertEquals(1024, TableLayout.roundCapacity(1000));
        assertEquals(1L << 58, TableLayout.roundCapacity(1L << 58));
        try (ConcurrentLongLongTable t = table(1000, 0)) {
            assertEquals(1024, t.capacity());
            assertEquals(1024 * 16 + 64, t.memoryBytes());
        }
    }

    @Test
    void largeTablesGetHugePageAdvisedMemoryInterleavedOverTheNodes() {
        try (ConcurrentLongLongTable t = table(1 << 20, 0)) {
            if (Memory.activeMechanism().startsWith("mmap")) {
                assertEquals("mmap+madvise(MADV_HUGEPAGE), interleave "
                        + io.hashkernel.numa.Topology.read().memoryNodes() + " (applied)", t.memoryDescription());
                t.put(1, 2);
                assertTrue(t.hugePageBytes() >= 0 && t.hugePageBytes() <= t.memoryBytes(), "" + t.hugePageBytes());
            } else {
                assertTrue(t.memoryDescription().startsWith("Arena"), t.memoryDescription());
            }
        }
    }
    @Test
    void aPreTouchedTableIsResidentWhenBuiltAndStartsEmpty() throws java.io.IOException {
        long slots = 1 << 22; // 64 MiB
        try (ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(slots).missingValue(-1)
                .preTouch(true).build()) {
            if (Memory.activeMechanism().startsWith("mmap") && java.nio.file.Files.exists(SMAPS)) {
                long address = t.engine().memory().address();
                long resident = residentBytes(address, address + t.memoryBytes());
                assertTrue(resident >= t.memoryBytes() - 4096,
                        "resident " + resident + " of " + t.memoryBytes() + " bytes right after build()");
            }
            assertEquals(0, t.size());
            long[] keys = {0, 1, -1, 12345, Long.MIN_VALUE};
            long[] out = new long[keys.length];
            t.getAll(keys, out);
            for (long v : out) {
                assertEquals(-1, v, "a pre-touched table holds nothing");
            }
            assertEquals(keys.length, t.putAll(keys, new long[]{1, 2, 3, 4, 5}));
            assertEquals(4, t.get(12345));
        }
        try (GrowingLongLongTable g = GrowingLongLongTable.builder().capacity(1024).preTouch(true).build();
             PartitionedLongLongTable p = PartitionedLongLongTable.builder().capacity(4096).partitions(2)
                     .ownerThreads(false).preTouch(true).build()) {
            for (long k = 1; k <= 5000; k++) {
                g.put(k, k);
            }
            assertEquals(5000, g.size());
            assertEquals(77, g.get(77));
            p.put(9, 10);
            assertEquals(10, p.get(9));
        }
    }

    private static final java.nio.file.Path SMAPS = java.nio.file.Path.of("/proc/self/smaps");

    /** Resident bytes of the mappings overlapping {@code [from, to)}, prorated where a mapping extends beyond it. */
    private static long residentBytes(long from, long to) throws java.io.IOException {
        long resident = 0;
        long start = 0;
        long end = 0;
        for (String line : java.nio.file.Files.readAllLines(SMAPS)) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
            } else if (line.startsWith("Rss:") && end > from && start < to) {
                long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                long overlap = Math.min(end, to) - Math.max(start, from);
                resident += Math.min(kb * 1024, overlap);
            }
        }
        return resident;
    }
}
