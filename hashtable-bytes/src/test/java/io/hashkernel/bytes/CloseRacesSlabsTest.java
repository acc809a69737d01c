package io.hashkernel.bytes;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

/** Writers and compactions racing close(): no slab is opened after it (every slab's memory is freed). */
class CloseRacesSlabsTest {

    @Test
    void noSlabOutlivesClose() throws Exception {
        int leakedSlabs = 0;
        long leakedBytes = 0;
        for (int round = 0; round < 200; round++) {
            ConcurrentBytesMap map = ConcurrentBytesMap.builder().slabBytes(4096).build(); // mapped memory
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int id = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; ; i++) {
                            // larger than a slab: every put opens a slab of its own
                            map.put(new byte[]{(byte) id, (byte) (i & 7)}, new byte[5000]);
                        }
                    } catch (IllegalStateException expected) {
                        // closed
                    } catch (Throwable e) {
                        unexpected.set(e);
                    }
                }));
            }
            LockSupport.parkNanos(200_000 + round * 10_000L);
            map.close();
            for (Thread t : threads) {
                t.join();
            }
            assertNull(unexpected.get());
            var f = ConcurrentBytesMap.class.getDeclaredField("slabs");
            f.setAccessible(true);
            for (Slab s : (Slab[]) f.get(map)) {
                if (s != null && s.memory.scope().isAlive()) {
                    leakedSlabs++;
                    leakedBytes += s.capacity;
                }
            }
        }
        assertEquals(0, leakedSlabs, leakedSlabs + " slabs (" + leakedBytes + " bytes of mmap) still mapped after close()");
    }
}
