package io.hashkernel.bench;

import io.hashkernel.prefetch.NativePrefetch;
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
            List<PrefetchStrategy> strategies = NativePrefetch.load() != null
                    ? List.of(NativePrefetch.load(), TouchPrefetch.INSTANCE) : List.of(TouchPrefetch.INSTANCE);
            for (PrefetchStrategy s : strategies) {
                MemoryLimitProbe.Result r = MemoryLimitProbe.measure(region, 2, 16, 0.2, s);
                assertTrue(r.mops() > 0, r.toString());
                assertEquals("prefetch " + s.name(), r.strategy());
            }
            List<MemoryLimitProbe.Result> best = MemoryLimitProbe.measureBest(region, 1, 0.1, Prefetchers.selected());
            assertEquals(3, best.size());
            assertTrue(best.stream().anyMatch(r -> r.strategy().equals("plain loads")), best.toString());
            for (int i = 1; i < best.size(); i++) {
                assertTrue(best.get(i - 1).mops() >= best.get(i).mops(), "best first: " + best);
            }
            assertThrows(IllegalArgumentException.class,
                    () -> MemoryLimitProbe.measure(region, 0, 16, 0.1, TouchPrefetch.INSTANCE));
        }
    }

    @Test
    void theClaimsShapeLocksLinesOfANativeRegionAndRefusesAHeapOne() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment region = arena.allocate(4L << 20, 64);
            MemoryLimitProbe.prepare(region);
            MemoryLimitProbe.Result r = MemoryLimitProbe.measure(region, 2, 64, 0.2, MemoryLimitProbe.Shape.CLAIMS,
                    Prefetchers.selected());
            assertTrue(r.mops() > 0, r.toString());
            assertEquals(MemoryLimitProbe.Shape.CLAIMS, r.shape());
            assertTrue(r.strategy().startsWith("claims"), r.strategy());
            long changed = 0;
            for (long line = 0; line < region.byteSize(); line += 64) {
                changed += region.get(ValueLayout.JAVA_LONG, line + 8) != line + 8 ? 1 : 0;
            }
            assertTrue(changed > 0, "the exchanges wrote second words of lines");
        }
        IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                () -> MemoryLimitProbe.measure(MemorySegment.ofArray(new long[1024]), 1, 16, 0.1,
                        MemoryLimitProbe.Shape.CLAIMS, TouchPrefetch.INSTANCE));
        assertTrue(heap.getMessage().contains("native region"), heap.getMessage());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(4096, 64);
            for (MemorySegment bad : new MemorySegment[] {region.asSlice(4), region.asReadOnly()}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> MemoryLimitProbe.measure(bad, 1, 16, 0.1, MemoryLimitProbe.Shape.CLAIMS,
                                TouchPrefetch.INSTANCE));
                assertTrue(e.getMessage().contains("writable native region that starts on an 8-byte boundary"),
                        e.getMessage());
            }
        }
    }
}
