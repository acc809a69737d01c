package io.hashkernel.bytes;

import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Records larger than a slab (a slab of their own each) are compacted automatically too: overwriting one keeps memory bounded. */
class LargeRecordGarbageTest {

    @Test
    void overwritingOneLargeValueDoesNotGrowMemoryWithoutBound() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(MemoryProvider.gcManaged())
                .slabBytes(4096).compactBelow(0.5).build()) {
            for (int i = 0; i < 1000; i++) {
                map.put(new byte[]{1}, new byte[5000]); // a 5024-byte record: a slab of its own
            }
            assertTrue(map.memoryBytes() < 20 * 5024, "memoryBytes " + map.memoryBytes()
                    + " for one live 5024-byte record (compactBelow 0.5)");
        }
    }
}
