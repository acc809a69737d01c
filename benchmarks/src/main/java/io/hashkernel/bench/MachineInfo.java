package io.hashkernel.bench;

import io.hashkernel.numa.MachineMemory;
import io.hashkernel.numa.Memory;
import io.hashkernel.numa.Affinity;
import io.hashkernel.numa.HugePages;
import io.hashkernel.numa.Topology;
import io.hashkernel.prefetch.Prefetchers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * @param numa           the NUMA topology in one line (nodes, their CPUs and memory, sockets, cores)
 * @param nodes          each node: id, cpus (list format), memoryBytes
 * @param cpusUsed       the CPUs htbench's threads may run on (its affinity), or why unknown
 * @param hugetlbFree    explicit huge pages free per page size (bytes to count)
 * @param tableHugePages for each HashKernel result: the table's bytes backed by huge pages when it
 *                       was measured (filled in after the run)
 */
public record MachineInfo(String cpu, int cpus, long memoryBytes, long llcBytes, long cacheBytesReported, String jdk,
                   String os, String thp, String memoryMechanism, String prefetch, long maxHeapBytes,
                   String numa, List<Map<String, Object>> nodes, String cpusUsed, Map<Long, Long> hugetlbFree,
                   List<Map<String, Object>> tableHugePages) {

    /** A machine with only the fields a test cares about; topology fields are a single node. */
    static MachineInfo of(int cpus, long memoryBytes, long llcBytes, long cacheBytesReported) {
        return new MachineInfo("test cpu", cpus, memoryBytes, llcBytes, cacheBytesReported, "25", "Linux", "madvise",
                "mmap", "native", 16L << 30, "1 NUMA node", List.of(), "0-" + (cpus - 1), Map.of(), List.of());
    }

    /** This record with the huge pages HashKernel's tables got. */
    MachineInfo withTableHugePages(List<Map<String, Object>> pages) {
        return new MachineInfo(cpu, cpus, memoryBytes, llcBytes, cacheBytesReported, jdk, os, thp, memoryMechanism,
                prefetch, maxHeapBytes, numa, nodes, cpusUsed, hugetlbFree, List.copyOf(pages));
    }

    public static MachineInfo current() {
        Topology topology = Topology.read();
        OptionalLong llc = topology.llcBytes();
        return new MachineInfo(cpuinfo("model name", System.getProperty("os.arch")),
                Runtime.getRuntime().availableProcessors(),
                MachineMemory.read().map(MachineMemory::totalBytes).orElse(0L), llc.orElse(0),
                cacheBytes(cpuinfo("cache size", "")),
                System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ")",
                System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                MachineMemory.transparentHugePageMode(), Memory.activeMechanism(),
                Prefetchers.describe(Prefetchers.selected()), Runtime.getRuntime().maxMemory(),
                topology.describe(), nodes(topology), affinity(), HugePages.hugetlbFree(), List.of());
    }

    private static List<Map<String, Object>> nodes(Topology topology) {
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (Topology.Node n : topology.nodes()) {
            Map<String, Object> node = new LinkedHashMap<>();
            node.put("id", n.id());
            node.put("cpus", n.cpus().toString());
            node.put("memoryBytes", n.memoryBytes());
            nodes.add(node);
        }
        return nodes;
    }

    private static String affinity() {
        try {
            return Affinity.available() ? Affinity.current().toString() : "unknown: thread affinity unavailable";
        } catch (RuntimeException e) {
            return "unknown: " + e.getMessage();
        }
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
