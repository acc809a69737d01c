package io.hashkernel.numa;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The machine's NUMA nodes, CPUs and last-level cache, read from sysfs
 * ({@code /sys/devices/system/node}, {@code /sys/devices/system/cpu}). The root is injectable so
 * that tests read fixture trees. Where sysfs has no node directory (not Linux, or a container
 * that hides it) the machine is one node holding every online CPU and all memory.
 *
 * @param nodes       the nodes, by id
 * @param onlineCpus  CPUs the kernel runs
 * @param offlineCpus CPUs present but offline
 * @param cpus        every online CPU with its node, package and core
 * @param llcBytes    the last-level cache of the first online CPU, where sysfs says
 * @param fromSysfs   whether the nodes were read from sysfs (false: the one-node fallback)
 */
public record Topology(List<Node> nodes, CpuList onlineCpus, CpuList offlineCpus, List<Cpu> cpus,
                       OptionalLong llcBytes, boolean fromSysfs) {
    private static final Path SYS = Path.of("/sys");
    private static final Pattern NODE_MEM = Pattern.compile("MemTotal:\\s+(\\d+)\\s*kB");

    /**
     * A NUMA node.
     *
     * @param id          its number
     * @param cpus        its online CPUs (empty for a memory-only node)
     * @param memoryBytes its memory (0 for a memoryless node)
     */
    public record Node(int id, CpuList cpus, long memoryBytes) {
        /** Whether memory can be placed on it. */
        public boolean hasMemory() {
            return memoryBytes > 0;
        }
    }

    /**
     * An online CPU.
     *
     * @param id        its number
     * @param node      the node it belongs to
     * @param packageId its socket
     * @param coreId    its core within the socket (SMT siblings share it)
     */
    public record Cpu(int id, int node, int packageId, int coreId) {
    }

    public Topology {
        nodes = List.copyOf(nodes);
        cpus = List.copyOf(cpus);
    }

    /** This machine's topology. */
    public static Topology read() {
        return read(SYS);
    }

    /** The topology under {@code sysRoot} (a directory laid out like {@code /sys}). */
    public static Topology read(Path sysRoot) {
        Path cpuDir = sysRoot.resolve("devices/system/cpu");
        Path nodeDir = sysRoot.resolve("devices/system/node");
        CpuList online = readList(cpuDir.resolve("online"))
                .orElseGet(() -> CpuList.parse("0-" + (Runtime.getRuntime().availableProcessors() - 1)));
        CpuList offline = readList(cpuDir.resolve("offline")).orElse(CpuList.empty());
        List<Node> nodes = new ArrayList<>();
        if (Files.isDirectory(nodeDir)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(nodeDir, "node[0-9]*")) {
                for (Path d : dirs) {
                    int id = Integer.parseInt(d.getFileName().toString().substring(4));
                    CpuList cpus = readList(d.resolve("cpulist")).orElse(CpuList.empty());
                    // sysfs lists a node's present CPUs; keep the online ones.
                    cpus = cpus.minus(cpus.minus(online));
                    nodes.add(new Node(id, cpus, nodeMemory(d.resolve("meminfo"))));
                }
            } catch (IOException | RuntimeException e) {
                nodes.clear();
            }
        }
        boolean fromSysfs = !nodes.isEmpty();
        if (!fromSysfs) {
            long memory = MachineMemory.read().map(MachineMemory::totalBytes).orElse(0L);
            nodes.add(new Node(0, online, memory));
        }
        nodes.sort(Comparator.comparingInt(Node::id));
        List<Cpu> cpus = new ArrayList<>();
        for (int id : online.toArray()) {
            int node = nodes.stream().filter(n -> n.cpus().contains(id)).mapToInt(Node::id).findFirst().orElse(0);
            Path topo = cpuDir.resolve("cpu" + id).resolve("topology");
            cpus.add(new Cpu(id, node, readInt(topo.resolve("physical_package_id"), 0),
                    readInt(topo.resolve("core_id"), id)));
        }
        OptionalLong llc = online.isEmpty() ? OptionalLong.empty()
                : CpuCaches.lastLevelCacheBytes(cpuDir.resolve("cpu" + online.toArray()[0]).resolve("cache"));
        return new Topology(nodes, online, offline, cpus, llc, fromSysfs);
    }

    /** The node with this id. @throws IllegalArgumentException naming the nodes there are */
    public Node node(int id) {
        for (Node n : nodes) {
            if (n.id() == id) {
                return n;
            }
        }
        throw new IllegalArgumentException("no NUMA node " + id + "; this machine has node(s) " + nodeIds());
    }

    /** The node ids, in the kernel's list format. */
    public CpuList nodeIds() {
        return CpuList.of(nodes.stream().mapToInt(Node::id).toArray());
    }

    /** The nodes that have memory. */
    public CpuList memoryNodes() {
        return CpuList.of(nodes.stream().filter(Node::hasMemory).mapToInt(Node::id).toArray());
    }

    /** Sockets with an online CPU. */
    public int packages() {
        return (int) cpus.stream().mapToInt(Cpu::packageId).distinct().count();
    }

    /** Physical cores with an online CPU (SMT siblings counted once). */
    public int cores() {
        Set<Long> cores = new HashSet<>();
        for (Cpu c : cpus) {
            cores.add(((long) c.packageId() << 32) | (c.coreId() & 0xFFFFFFFFL));
        }
        return cores.size();
    }

    /** One line for reports: nodes with their CPUs and memory, sockets, cores, CPUs, LLC. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(nodes.size()).append(nodes.size() == 1 ? " NUMA node" : " NUMA nodes");
        if (!fromSysfs) {
            sb.append(" (sysfs has none: assumed)");
        }
        sb.append(" [");
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            sb.append(i == 0 ? "" : "; ").append("node ").append(n.id()).append(": cpus ")
                    .append(n.cpus().isEmpty() ? "none" : n.cpus().toString()).append(", ")
                    .append(n.hasMemory() ? MachineMemory.format(n.memoryBytes()) : "no memory");
        }
        sb.append("], ").append(packages()).append(packages() == 1 ? " socket, " : " sockets, ")
                .append(cores()).append(" cores, ").append(onlineCpus.size()).append(" cpus online");
        if (!offlineCpus.isEmpty()) {
            sb.append(" (offline: ").append(offlineCpus).append(')');
        }
        llcBytes.ifPresent(b -> sb.append(", LLC ").append(MachineMemory.format(b)));
        return sb.toString();
    }

    private static java.util.Optional<CpuList> readList(Path file) {
        try {
            return java.util.Optional.of(CpuList.parse(Files.readString(file)));
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    private static int readInt(Path file, int otherwise) {
        try {
            return Integer.parseInt(Files.readString(file).trim());
        } catch (IOException | NumberFormatException e) {
            return otherwise;
        }
    }

    private static long nodeMemory(Path meminfo) throws IOException {
        if (!Files.exists(meminfo)) {
            return 0;
        }
        Matcher m = NODE_MEM.matcher(Files.readString(meminfo));
        return m.find() ? Long.parseLong(m.group(1)) << 10 : 0;
    }

    @Override
    public String toString() {
        return describe();
    }
}
