package io.hashkernel.numa;

/**
 * What was actually done to obtain a {@link Region}: where its memory came from and which
 * advice the kernel accepted or refused. A refusal never fails the allocation; it is reported here.
 *
 * @param source         {@link Source#MMAP} (anonymous mapping through libc) or
 *                       {@link Source#ARENA} (the JDK's {@code Arena}, the fallback)
 * @param hugePageAdvice {@code true} when {@code madvise(MADV_HUGEPAGE)} was accepted for the region
 * @param note           why the fallback was taken or the advice refused; empty when neither
 * @param nodePolicy     the NUMA policy asked for and whether the kernel applied it, e.g.
 *                       {@code interleave 0 (applied)} or {@code bind node 1 (refused: ...)}
 * @param explicitHugePageSize the size of the explicit (hugetlb) huge pages the region is made of,
 *                       or 0 when it is not ({@code mmap} of small pages, maybe advised for
 *                       transparent huge pages, or an {@code Arena})
 */
public record Placement(Source source, boolean hugePageAdvice, String note, String nodePolicy,
                        long explicitHugePageSize) {

    /** Where a region's memory came from. */
    public enum Source {
        /** {@code mmap(MAP_ANONYMOUS)} through an FFM downcall, released by {@code munmap}. */
        MMAP,
        /** {@code Arena.allocate}, used where the libc calls are unavailable or were not wanted. */
        ARENA
    }

    public Placement {
        java.util.Objects.requireNonNull(source, "source");
        java.util.Objects.requireNonNull(note, "note");
        java.util.Objects.requireNonNull(nodePolicy, "nodePolicy");
    }

    /** One line for logs and benchmark reports, e.g. {@code mmap+madvise(MADV_HUGEPAGE)}. */
    public String describe() {
        String base = switch (source) {
            case MMAP -> explicitHugePageSize > 0
                    ? "mmap(MAP_HUGETLB, " + MachineMemory.format(explicitHugePageSize) + " pages)"
                    : hugePageAdvice ? "mmap+madvise(MADV_HUGEPAGE)" : "mmap (no huge-page advice)";
            case ARENA -> "Arena (fallback)";
        };
        String withPolicy = nodePolicy.isEmpty() || nodePolicy.startsWith("default") ? base : base + ", " + nodePolicy;
        return note.isEmpty() ? withPolicy : withPolicy + ": " + note;
    }
}
