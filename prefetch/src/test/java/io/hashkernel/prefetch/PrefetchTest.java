package io.hashkernel.prefetch;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefetchTest {

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

    /** The named strategy; a native case is skipped (not passed) where there is no native routine. */
    private static PrefetchStrategy available(String name) {
        Assumptions.assumeTrue(!name.equals("native") || x86Linux(), "no native prefetch routine for this platform");
        return strategy(name);
    }

    @Test
    void theNativeStrategyIsInstalledOnX86Linux() {
        if (x86Linux()) {
            assertNotNull(NativePrefetch.load(), NativePrefetch.unavailableReason());
            assertEquals("native-x86_64", strategy("auto").name());
        } else {
            assertEquals("touch", strategy("auto").name());
        }
        assertSame(TouchPrefetch.INSTANCE, strategy("touch"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void prefetchingChangesNothingAndIgnoresOffsetsOutsideTheRegion(String name) {
        PrefetchStrategy s = available(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(1 << 20, 64);
            for (long o = 0; o < region.byteSize(); o += 8) {
                region.set(ValueLayout.JAVA_LONG, o, o * 31);
            }
            long[] offsets = {0, 64, 4096, (1 << 20) - 1, 1 << 20, -64, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 40};
            for (int count = 0; count <= offsets.length; count++) {
                s.prefetch(region, offsets, count);
            }
            for (long o = 0; o < region.byteSize(); o += 8) {
                assertEquals(o * 31, region.get(ValueLayout.JAVA_LONG, o));
            }
            assertThrows(IndexOutOfBoundsException.class, () -> s.prefetch(region, offsets, offsets.length + 1));
            assertThrows(IndexOutOfBoundsException.class, () -> s.prefetch(region, offsets, -1));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void aPreparedViewOfTheOffsetsWorksAndAForeignOneIsRefused(String name) {
        PrefetchStrategy s = available(name);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(1 << 16, 64);
            region.fill((byte) 3);
            long[] offsets = {0, 64, 1 << 15, -64, 1L << 40};
            MemorySegment view = MemorySegment.ofArray(offsets);
            for (int count = 0; count <= offsets.length; count++) {
                s.prefetch(region, offsets, view, count);
            }
            assertEquals(3, region.get(ValueLayout.JAVA_BYTE, 64), "nothing changed");
            if (name.equals("native")) {
                // a view of another array (a shorter one here) would let the routine read past it
                assertThrows(IllegalArgumentException.class,
                        () -> s.prefetch(region, offsets, MemorySegment.ofArray(new long[2]), 2));
                assertThrows(IllegalArgumentException.class,
                        () -> s.prefetch(region, offsets, MemorySegment.ofArray(offsets.clone()), 2));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void aClosedRegionThrowsInsteadOfCrashing(String name) {
        PrefetchStrategy s = available(name);
        Arena arena = Arena.ofShared();
        MemorySegment region = arena.allocate(4096, 64);
        arena.close();
        assertThrows(IllegalStateException.class, () -> s.prefetch(region, new long[] {0, 64}, 2));
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void prefetchingForWriteChangesNothingChecksItsArgumentsAndRefusesAClosedRegion(String name) {
        PrefetchStrategy s = available(name);
        Arena arena = Arena.ofShared();
        MemorySegment region = arena.allocate(1 << 16, 64);
        region.fill((byte) 5);
        long[] offsets = {0, 64, (1 << 16) - 1, 1 << 16, -64, Long.MIN_VALUE, Long.MAX_VALUE};
        MemorySegment view = MemorySegment.ofArray(offsets);
        for (int count = 0; count <= offsets.length; count++) {
            s.prefetchForWrite(region, offsets, view, count);
        }
        for (long o = 0; o < region.byteSize(); o++) {
            assertEquals(5, region.get(ValueLayout.JAVA_BYTE, o));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> s.prefetchForWrite(region, offsets, view, offsets.length + 1));
        if (name.equals("native")) {
            assertThrows(IllegalArgumentException.class,
                    () -> s.prefetchForWrite(region, offsets, MemorySegment.ofArray(new long[2]), 2));
        }
        arena.close();
        assertThrows(IllegalStateException.class, () -> s.prefetchForWrite(region, offsets, view, 2));
    }

    @Test
    void writesArePrefetchedWithPrefetchwWhereTheCpuListsIt() throws java.io.IOException {
        Assumptions.assumeTrue(x86Linux() && NativePrefetch.load() != null, "no native prefetch routine here");
        boolean listed;
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            listed = lines.filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> (" " + l.substring(l.indexOf(':') + 1) + " ").contains(" 3dnowprefetch "))
                    .orElse(false);
        }
        assertEquals(listed, NativePrefetch.writesNative());
    }

    @Test
    void badPropertyValuesSayWhatIsAllowed() {
        var e = assertThrows(IllegalArgumentException.class, () -> strategy("fast"));
        assertTrue(e.getMessage().contains("auto, native or touch"), e.getMessage());
    }
}
