package io.hashkernel.bytes;

import io.hashkernel.table.GrowingLongLongTable;
import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The index is a GrowingLongLongTable, which refuses to migrate while its thread is inside any
 * growing table's forEach, with an IllegalStateException: a put that needs the map's index to grow
 * from inside such a forEach gets that exception (the map must not take it for freed memory and
 * retry forever).
 */
class ForeignForEachTest {

    @Test
    void putInsideAnotherTablesForEachDoesNotSpin() throws Exception {
        ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(MemoryProvider.gcManaged()).build();
        GrowingLongLongTable other = GrowingLongLongTable.builder().memory(MemoryProvider.gcManaged()).build();
        other.put(1, 1);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                other.forEach((k, v) -> {
                    for (int i = 0; i < 5000; i++) {
                        map.put(ByteBuffer.allocate(4).putInt(i).array(), new byte[4]);
                    }
                });
                outcome.set("done");
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        t.setDaemon(true);
        t.start();
        t.join(5000);
        boolean spinning = t.isAlive();
        long size = spinning ? -1 : map.size();
        map.close(); // frees the spinning thread
        t.join(5000);
        assertFalse(spinning, "map.put inside another table's forEach still spinning after 5 s");
        assertInstanceOf(IllegalStateException.class, outcome.get(), "the index's refusal, passed on");
    }
}
