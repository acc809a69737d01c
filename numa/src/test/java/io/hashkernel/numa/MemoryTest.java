package io.hashkernel.numa;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryTest {

    private static boolean linux() {
        return System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).startsWith("linux");
    }

    @Test
    void largeRegionsAreMappedAlignedZeroedAndAdvisedForHugePages() {
        try (Region region = Memory.allocate(8L << 20, 64)) {
            MemorySegment s = region.segment();
            assertEquals(8L << 20, s.byteSize());
            if (linux()) {
                // Tests run with --enable-native-access, so the libc path must be the one taken.
                assertEquals(Placement.Source.MMAP, region.placement().source(), region.placement().describe());
                assertEquals(0, s.address() % Memory.HUGE_PAGE_SIZE, "huge-page aligned");
                if (!MachineMemory.transparentHugePageMode().equals("never")) {
                    assertTrue(region.placement().hugePageAdvice(), region.placement().describe());
                }
            }
            for (long off = 0; off < s.byteSize(); off += 4096) {
                assertEquals(0L, s.get(ValueLayout.JAVA_LONG, off));
            }
            s.set(ValueLayout.JAVA_LONG, s.byteSize() - 8, 42L);
            assertEquals(42L, s.get(ValueLayout.JAVA_LONG, s.byteSize() - 8));
        }
    }

    @Test
    void smallRegionsHonourTheAlignment() {
        try (Region region = Memory.allocate(100, 64)) {
            assertEquals(100, region.byteSize());
            assertEquals(0, region.segment().address() % 64);
            assertFalse(region.placement().hugePageAdvice(), "no advice below 2 MiB");
        }
    }

    @Test
    void accessAfterCloseThrowsAndCloseIsIdempotent() {
        Region region = Memory.allocate(4L << 20, 64);
        MemorySegment s = region.segment();
        region.close();
        region.close();
        assertTrue(region.isClosed());
        assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_LONG, 0));
        assertThrows(IllegalStateException.class, () -> s.set(ValueLayout.JAVA_LONG, 0, 1L));
    }

    @Test
    void theArenaFallbackCanBeForcedAndSaysSo() {
        String old = System.getProperty(Memory.MODE_PROPERTY);
        System.setProperty(Memory.MODE_PROPERTY, "arena");
        try (Region region = Memory.allocate(4L << 20, 4096)) {
            assertEquals(Placement.Source.ARENA, region.placement().source());
            assertTrue(region.placement().describe().contains("forced"), region.placement().describe());
            assertEquals(0, region.segment().address() % 4096);
            assertTrue(Memory.activeMechanism().startsWith("Arena"));
        } finally {
            if (old == null) {
                System.clearProperty(Memory.MODE_PROPERTY);
            } else {
                System.setProperty(Memory.MODE_PROPERTY, old);
            }
        }
    }

    @Test
    void badRequestsSayWhatWasWrong() {
        var size = assertThrows(IllegalArgumentException.class, () -> Memory.allocate(0, 64));
        assertTrue(size.getMessage().contains("positive"), size.getMessage());
        var align = assertThrows(IllegalArgumentException.class, () -> Memory.allocate(64, 48));
        assertTrue(align.getMessage().contains("power of two") && align.getMessage().contains("48"), align.getMessage());
        if (linux()) {
            var tooBig = assertThrows(Memory.InsufficientMemoryException.class, () -> Memory.allocate(1L << 60, 64));
            assertTrue(tooBig.getMessage().contains("available") && tooBig.getMessage().contains("total"),
                    tooBig.getMessage());
        }
    }

    @Test
    void meminfoIsParsed(@TempDir Path dir) throws Exception {
        Path meminfo = dir.resolve("meminfo");
        Files.writeString(meminfo, "MemTotal:       24576000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n");
        MachineMemory m = MachineMemory.read(meminfo).orElseThrow();
        assertEquals(24576000L * 1024, m.totalBytes());
        assertEquals(20000000L * 1024, m.availableBytes());
        assertTrue(MachineMemory.read(dir.resolve("absent")).isEmpty());
        assertEquals("2048 MiB", MachineMemory.format(2L << 30));
        assertEquals("5.0 GiB", MachineMemory.format(5L << 30));
        assertEquals("512 MiB", MachineMemory.format(512L << 20));
    }
}
