package io.hashkernel.bench;

import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.prefetch.TouchPrefetch;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryLimitProbeTest {

    private static boolean x86Linux() {
        String arch = System.getProperty("os.arch");
        return System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).startsWith("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    private static PrefetchStrategy strategy(String name) {
        String old = System.getProperty(Prefetchers.PROPERTY);
        System.setProperty(Prefetchers.PROPERTY, name);
        try {
            return Prefetchers.selected();
        } finally {
            if (old == null) {
                System.clearProperty(Prefetchers.PROPERTY);
            } else {
                System.setProperty(Prefetchers.PROPERTY, old);
            }
        }
    }

    @Test
    void theProbesRegionIsWrittenWithDistinctWords() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(3 * 4096 + 12, 64);
            MemoryLimitProbe.prepare(region);
            for (long o = 0; o + 8 <= region.byteSize(); o += 8) {
                assertEquals(o, region.get(ValueLayout.JAVA_LONG_UNALIGNED, o));
            }
            assertEquals(0, region.get(ValueLayout.JAVA_INT_UNALIGNED, 3 * 4096 + 8), "a tail shorter than a word is left");
        }
    }

    @Test
    void theProbeReadsLinesWithEitherStrategy() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment region = arena.allocate(16L << 20, 64);
            for (String name : x86Linux() ? new String[] {"native", "touch"} : new String[] {"touch"}) {
                MemoryLimitProbe.Result r = MemoryLimitProbe.measure(region, 2, 16, 0.2, strategy(name));
                assertTrue(r.mops() > 0, r.toString());
                assertEquals("prefetch " + strategy(name).name(), r.strategy());
            }
            List<MemoryLimitProbe.Result> best = MemoryLimitProbe.measureBest(region, 1, 0.1, strategy("auto"));
            assertEquals(3, best.size());
            assertTrue(best.stream().anyMatch(r -> r.strategy().equals("plain loads")), best.toString());
            for (int i = 1; i < best.size(); i++) {
                assertTrue(best.get(i - 1).mops() >= best.get(i).mops(), "best first: " + best);
            }
            assertThrows(IllegalArgumentException.class,
                    () -> MemoryLimitProbe.measure(region, 0, 16, 0.1, TouchPrefetch.INSTANCE));
        }
    }
}
