package io.hashkernel.numa;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * What huge pages the machine offers and what a mapping actually got: explicit (hugetlb) pages
 * free per size from {@code /sys/kernel/mm/hugepages}, and the transparent huge pages backing an
 * address range from {@code /proc/self/smaps} ({@code AnonHugePages} of the mappings in it).
 */
public final class HugePages {
    private static final Path HUGETLB = Path.of("/sys/kernel/mm/hugepages");
    private static final Path SMAPS = Path.of("/proc/self/smaps");

    private HugePages() {
    }

    /** System property that sets {@link Mode#configured()}: {@code auto}, {@code transparent}, {@code 2m}, {@code 1g}. */
    public static final String MODE_PROPERTY = "hashkernel.hugepages";

    /** Which huge pages a region gets. */
    public enum Mode {
        /** Small pages advised for transparent huge pages ({@code madvise(MADV_HUGEPAGE)}). */
        TRANSPARENT(0),
        /** Explicit pages when the pool has enough free for the region, else transparent. */
        AUTO(0),
        /** Explicit 2 MiB pages (falling back to transparent ones when refused). */
        EXPLICIT_2M(2L << 20),
        /** Explicit 1 GiB pages (falling back to transparent ones when refused). */
        EXPLICIT_1G(1L << 30);

        private final long pageSize;

        Mode(long pageSize) {
            this.pageSize = pageSize;
        }

        /**
         * The mode {@value #MODE_PROPERTY} names, {@link #AUTO} when unset.
         *
         * @throws IllegalArgumentException naming the allowed values
         */
        public static Mode configured() {
            String v = System.getProperty(MODE_PROPERTY, "auto").trim().toLowerCase(java.util.Locale.ROOT);
            return switch (v) {
                case "auto" -> AUTO;
                case "transparent", "thp" -> TRANSPARENT;
                case "2m" -> EXPLICIT_2M;
                case "1g" -> EXPLICIT_1G;
                default -> throw new IllegalArgumentException("-D" + MODE_PROPERTY + " must be auto, transparent, 2m"
                        + " or 1g, was '" + v + "'");
            };
        }

        /**
         * The explicit page size to map a region of {@code bytes} with, given the free pages per
         * size (read only by {@link #AUTO}, and only for a region of at least one huge page); 0 for
         * transparent pages.
         */
        long pageSizeFor(long bytes, java.util.function.Supplier<Map<Long, Long>> free) {
            if (this != AUTO) {
                return pageSize;
            }
            if (bytes < 2L << 20) {
                return 0;
            }
            Map<Long, Long> pools = free.get();
            for (long size : new long[] {1L << 30, 2L << 20}) {
                long needed = (bytes + size - 1) / size;
                if (bytes >= size && pools.getOrDefault(size, 0L) >= needed) {
                    return size;
                }
            }
            return 0;
        }
    }

    /** Free explicit huge pages per page size in bytes (empty where the kernel has none configured). */
    public static Map<Long, Long> hugetlbFree() {
        return hugetlbFree(HUGETLB);
    }

    /** As {@link #hugetlbFree()}, reading {@code hugepages-<size>kB/free_hugepages} under {@code dir}. */
    public static Map<Long, Long> hugetlbFree(Path dir) {
        Map<Long, Long> free = new TreeMap<>();
        if (!Files.isDirectory(dir)) {
            return free;
        }
        try (DirectoryStream<Path> sizes = Files.newDirectoryStream(dir, "hugepages-*kB")) {
            for (Path d : sizes) {
                String name = d.getFileName().toString();
                long kib = Long.parseLong(name.substring("hugepages-".length(), name.length() - 2));
                free.put(kib << 10, Long.parseLong(Files.readString(d.resolve("free_hugepages")).trim()));
            }
        } catch (IOException | RuntimeException e) {
            return free;
        }
        return free;
    }

    /**
     * Bytes of {@code [address, address + length)} backed by transparent huge pages now, from
     * this process's smaps; -1 where smaps cannot be read.
     */
    public static long anonHugeBytes(long address, long length) {
        try {
            return anonHugeBytes(Files.readString(SMAPS), address, length);
        } catch (IOException e) {
            return -1;
        }
    }

    /**
     * As {@link #anonHugeBytes(long, long)} over the text of an smaps file: the
     * {@code AnonHugePages} of every mapping that overlaps the range, each prorated to its
     * overlap (a mapping may extend beyond the range when the kernel merged it with a neighbour).
     */
    static long anonHugeBytes(String smaps, long address, long length) {
        long end = address + length;
        long total = 0;
        long mapStart = 0;
        long mapEnd = 0;
        for (String line : smaps.split("\n")) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && isHex(line, 0, dash)) {
                mapStart = Long.parseUnsignedLong(line.substring(0, dash), 16);
                mapEnd = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
            } else if (line.startsWith("AnonHugePages:")) {
                long overlap = Math.min(end, mapEnd) - Math.max(address, mapStart);
                if (overlap > 0) {
                    long kib = Long.parseLong(line.substring("AnonHugePages:".length()).replace("kB", "").trim());
                    long bytes = kib << 10;
                    total += (long) (bytes * (overlap / (double) (mapEnd - mapStart)));
                }
            }
        }
        return total;
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (Character.digit(s.charAt(i), 16) < 0) {
                return false;
            }
        }
        return to > from;
    }
}
