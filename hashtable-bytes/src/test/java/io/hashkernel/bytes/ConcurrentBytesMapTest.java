package io.hashkernel.bytes;

import io.hashkernel.table.TableFullException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConcurrentBytesMapTest {

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A hash with four values: every key collides with a quarter of the others. */
    static final KeyHash FOUR = (key, seed) -> key.byteSize() == 0 ? 0 : key.get(ValueLayout.JAVA_BYTE, key.byteSize() - 1) & 3;

    @Test
    void putGetRemoveAnswerAsAMapDoes() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().build()) {
            assertNull(map.get(b("a")));
            assertNull(map.put(b("a"), b("1")));
            assertArrayEquals(b("1"), map.put(b("a"), b("22")));
            assertArrayEquals(b("22"), map.get(b("a")));
            assertArrayEquals(b("22"), map.putIfAbsent(b("a"), b("3")));
            assertNull(map.putIfAbsent(b("b"), b("")));
            assertArrayEquals(new byte[0], map.get(b("b")));
            assertTrue(map.containsKey(b("b")));
            assertEquals(2, map.size());
            assertFalse(map.set(b("b"), b("x")));
            assertTrue(map.set(b(""), b("empty key")));
            assertArrayEquals(b("empty key"), map.get(new byte[0]));
            assertArrayEquals(b("22"), map.remove(b("a")));
            assertNull(map.remove(b("a")));
            assertNull(map.get(b("a")));
            assertFalse(map.containsKey(b("a")));
            assertEquals(2, map.size());
        }
    }

    @Test
    void theCallersArraysAreCopiedInAndOut() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().build()) {
            byte[] key = b("key");
            byte[] value = b("value");
            map.put(key, value);
            key[0] = 'X';
            value[0] = 'X';
            byte[] got = map.get(b("key"));
            assertArrayEquals(b("value"), got);
            got[0] = 'Y';
            assertArrayEquals(b("value"), map.get(b("key")));
            assertNull(map.get(key));
        }
    }

    @Test
    void segmentsAreReadInPlaceAndValuesCopiedIntoOnes() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().build(); Arena arena = Arena.ofConfined()) {
            MemorySegment key = arena.allocateFrom("native key");
            MemorySegment value = arena.allocate(300);
            for (int i = 0; i < 300; i++) {
                value.set(ValueLayout.JAVA_BYTE, i, (byte) i);
            }
            assertNull(map.put(key, value));
            byte[] expected = value.toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(expected, map.get(key.toArray(ValueLayout.JAVA_BYTE)));
            assertArrayEquals(expected, map.get(key));
            MemorySegment into = arena.allocate(400).fill((byte) 7);
            assertEquals(300, map.get(key, into));
            assertArrayEquals(expected, into.asSlice(0, 300).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(7, into.get(ValueLayout.JAVA_BYTE, 300));
            MemorySegment small = arena.allocate(10).fill((byte) 9);
            assertEquals(300, map.get(key, small), "the length, so the caller can ask again");
            assertEquals(9, small.get(ValueLayout.JAVA_BYTE, 0), "nothing copied where it does not fit");
            assertEquals(-1, map.get(arena.allocateFrom("absent"), into));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> map.get(key, into.asReadOnly()));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        }
    }

    @Test
    void badInputIsRefusedWithAClearMessage() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().build()) {
            assertEquals("key", assertThrows(NullPointerException.class, () -> map.put(null, b("v"))).getMessage());
            assertEquals("value", assertThrows(NullPointerException.class, () -> map.put(b("k"), null)).getMessage());
            assertEquals("key", assertThrows(NullPointerException.class, () -> map.get((byte[]) null)).getMessage());
            assertThrows(IllegalArgumentException.class, () -> map.getAll(new byte[2][], new byte[3][]));
            NullPointerException npe = assertThrows(NullPointerException.class,
                    () -> map.getAll(new byte[][]{b("a"), null}, new byte[2][]));
            assertEquals("keys[1] is null", npe.getMessage());
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                    () -> map.put(MemorySegment.ofArray(new byte[8]), MemorySegment.NULL.reinterpret(Integer.MAX_VALUE + 1L)));
            assertTrue(big.getMessage().contains("too large"), big.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ConcurrentBytesMap.builder().slabBytes(100));
        assertThrows(IllegalArgumentException.class, () -> ConcurrentBytesMap.builder().compactBelow(1.5));
        assertThrows(IllegalArgumentException.class, () -> ConcurrentBytesMap.builder().maxBytes(0));
        IllegalArgumentException below = assertThrows(IllegalArgumentException.class,
                () -> ConcurrentBytesMap.builder().slabBytes(8192).maxBytes(4096).build());
        assertTrue(below.getMessage().contains("below one slab"), below.getMessage());
    }

    @Test
    void theMemoryLimitRefusesAWriteAndKeepsEverythingElse() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().slabBytes(4096).maxBytes(4 * 4096).build()) {
            Map<String, byte[]> model = new HashMap<>();
            TableFullException full = null;
            for (int i = 0; full == null; i++) {
                byte[] v = new byte[100];
                v[0] = (byte) i;
                try {
                    map.put(b("k" + i), v);
                    model.put("k" + i, v);
                } catch (TableFullException e) {
                    full = e;
                    assertNull(map.get(b("k" + i)), "the refused put changed nothing");
                }
            }
            assertTrue(full.getMessage().contains("limit of 16384 bytes"), full.getMessage());
            assertEquals(model.size(), map.size());
            model.forEach((k, v) -> assertArrayEquals(v, map.get(b(k))));
            assertTrue(map.memoryBytes() <= 4 * 4096);
            // A full map: replacing a value needs room for the new record first.
            String some = model.keySet().iterator().next();
            assertThrows(TableFullException.class, () -> map.put(b(some), new byte[100]));
            // Once some are removed, replacing values makes garbage, and the limit forces the
            // compactions that reclaim it.
            model.keySet().removeIf(k -> k.hashCode() % 4 == 0 && map.remove(b(k)) != null);
            for (int round = 0; round < 20; round++) {
                for (String k : model.keySet()) {
                    byte[] v = new byte[100];
                    v[1] = (byte) round;
                    map.put(b(k), v);
                    model.put(k, v);
                }
            }
            model.forEach((k, v) -> assertArrayEquals(v, map.get(b(k))));
            assertTrue(map.memoryBytes() <= 5 * 4096, "at most the limit and the compactor's slab: " + map.memoryBytes());
        }
    }

    @Test
    void oneCompactionLeavesNoGarbageBehindWhenItsMovesCopyAChainsRecords() {
        // FOUR hashes by the last byte: keys ending in '0' share one chain. Key "a0" is written
        // first, into slab 0 beside keys of another chain that are then removed (garbage there);
        // then so many more keys of a0's chain that they fill a slab of their own, all before
        // a0 in the chain. Moving a0 out of slab 0 publishes its chain anew with copies of all of
        // them: that slab turns to garbage during the compaction, which must take it too.
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().hash(FOUR).slabBytes(4096).compactBelow(0)
                .build()) {
            map.put(b("a0"), b("first"));
            List<String> fillers = new ArrayList<>();
            for (int i = 0; map.memoryBytes() <= 4096; i++) {
                String k = "f" + i + "1";
                map.put(b(k), b("filler" + i));
                fillers.add(k);
            }
            for (int i = fillers.size() - 1; i >= 0; i--) { // newest first: no chain copies
                map.remove(b(fillers.get(i)));
            }
            long slabs = map.memoryBytes();
            for (int i = 0; map.memoryBytes() <= slabs + 4096; i++) {
                map.put(b("c" + i + "0"), b("chained" + i));
            }
            int chained = 0;
            while (map.get(b("c" + chained + "0")) != null) {
                chained++;
            }
            assertTrue(map.compact() > 0);
            assertEquals(0, map.compact(), "the first compaction took the garbage its own moves made");
            assertArrayEquals(b("first"), map.get(b("a0")));
            for (int i = 0; i < chained; i++) {
                assertArrayEquals(b("chained" + i), map.get(b("c" + i + "0")), "c" + i + "0");
            }
            for (String k : fillers) {
                assertEquals(null, map.get(b(k)), k);
            }
            assertEquals(1 + chained, map.size());
        }
    }

    @Test
    void compactionFreesSparseSlabsAndKeepsEveryValue() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().slabBytes(4096).compactBelow(0).build()) {
            for (int i = 0; i < 2000; i++) {
                map.put(b("key" + i), b("value" + i));
            }
            long full = map.memoryBytes();
            for (int i = 0; i < 2000; i += 4) {
                map.put(b("key" + i), b("v" + i));
            }
            for (int i = 1; i < 2000; i += 2) {
                map.remove(b("key" + i));
            }
            assertTrue(map.memoryBytes() >= full, "nothing reclaimed without compaction");
            long freed = map.compact();
            assertTrue(freed > 0);
            assertTrue(map.memoryBytes() < full * 0.7, map.memoryBytes() + " of " + full);
            for (int i = 0; i < 2000; i++) {
                byte[] expected = i % 2 == 1 ? null : b((i % 4 == 0 ? "v" : "value") + i);
                assertArrayEquals(expected, map.get(b("key" + i)), "key" + i);
            }
            assertEquals(1000, map.size());
            assertEquals(map.liveBytes(), map.liveBytes());
        }
    }

    @Test
    void automaticCompactionKeepsChurnInBoundedMemory() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().slabBytes(4096).build()) {
            for (int round = 0; round < 200; round++) {
                for (int i = 0; i < 100; i++) {
                    map.put(b("key" + i), b("round " + round));
                }
            }
            assertTrue(map.memoryBytes() <= 8 * 4096, "memory " + map.memoryBytes());
            for (int i = 0; i < 100; i++) {
                assertArrayEquals(b("round 199"), map.get(b("key" + i)));
            }
        }
    }

    @Test
    void recordsLargerThanASlabGetOneOfTheirOwn() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().slabBytes(4096).build()) {
            byte[] large = new byte[100_000];
            large[99_999] = 5;
            map.put(b("large"), large);
            map.put(b("small"), b("s"));
            assertArrayEquals(large, map.get(b("large")));
            map.put(b("large"), b("now small"));
            map.compact();
            assertTrue(map.memoryBytes() < 100_000, "the large record's slab is freed: " + map.memoryBytes());
            assertArrayEquals(b("now small"), map.get(b("large")));
            assertArrayEquals(b("s"), map.get(b("small")));
        }
    }

    @Test
    void keysWithEqualHashesAreToldApartByTheirBytes() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().hash(FOUR).slabBytes(4096).build()) {
            Map<String, String> model = new HashMap<>();
            for (int i = 0; i < 200; i++) {
                map.put(b("k" + i), b("v" + i));
                model.put("k" + i, "v" + i);
            }
            for (int i = 0; i < 200; i += 3) {
                assertArrayEquals(b("v" + i), map.remove(b("k" + i)));
                model.remove("k" + i);
            }
            for (int i = 1; i < 200; i += 3) {
                assertArrayEquals(b("v" + i), map.put(b("k" + i), b("w" + i)));
                model.put("k" + i, "w" + i);
                assertArrayEquals(b("w" + i), map.putIfAbsent(b("k" + i), b("z")));
            }
            map.compact();
            for (int i = 0; i < 200; i++) {
                String expected = model.get("k" + i);
                assertArrayEquals(expected == null ? null : b(expected), map.get(b("k" + i)), "k" + i);
            }
            assertEquals(model.size(), map.size());
            Map<String, String> seen = new HashMap<>();
            map.forEach((k, v) -> assertNull(seen.put(new String(k, StandardCharsets.UTF_8), new String(v, StandardCharsets.UTF_8))));
            assertEquals(model, seen);
        }
    }

    @Test
    void batchedLookupsAnswerAsSingleOnes() {
        for (KeyHash hash : new KeyHash[]{KeyHash.WY, FOUR}) {
            try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().hash(hash).build()) {
                for (int i = 0; i < 500; i += 2) {
                    map.put(b("k" + i), b("v" + i));
                }
                byte[][] keys = new byte[300][];
                for (int i = 0; i < keys.length; i++) {
                    keys[i] = b("k" + (i * 7 % 500));
                }
                byte[][] values = new byte[300][];
                map.getAll(keys, values);
                for (int i = 0; i < keys.length; i++) {
                    assertArrayEquals(map.get(keys[i]), values[i]);
                }
            }
        }
    }

    @Test
    void forEachAndClearSeeEveryMapping() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().slabBytes(4096).build()) {
            for (int i = 0; i < 1000; i++) {
                map.put(b("k" + i), b("v" + i));
            }
            Map<String, String> seen = new HashMap<>();
            map.forEach((k, v) -> seen.put(new String(k, StandardCharsets.UTF_8), new String(v, StandardCharsets.UTF_8)));
            assertEquals(1000, seen.size());
            seen.forEach((k, v) -> assertEquals("v" + k.substring(1), v));
            // The action may write.
            map.forEach((k, v) -> map.remove(k));
            assertEquals(0, map.size());
            for (int i = 0; i < 1000; i++) {
                map.put(b("k" + i), b("v" + i));
            }
            map.clear();
            assertEquals(0, map.size());
            assertNull(map.get(b("k1")));
            assertTrue(map.memoryBytes() <= 2 * 4096, "cleared slabs freed: " + map.memoryBytes());
        }
    }

    @Test
    void aClosedMapThrowsAndNeverReadsFreedMemory() {
        ConcurrentBytesMap map = ConcurrentBytesMap.builder().build();
        map.put(b("k"), b("v"));
        map.close();
        map.close();
        assertTrue(map.isClosed());
        for (Runnable call : new Runnable[]{() -> map.get(b("k")), () -> map.put(b("k"), b("v")),
                () -> map.remove(b("k")), map::size, map::compact, map::clear, () -> map.forEach((k, v) -> { }),
                () -> map.getAll(new byte[][]{b("k")}, new byte[1][])}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, call::run);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }
}
