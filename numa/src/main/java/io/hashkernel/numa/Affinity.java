package io.hashkernel.numa;

/**
 * Pinning the calling thread to CPUs ({@code sched_setaffinity}) and reading where it may run
 * ({@code sched_getaffinity}), on Linux. Pinning checks the CPUs against the {@link Topology}
 * first, so a bad CPU or node number gets a message naming the ones there are.
 */
public final class Affinity {
    private Affinity() {
    }

    /** Whether this JVM can pin threads (Linux, native access enabled). */
    public static boolean available() {
        return LibC.load() != null;
    }

    /** The CPUs the calling thread may run on. @throws UnsupportedOperationException where unavailable */
    public static CpuList current() {
        return libc().getAffinity();
    }

    /** Pins the calling thread to one online CPU. */
    public static void pin(int cpu) {
        pin(CpuList.of(cpu));
    }

    /** Pins the calling thread to the online CPUs of a NUMA node. */
    public static void pinToNode(int node) {
        Topology topology = Topology.read();
        CpuList cpus = topology.node(node).cpus();
        if (cpus.isEmpty()) {
            throw new IllegalArgumentException("NUMA node " + node + " has no online CPU to run on (a memory-only"
                    + " node); nodes with CPUs: " + CpuList.of(topology.nodes().stream()
                    .filter(n -> !n.cpus().isEmpty()).mapToInt(Topology.Node::id).toArray()));
        }
        pin(cpus);
    }

    /**
     * Pins the calling thread to a set of online CPUs.
     *
     * @throws IllegalArgumentException when the set is empty or names a CPU that is not online
     * @throws IllegalStateException    when the kernel refuses (the message has its errno)
     */
    public static void pin(CpuList cpus) {
        LibC libc = libc();
        if (cpus.isEmpty()) {
            throw new IllegalArgumentException("cannot pin a thread to no CPU");
        }
        CpuList online = Topology.read().onlineCpus();
        CpuList unknown = cpus.minus(online);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("CPU " + unknown + " is not online; online CPUs: " + online);
        }
        int err = libc.setAffinity(cpus);
        if (err != 0) {
            throw new IllegalStateException("sched_setaffinity(" + cpus + ") refused: " + libc.describe(err));
        }
    }

    private static LibC libc() {
        LibC libc = LibC.load();
        if (libc == null) {
            throw new UnsupportedOperationException("thread affinity is unavailable: " + LibC.unavailableReason());
        }
        return libc;
    }
}
