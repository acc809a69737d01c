package io.hashkernel.bench;

import io.hashkernel.numa.CpuCaches;
import io.hashkernel.numa.MachineMemory;
import io.hashkernel.numa.Memory;
import io.hashkernel.prefetch.Prefetchers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The machine a run happened on, as the JSON report's {@code machine} object.
 *
 * @param cpu            the CPU model from {@code /proc/cpuinfo}
 * @param cpus           processors available to the JVM
 * @param memoryBytes    physical memory
 * @param llcBytes       last-level cache size, or 0 where the machine does not report it
 * @param jdk            runtime version and vendor
 * @param os             operating system and architecture
 * @param thp            transparent huge page mode
 * @param cacheBytesReported the cache size {@code /proc/cpuinfo} reports (0 where it does not)
 * @param memoryMechanism how HashKernel obtains memory here (and the huge-page advice it gives)
 * @param prefetch       the prefetch strategy in use, as {@code Prefetchers.describe} says it
 * @param maxHeapBytes   the JVM's maximum heap (peers live there)
 */
record MachineInfo(String cpu, int cpus, long memoryBytes, long llcBytes, long cacheBytesReported, String jdk,
                   String os, String thp, String memoryMechanism, String prefetch, long maxHeapBytes) {

    static MachineInfo current() {
        OptionalLong llc = CpuCaches.lastLevelCacheBytes();
        return new MachineInfo(cpuinfo("model name", System.getProperty("os.arch")),
                Runtime.getRuntime().availableProcessors(),
                MachineMemory.read().map(MachineMemory::totalBytes).orElse(0L), llc.orElse(0),
                cacheBytes(cpuinfo("cache size", "")),
                System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ")",
                System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                MachineMemory.transparentHugePageMode(), Memory.activeMechanism(),
                Prefetchers.describe(Prefetchers.selected()), Runtime.getRuntime().maxMemory());
    }

    /** The first value of a {@code /proc/cpuinfo} field, or {@code otherwise}. */
    private static String cpuinfo(String field, String otherwise) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith(field) && line.indexOf(':') > 0) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return otherwise;
    }

    /** Parses {@code "1024 KB"} into bytes; 0 when absent or unreadable. */
    static long cacheBytes(String value) {
        String[] parts = value.trim().split("\\s+");
        try {
            long n = Long.parseLong(parts[0]);
            String unit = parts.length > 1 ? parts[1].toUpperCase(java.util.Locale.ROOT) : "B";
            return switch (unit) {
                case "KB", "K" -> n << 10;
                case "MB", "M" -> n << 20;
                default -> n;
            };
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** One line for the report header. */
    String describe() {
        return String.format(java.util.Locale.ROOT, "%s, %d cpus, %s RAM, LLC %s, JDK %s, %s, THP %s, heap max %s",
                cpu, cpus, MachineMemory.format(memoryBytes),
                llcBytes > 0 ? MachineMemory.format(llcBytes) : cacheBytesReported > 0
                        ? "not reported (cpuinfo: " + MachineMemory.format(cacheBytesReported) + " cache)" : "not reported",
                jdk, os, thp,
                MachineMemory.format(maxHeapBytes));
    }
}
