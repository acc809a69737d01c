package io.hashkernel.numa;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * What the machine can give: total and available physical memory from {@code /proc/meminfo}
 * (the path is injectable for tests), and the transparent-huge-page mode.
 *
 * <p>Immutable snapshot; read it again with {@link #read()} for fresh figures.
 *
 * @param totalBytes     {@code MemTotal}
 * @param availableBytes {@code MemAvailable}: what can be allocated without swapping
 */
public record MachineMemory(long totalBytes, long availableBytes) {

    private static final Path PROC_MEMINFO = Path.of("/proc/meminfo");
    private static final Path THP_ENABLED = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    /** Reads {@code /proc/meminfo}; empty where it does not exist (not Linux). */
    public static java.util.Optional<MachineMemory> read() {
        return read(PROC_MEMINFO);
    }

    /** Reads a {@code meminfo}-format file; empty where it does not exist. */
    public static java.util.Optional<MachineMemory> read(Path meminfo) {
        List<String> lines;
        try {
            lines = Files.readAllLines(meminfo);
        } catch (NoSuchFileException e) {
            return java.util.Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + meminfo, e);
        }
        OptionalLong total = field(lines, "MemTotal:");
        OptionalLong available = field(lines, "MemAvailable:");
        if (total.isEmpty()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new MachineMemory(total.getAsLong(),
                available.orElse(total.getAsLong())));
    }

    private static OptionalLong field(List<String> lines, String name) {
        for (String line : lines) {
            if (line.startsWith(name)) {
                String[] parts = line.substring(name.length()).trim().split("\\s+");
                long value = Long.parseLong(parts[0]);
                boolean kib = parts.length > 1 && parts[1].equalsIgnoreCase("kB");
                return OptionalLong.of(kib ? value * 1024 : value);
            }
        }
        return OptionalLong.empty();
    }

    /**
     * The transparent-huge-page mode the kernel reports ({@code always}, {@code madvise} or
     * {@code never}), or {@code unknown} where the file is missing.
     */
    public static String transparentHugePageMode() {
        try {
            String text = Files.readString(THP_ENABLED);
            int open = text.indexOf('[');
            int close = text.indexOf(']');
            return open >= 0 && close > open ? text.substring(open + 1, close) : text.trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** {@code 1536 MiB}, {@code 2.0 GiB}: a byte count for people. */
    public static String format(long bytes) {
        if (bytes < 1024L * 1024) {
            return bytes + " bytes";
        }
        if (bytes < 4L << 30) {
            return String.format(java.util.Locale.ROOT, "%d MiB", bytes >> 20);
        }
        return String.format(java.util.Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
