package io.hashkernel.bytes;

import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** liveBytes() counts the records' bytes, not the unused tail of a sealed slab. */
class LiveBytesTest {

    @Test
    void liveBytesIsTheRecordsBytes() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(MemoryProvider.gcManaged())
                .slabBytes(4096).build()) {
            map.put(new byte[]{1}, new byte[2999]); // 3016-byte record
            map.put(new byte[]{2}, new byte[2999]); // does not fit: seals slab 0 at 3016, opens slab 1
            assertEquals(2 * 3016, map.liveBytes(), "two 3016-byte records, nothing removed");
        }
    }
}
