package io.hashkernel.bench;

import io.hashkernel.numa.CpuCaches;
import io.hashkernel.numa.MachineMemory;
import io.hashkernel.numa.Memory;

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
 * @param memoryMechanism how HashKernel obtains memory here
 * @param maxHeapBytes   the JVM's maximum heap (peers live there)
 */
record MachineInfo(String cpu, int cpus, long memoryBytes, long llcBytes, String jdk, String os,
                   String thp, String memoryMechanism, long maxHeapBytes) {

    static MachineInfo current() {
        OptionalLong llc = CpuCaches.lastLevelCacheBytes();
        return new MachineInfo(cpuModel(), Runtime.getRuntime().availableProcessors(),
                MachineMemory.read().map(MachineMemory::totalBytes).orElse(0L), llc.orElse(0),
                System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ")",
                System.getProperty("os.name") + " " + System.getProperty("os.arch"),
                MachineMemory.transparentHugePageMode(), Memory.activeMechanism(), Runtime.getRuntime().maxMemory());
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return System.getProperty("os.arch");
    }

    /** One line for the report header. */
    String describe() {
        return String.format(java.util.Locale.ROOT, "%s, %d cpus, %s RAM, LLC %s, JDK %s, %s, THP %s, heap max %s",
                cpu, cpus, MachineMemory.format(memoryBytes),
                llcBytes > 0 ? MachineMemory.format(llcBytes) : "not reported", jdk, os, thp,
                MachineMemory.format(maxHeapBytes));
    }
}
