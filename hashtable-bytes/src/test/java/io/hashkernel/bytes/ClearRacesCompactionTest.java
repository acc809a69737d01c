package io.hashkernel.bytes;

import io.hashkernel.table.GrowingLongLongTable;
import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/**
 * clear() racing a compaction that frees a slab of the chain clear() has just unlinked (legal:
 * its records are unreachable): size() must still drop by the whole chain, so clear() must count
 * the chain before it unlinks it.
 *
 * The compactor is steered with the test hash hook: its first hash call (inside move(), after the
 * grace period) spins until clear() has unlinked the long chain, so the victim slab holding the
 * chain's oldest records is freed while clear() is still walking towards them.
 */
class ClearRacesCompactionTest {

    static final long CHAIN = 12345;

    @Test
    void clearRacingCompactionKeepsSize() throws Exception {
        int failures = 0;
        String detail = "";
        for (int attempt = 0; attempt < 1; attempt++) {
            for (MemoryProvider provider : new MemoryProvider[]{MemoryProvider.hugePageAdvised(), MemoryProvider.gcManaged()}) {
                String r = once(provider);
                if (r != null) {
                    failures++;
                    detail = r;
                }
            }
        }
        assertEquals(0, failures, "rounds where size() was wrong after clear(); last: " + detail);
    }

    static String once(MemoryProvider provider) throws Exception {
        Thread[] compactor = new Thread[1];
        GrowingLongLongTable[] index = new GrowingLongLongTable[1];
        KeyHash hash = (key, seed) -> {
            if (Thread.currentThread() == compactor[0]) {
                while (index[0].get(CHAIN) != 0) {   // until clear() has unlinked the chain
                    Thread.onSpinWait();
                }
            }
            return key.get(ValueLayout.JAVA_BYTE, 0) == 'c' ? CHAIN : KeyHash.WY.hash(key, seed);
        };
        try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().memory(provider).hash(hash)
                .slabBytes(4096).compactBelow(0).build()) {
            var f = ConcurrentBytesMap.class.getDeclaredField("index");
            f.setAccessible(true);
            index[0] = (GrowingLongLongTable) f.get(map);
            int chain = 4_000;
            // slab 0: the chain's oldest records interleaved with junk that is removed (its only garbage)
            for (int i = 0; i < 50; i++) {
                map.put(("c" + i).getBytes(StandardCharsets.UTF_8), new byte[8]);
                map.put(("j" + i).getBytes(StandardCharsets.UTF_8), new byte[8]);
            }
            for (int i = 50; i < chain; i++) {
                map.set(("c" + i).getBytes(StandardCharsets.UTF_8), new byte[8]);
            }
            for (int i = 0; i < 50; i++) {
                map.remove(("j" + i).getBytes(StandardCharsets.UTF_8));
            }
            assertEquals(chain, map.size());
            AtomicReference<Throwable> failure = new AtomicReference<>();
            compactor[0] = new Thread(() -> {
                try {
                    map.compact();
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            compactor[0].start();
            Thread.sleep(50); // the compactor is now spinning inside move(), after its grace period
            map.clear();
            compactor[0].join();
            assertNull(failure.get());
            long[] seen = {0};
            map.forEach((k, v) -> seen[0]++);
            assertEquals(0, seen[0]);
            return map.size() == 0 ? null : provider.allocate(8, 8).description() + ": size() " + map.size()
                    + " after clear() of " + chain + "; liveBytes " + map.liveBytes();
        }
    }
}
