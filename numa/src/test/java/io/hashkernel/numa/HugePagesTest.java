package io.hashkernel.numa;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Reading what huge pages the machine offers and what a mapping got. */
class HugePagesTest {

    private static final String SMAPS = """
            7f0000000000-7f0000400000 rw-p 00000000 00:00 0
            Size:               4096 kB
            AnonHugePages:      4096 kB
            VmFlags: rd wr mr mw me ac hg
            7f0000400000-7f0000800000 rw-p 00000000 00:00 0
            Size:               4096 kB
            AnonHugePages:      2048 kB
            7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
            AnonHugePages:         0 kB
            """;

    @Test
    void smapsAreSummedOverTheMappingsOfARange() {
        long a = 0x7f0000000000L;
        assertEquals(6L << 20, HugePages.anonHugeBytes(SMAPS, a, 8L << 20), "both mappings");
        assertEquals(4L << 20, HugePages.anonHugeBytes(SMAPS, a, 4L << 20), "the first only");
        assertEquals(1L << 20, HugePages.anonHugeBytes(SMAPS, a + (6L << 20), 2L << 20),
                "half of the second mapping: prorated");
        assertEquals(0, HugePages.anonHugeBytes(SMAPS, 0x1000, 4096), "no mapping there");
    }

    @Test
    void hugetlbPoolsPerPageSize(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("hugepages-2048kB"));
        Files.writeString(dir.resolve("hugepages-2048kB/free_hugepages"), "3\n");
        Files.createDirectories(dir.resolve("hugepages-1048576kB"));
        Files.writeString(dir.resolve("hugepages-1048576kB/free_hugepages"), "0\n");
        assertEquals(Map.of(2L << 20, 3L, 1L << 30, 0L), HugePages.hugetlbFree(dir));
        assertTrue(HugePages.hugetlbFree(dir.resolve("absent")).isEmpty());
    }

    @Test
    void aWrittenAdvisedRegionReportsItsHugePages() {
        try (Region r = Memory.allocate(64L << 20, Memory.HUGE_PAGE_SIZE)) {
            r.segment().fill((byte) 1);
            long huge = r.hugePageBytes();
            assertTrue(huge >= 0 && huge <= r.byteSize(), "huge pages " + huge);
            assumeTrue(r.placement().hugePageAdvice() && !MachineMemory.transparentHugePageMode().contains("never"),
                    "transparent huge pages are off here");
            assertEquals(0, huge % (2L << 20), "whole huge pages: " + huge);
        }
    }

    private static final Path NR_2M = Path.of("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");

    @Test
    void withNoneReservedAnExplicitRequestFallsBackAndSaysSo() {
        assumeTrue(Affinity.available(), "needs libc");
        assumeTrue(HugePages.hugetlbFree().getOrDefault(2L << 20, 0L) == 0, "2 MiB hugetlb pages are reserved here");
        try (Region r = Memory.allocate(4L << 20, 64, NodePolicy.DEFAULT, HugePages.Mode.EXPLICIT_2M)) {
            assertEquals(0, r.placement().explicitHugePageSize());
            assertTrue(r.placement().note().startsWith("MAP_HUGETLB with 2 MiB pages refused (")
                    && r.placement().note().contains("transparent huge pages instead"), r.placement().note());
            assertTrue(r.placement().hugePageAdvice(), "the fallback is advised for transparent huge pages");
            r.segment().fill((byte) 1);
        }
        try (Region r = Memory.allocate(4L << 20, 64, NodePolicy.DEFAULT, HugePages.Mode.AUTO)) {
            assertEquals(0, r.placement().explicitHugePageSize(), "auto: none free, so transparent");
            assertEquals("", r.placement().note());
        }
    }

    @Test
    void reservedPagesAreMappedExplicitly() throws Exception {
        assumeTrue(Affinity.available(), "needs libc");
        assumeTrue(Files.isWritable(NR_2M), "reserving hugetlb pages needs root (" + NR_2M + ")");
        long before = Long.parseLong(Files.readString(NR_2M).trim());
        try {
            Files.writeString(NR_2M, Long.toString(before + 4));
            long free = HugePages.hugetlbFree().getOrDefault(2L << 20, 0L);
            assumeTrue(free >= 4, "the kernel found only " + free + " free 2 MiB pages (memory fragmented)");
            Path resv = NR_2M.resolveSibling("resv_hugepages");
            long reservedBefore = Long.parseLong(Files.readString(resv).trim());
            try (Region r = Memory.allocate(3L << 20, 64, NodePolicy.DEFAULT, HugePages.Mode.AUTO)) {
                assertEquals(2L << 20, r.placement().explicitHugePageSize(), r.placement().toString());
                assertEquals("mmap(MAP_HUGETLB, 2 MiB pages)", r.placement().describe());
                assertEquals(3L << 20, r.byteSize(), "the segment is the size asked for");
                assertEquals(reservedBefore + 2, Long.parseLong(Files.readString(resv).trim()),
                        "two pages reserved by the mapping");
                r.segment().fill((byte) 5);
                assertEquals(free - 2, HugePages.hugetlbFree().get(2L << 20), "two pages in use once touched");
                assertEquals(5, r.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, (3L << 20) - 1));
                assertEquals(3L << 20, r.hugePageBytes());
            }
            assertEquals(free, HugePages.hugetlbFree().get(2L << 20), "closing gave the pages back");
        } finally {
            Files.writeString(NR_2M, Long.toString(before));
        }
    }

    @Test
    void theModePropertySaysWhatIsAllowed() {
        String before = System.getProperty(HugePages.MODE_PROPERTY);
        try {
            System.setProperty(HugePages.MODE_PROPERTY, "1G");
            assertEquals(HugePages.Mode.EXPLICIT_1G, HugePages.Mode.configured());
            System.setProperty(HugePages.MODE_PROPERTY, "huge");
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    HugePages.Mode::configured);
            assertEquals("-Dhashkernel.hugepages must be auto, transparent, 2m or 1g, was 'huge'", e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(HugePages.MODE_PROPERTY);
            } else {
                System.setProperty(HugePages.MODE_PROPERTY, before);
            }
        }
        assertEquals(1L << 30, HugePages.Mode.AUTO.pageSizeFor(2L << 30, () -> Map.of(1L << 30, 2L, 2L << 20, 0L)));
        assertEquals(2L << 20, HugePages.Mode.AUTO.pageSizeFor(2L << 30, () -> Map.of(1L << 30, 1L, 2L << 20, 1024L)));
        assertEquals(0, HugePages.Mode.AUTO.pageSizeFor(1L << 20, () -> Map.of(2L << 20, 10L)), "below one page");
        assertEquals(0, HugePages.Mode.TRANSPARENT.pageSizeFor(8L << 20, () -> Map.of(2L << 20, 10L)));
    }
}
