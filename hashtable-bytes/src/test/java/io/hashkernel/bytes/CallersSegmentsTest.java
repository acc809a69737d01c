package io.hashkernel.bytes;

import io.hashkernel.table.TableFullException;
import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** A caller's segment whose memory is closed: the call throws the JDK's IllegalStateException at once and leaves no garbage. */
class CallersSegmentsTest {

    /** get(key, into) with an `into` whose arena is closed: should throw, instead spins until the map is closed. */
    @Test
    void getIntoAClosedSegmentThrowsInsteadOfRetrying() throws Exception {
        ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(MemoryProvider.gcManaged()).build();
        map.put(new byte[]{1}, new byte[]{2, 3});
        Arena arena = Arena.ofShared();
        MemorySegment into = arena.allocate(16);
        arena.close();
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                outcome.set(map.get(MemorySegment.ofArray(new byte[]{1}), into));
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        t.setDaemon(true);
        t.start();
        t.join(3000);
        boolean spinning = t.isAlive();
        map.close(); // releases the spinning thread (retryOrThrow now throws)
        t.join(3000);
        assertFalse(spinning, "get(key, closedInto) still running after 3 s: retried the caller's ISE forever");
    }

    /**
     * put(key, value) with a value segment whose arena is closed: each retry reserves a fresh record
     * (headers written, never counted dead), so the map fills with uncollectable garbage and
     * finally throws TableFullException; compact() cannot reclaim it.
     */
    @Test
    void putFromAClosedSegmentLeavesNoUncountedGarbage() {
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(MemoryProvider.gcManaged())
                .slabBytes(4096).maxBytes(64 * 4096).build()) {
            Arena arena = Arena.ofShared();
            MemorySegment value = arena.allocate(100);
            arena.close();
            RuntimeException thrown = assertThrows(RuntimeException.class,
                    () -> map.put(MemorySegment.ofArray(new byte[]{1}), value));
            map.compact();
            assertEquals(0, map.size());
            assertDoesNotThrow(() -> map.put(new byte[]{2}, new byte[10]),
                    "an empty map (after compact()) refuses a 32-byte record");
            assertEquals(0, map.liveBytes() - 32, "liveBytes with one 32-byte record");
            assertInstanceOf(IllegalStateException.class, thrown, "expected the caller's ISE");
        }
    }
}
