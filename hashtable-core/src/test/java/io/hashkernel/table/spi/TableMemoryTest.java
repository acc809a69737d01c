package io.hashkernel.table.spi;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TableMemoryTest {

    @Test
    void ofReleasesOnce() {
        MemorySegment segment = MemorySegment.ofArray(new long[8]);
        AtomicInteger released = new AtomicInteger();
        TableMemory m = TableMemory.of(segment, "eight longs", released::incrementAndGet);
        assertSame(segment, m.segment());
        assertEquals("eight longs", m.description());
        assertEquals(-1, m.hugePageBytes());
        m.close();
        m.close();
        assertEquals(1, released.get(), "close is idempotent");
        assertThrows(NullPointerException.class, () -> TableMemory.of(null, "x", () -> { }));
    }
}
