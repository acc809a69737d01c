package io.hashkernel.numa;

/**
 * Where a region's pages go among NUMA nodes: the kernel's default (each page on the node of the
 * thread that first touches it), interleaved page by page over a set of nodes, or bound to one
 * node. Applied with {@code mbind} when the region is mapped; a refusal (EPERM, ENOSYS, EINVAL
 * on a kernel without NUMA, not Linux) never fails the allocation and is reported in the
 * region's {@link Placement}.
 *
 * @param mode  the policy
 * @param nodes the nodes it names (empty for {@link Mode#DEFAULT})
 */
public record NodePolicy(Mode mode, CpuList nodes) {
    /** The kernel's default: first touch. */
    public static final NodePolicy DEFAULT = new NodePolicy(Mode.DEFAULT, CpuList.empty());

    /** A policy's kind. */
    public enum Mode {
        /** Nothing applied: the page goes to the node of the thread that first touches it. */
        DEFAULT,
        /** Pages spread round-robin over the nodes ({@code MPOL_INTERLEAVE}). */
        INTERLEAVE,
        /** Pages only on the node ({@code MPOL_BIND}). */
        BIND
    }

    public NodePolicy {
        java.util.Objects.requireNonNull(mode, "mode");
        java.util.Objects.requireNonNull(nodes, "nodes");
        if (mode != Mode.DEFAULT && nodes.isEmpty()) {
            throw new IllegalArgumentException(mode + " needs at least one node");
        }
    }

    /**
     * Interleaved over {@code nodes}, which must exist and have memory.
     *
     * @throws IllegalArgumentException naming a node that does not exist or has no memory
     */
    public static NodePolicy interleave(CpuList nodes) {
        check(nodes, Topology.read());
        return new NodePolicy(Mode.INTERLEAVE, nodes);
    }

    /** Interleaved over every node that has memory (the non-partitioned table's default). */
    public static NodePolicy interleaveAll() {
        return new NodePolicy(Mode.INTERLEAVE, Topology.read().memoryNodes());
    }

    /**
     * Bound to {@code node}, which must exist and have memory.
     *
     * @throws IllegalArgumentException naming the node and the ones there are
     */
    public static NodePolicy bind(int node) {
        CpuList one = CpuList.of(node);
        check(one, Topology.read());
        return new NodePolicy(Mode.BIND, one);
    }

    static void check(CpuList nodes, Topology topology) {
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("a node policy needs at least one node; this machine has node(s) "
                    + topology.nodeIds());
        }
        for (int n : nodes.toArray()) {
            Topology.Node node = topology.node(n);
            if (!node.hasMemory()) {
                throw new IllegalArgumentException("NUMA node " + n + " has no memory; nodes with memory: "
                        + topology.memoryNodes());
            }
        }
    }

    /** One phrase for reports: {@code interleave 0-1}, {@code bind node 0}, {@code default (first touch)}. */
    public String describe() {
        return switch (mode) {
            case DEFAULT -> "default (first touch)";
            case INTERLEAVE -> "interleave " + nodes;
            case BIND -> "bind node " + nodes;
        };
    }

    int kernelMode() {
        return mode == Mode.BIND ? LibC.MPOL_BIND : LibC.MPOL_INTERLEAVE;
    }
}
