package io.hashkernel.table;

import io.hashkernel.table.internal.TableInternals;
import io.hashkernel.table.spi.MemoryProvider;
import io.hashkernel.table.spi.TableMemory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Adoption of memory that already holds a table, as the persistent backend reopens a file. */
class AdoptedMemoryTest {
    private static final TableInternals.Access TABLES = TableInternals.access();
    private static final ValueLayout.OfLong WORD = ValueLayout.JAVA_LONG;

    private final Arena arena = Arena.ofAuto();
    private final MemorySegment memory = arena.allocate(TABLES.bytesFor(64), 64);

    private ConcurrentLongLongTable.Builder options() {
        TableMemory shared = TableMemory.of(memory, "test", () -> { });
        MemoryProvider provider = (bytes, alignment) -> shared;
        return ConcurrentLongLongTable.builder().capacity(64).missingValue(-1).seed(9).memory(provider);
    }

    @Test
    void aCleanTableIsTakenAsItIs() {
        ConcurrentLongLongTable first = options().build();
        for (long k = 0; k < 40; k++) {
            first.put(k, k * 2);
        }
        TableInternals.Adopted again = TABLES.adopt(options(), 64, -1);
        assertEquals(0, again.repairedValues());
        assertEquals(40, again.table().size());
        for (long k = 0; k < 40; k++) {
            assertEquals(k * 2, again.table().get(k));
        }
        assertEquals(40, TABLES.adopt(options(), 64, 40).table().size(), "a known size is not recounted");
    }

    @Test
    void aValueWithoutItsKeyIsCleared() {
        ConcurrentLongLongTable first = options().build();
        first.put(5, 50);
        long value = TABLES.valueOffset(first, 5);
        // The crash kept the value word of a claim whose key word was lost.
        memory.set(WORD, value - 8, 0L);
        TableInternals.Adopted again = TABLES.adopt(options(), 64, -1);
        assertEquals(1, again.repairedValues());
        assertEquals(0, again.table().size());
        assertEquals(0L, memory.get(WORD, value), "the stray value word is gone");
        again.table().put(77, 1); // a later claim of the slot reads no stale value
        assertEquals(1, again.table().get(77));
    }

    @Test
    void aKeyALookupCannotReachLosesItsValueButKeepsItsSlot() {
        ConcurrentLongLongTable first = options().build();
        // Fill the home line of key a, so that b (same home line) probes into the next line.
        long home = TABLES.homeLine(first, 1000);
        long[] sameLine = new long[5];
        int n = 0;
        for (long k = 1000; n < 5; k++) {
            if (TABLES.homeLine(first, k) == home) {
                sameLine[n++] = k;
            }
        }
        for (long k : sameLine) {
            first.put(k, k);
        }
        long fifth = TABLES.valueOffset(first, sameLine[4]);
        long fourth = TABLES.valueOffset(first, sameLine[3]);
        // The crash lost the fourth key's claim (key word): the fifth, one line on, is unreachable.
        memory.set(WORD, fourth - 8, 0L);
        memory.set(WORD, fourth, 0L);
        TableInternals.Adopted again = TABLES.adopt(options(), 64, -1);
        assertEquals(1, again.repairedValues());
        assertEquals(3, again.table().size());
        assertEquals(sameLine[4], memory.get(WORD, fifth - 8), "the key word stays, so keys beyond it stay reachable");
        assertEquals(0L, memory.get(WORD, fifth));
        assertEquals(-1, again.table().get(sameLine[4]));
        again.table().put(sameLine[4], 9);
        assertEquals(9, again.table().get(sameLine[4]));
        assertEquals(4, again.table().size());
    }
}
