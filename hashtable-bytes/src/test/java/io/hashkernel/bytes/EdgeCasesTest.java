package io.hashkernel.bytes;

import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class EdgeCasesTest {

    @Test
    void emptyKeysValuesAndSlabSizedRecords() {
        for (KeyHash hash : new KeyHash[]{KeyHash.WY, ConcurrentBytesMapTest.FOUR}) {
            for (MemoryProvider p : new MemoryProvider[]{MemoryProvider.gcManaged(), MemoryProvider.hugePageAdvised()}) {
                try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(p).hash(hash).slabBytes(4096).build()) {
                    byte[] e = new byte[0];
                    assertNull(map.put(e, e));
                    assertArrayEquals(e, map.get(e));
                    assertArrayEquals(e, map.putIfAbsent(e, new byte[]{1}));
                    assertEquals(0, map.get(MemorySegment.ofArray(e), MemorySegment.ofArray(new byte[0])));
                    assertArrayEquals(e, map.put(e, new byte[]{4}));
                    // a record of exactly one slab, one byte over, and one far over
                    byte[] k1 = {1, 0, 0, 0};
                    map.put(k1, new byte[4096 - 16 - 4]);
                    map.put(new byte[]{2, 0, 0, 0}, new byte[4096 - 16 - 4 + 1]);
                    map.put(new byte[]{3, 0, 0, 0}, new byte[100_000]);
                    map.put(new byte[]{4, 0, 0, 0}, new byte[0]);
                    byte[][] keys = {e, k1, {2, 0, 0, 0}, {3, 0, 0, 0}, {4, 0, 0, 0}, {5}};
                    byte[][] values = new byte[keys.length][];
                    map.compact();
                    map.getAll(keys, values);
                    assertArrayEquals(new byte[]{4}, values[0]);
                    assertEquals(4076, values[1].length);
                    assertEquals(4077, values[2].length);
                    assertEquals(100_000, values[3].length);
                    assertEquals(0, values[4].length);
                    assertNull(values[5]);
                    assertEquals(5, map.size());
                    List<Integer> lengths = new ArrayList<>();
                    map.forEach((k, v) -> lengths.add(k.length));
                    assertEquals(5, lengths.size());
                    assertArrayEquals(new byte[]{4}, map.remove(e));
                    assertNull(map.get(e));
                    map.clear();
                    assertEquals(0, map.size());
                    assertTrue(map.memoryBytes() <= 2 * 4096, "memory after clear " + map.memoryBytes());
                }
            }
        }
    }

    @Test
    void liveBytesAfterCloseThrows() {
        ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(MemoryProvider.gcManaged()).build();
        map.close();
        assertThrows(IllegalStateException.class, map::liveBytes, "documented: every method but close()/isClosed() throws after close");
    }
}
