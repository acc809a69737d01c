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
}
