package io.hashkernel.table.spi;

import io.hashkernel.numa.Memory;
import io.hashkernel.numa.NodePolicy;
import io.hashkernel.numa.Region;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Where a table gets its memory. The default is huge-page-advised anonymous memory from
 * {@code io.hashkernel.numa}; a kernel substrate supplies its own regions through this interface.
 *
 * <p>Implementations must be thread-safe and follow the {@link TableMemory} contract; a request
 * that cannot be met throws {@link IllegalArgumentException} saying what was asked and what is
 * available.
 */
@FunctionalInterface
public interface MemoryProvider {

    /**
     * Allocates {@code bytes} zero-filled bytes aligned to {@code alignment}.
     *
     * @throws IllegalArgumentException if the request cannot be met
     */
    TableMemory allocate(long bytes, long alignment);

    /**
     * {@code mmap} + {@code madvise(MADV_HUGEPAGE)}, interleaved over every NUMA node with memory
     * (page by page, so no node's memory bandwidth is the table's bottleneck), with the reported
     * {@code Arena} fallback.
     */
    static MemoryProvider hugePageAdvised() {
        return placed(NodePolicy.interleaveAll());
    }

    /**
     * {@code mmap} + {@code madvise(MADV_HUGEPAGE)}, bound to one NUMA node ({@code mbind}), with
     * the reported {@code Arena} fallback; a binding the kernel refuses is reported in the
     * memory's description, not thrown.
     *
     * @param node a NUMA node number, at least 0
     * @throws IllegalArgumentException if {@code node} is negative
     */
    static MemoryProvider onNode(int node) {
        if (node < 0) {
            throw new IllegalArgumentException("node must be at least 0, was " + node);
        }
        return placed(NodePolicy.bind(node));
    }

    private static MemoryProvider placed(NodePolicy policy) {
        return (bytes, alignment) -> {
            Region region;
            try {
                region = Memory.allocate(bytes, alignment, policy);
            } catch (IllegalArgumentException e) {
                // The same message, without the numa module's own exception type.
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            return new TableMemory() {
                @Override
                public MemorySegment segment() {
                    return region.segment();
                }

                @Override
                public String description() {
                    return region.placement().describe();
                }

                @Override
                public long hugePageBytes() {
                    return region.hugePageBytes();
                }

                @Override
                public void close() {
                    region.close();
                }
            };
        };
    }

    /**
     * Memory from {@link Arena#ofAuto()}: freed by the garbage collector once the table is
     * unreachable, not by {@code close()}. For many small, short-lived tables (tests, stress runs).
     */
    static MemoryProvider gcManaged() {
        return (bytes, alignment) -> new TableMemory() {
            private final MemorySegment segment = Arena.ofAuto().allocate(bytes, alignment);

            @Override
            public MemorySegment segment() {
                return segment;
            }

            @Override
            public String description() {
                return "Arena.ofAuto (GC-managed)";
            }

            @Override
            public void close() {
                // Freed by the GC once unreachable; the table refuses access after close itself.
            }
        };
    }
}
