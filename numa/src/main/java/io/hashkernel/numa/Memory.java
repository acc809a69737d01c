package io.hashkernel.numa;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;
import java.util.Optional;

/**
 * Allocates {@link Region}s: anonymous {@code mmap} with {@code madvise(MADV_HUGEPAGE)} where the
 * libc calls can be bound, otherwise (or when asked) the JDK's shared {@link Arena}, and says
 * which in the region's {@link Placement}.
 *
 * <p>The system property {@value #MODE_PROPERTY} ({@code auto}, the default, or {@code arena})
 * forces the fallback, for example to compare the two.
 *
 * <p>Requests are checked before anything is mapped: a size that is not positive, an alignment
 * that is not a power of two, or more bytes than the machine has available throws
 * {@link IllegalArgumentException} (or {@link InsufficientMemoryException}) naming the request
 * and the limit.
 */
public final class Memory {
    /** System property that selects the allocation mode: {@code auto} or {@code arena}. */
    public static final String MODE_PROPERTY = "hashkernel.memory";

    /** Requests at least this large are aligned to and advised for 2 MiB huge pages. */
    public static final long HUGE_PAGE_SIZE = 2L << 20;

    private Memory() {
    }

    /** Thrown when a request exceeds the physical memory the machine has available. */
    public static final class InsufficientMemoryException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        InsufficientMemoryException(String message) {
            super(message);
        }
    }

    /** Which mechanism {@link #allocate} will use, as a sentence: "mmap (libc)" or why not. */
    public static String activeMechanism() {
        if (forcedArena()) {
            return "Arena (forced by -D" + MODE_PROPERTY + "=arena)";
        }
        return LibC.load() != null ? "mmap+madvise via libc" : "Arena (fallback: " + LibC.unavailableReason() + ")";
    }

    /**
     * Allocates {@code bytes} zero-filled bytes aligned to {@code alignment} (and, for requests of
     * at least {@link #HUGE_PAGE_SIZE}, to the huge-page size, advised for huge pages).
     *
     * @throws IllegalArgumentException     if {@code bytes <= 0} or {@code alignment} is not a
     *                                      positive power of two
     * @throws InsufficientMemoryException if the machine has less memory available than asked
     */
    public static Region allocate(long bytes, long alignment) {
        return allocate(bytes, alignment, NodePolicy.DEFAULT);
    }

    /**
     * As {@link #allocate(long, long)}, with the pages placed among NUMA nodes by {@code policy}
     * ({@code mbind} right after the mapping, before any page is touched). A policy the kernel
     * refuses leaves the default placement and says why in the region's {@link Placement}; an
     * {@code Arena} region cannot be placed and says so.
     */
    public static Region allocate(long bytes, long alignment, NodePolicy policy) {
        return allocate(bytes, alignment, policy, HugePages.Mode.configured());
    }

    /**
     * As {@link #allocate(long, long, NodePolicy)}, with explicit huge pages as {@code pages} says:
     * {@link HugePages.Mode#TRANSPARENT} maps small pages and advises transparent huge pages;
     * {@code EXPLICIT_2M}/{@code EXPLICIT_1G} map hugetlb pages of that size (the region rounded
     * up to whole pages); {@link HugePages.Mode#AUTO} takes explicit pages when the pool has enough
     * free for the region (1 GiB pages for regions of 1 GiB or more, else 2 MiB). An explicit
     * mapping the kernel refuses (an empty pool, no hugetlb support) falls back to transparent huge
     * pages and says so in the {@link Placement}.
     */
    public static Region allocate(long bytes, long alignment, NodePolicy policy, HugePages.Mode pages) {
        java.util.Objects.requireNonNull(policy, "policy");
        java.util.Objects.requireNonNull(pages, "pages");
        if (bytes <= 0) {
            throw new IllegalArgumentException("region size must be positive, was " + bytes + " bytes");
        }
        if (alignment <= 0 || Long.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a positive power of two, was " + alignment);
        }
        Optional<MachineMemory> machine = MachineMemory.read();
        if (machine.isPresent() && bytes > machine.get().availableBytes()) {
            MachineMemory m = machine.get();
            throw new InsufficientMemoryException(String.format(Locale.ROOT,
                    "cannot allocate %s (%d bytes): this machine has %s available of %s total",
                    MachineMemory.format(bytes), bytes, MachineMemory.format(m.availableBytes()),
                    MachineMemory.format(m.totalBytes())));
        }
        LibC libc = LibC.load();
        if (forcedArena()) {
            return arena(bytes, alignment, "forced by -D" + MODE_PROPERTY + "=arena", policy);
        }
        if (libc == null) {
            return arena(bytes, alignment, LibC.unavailableReason(), policy);
        }
        try {
            long explicit = pages.pageSizeFor(bytes, HugePages::hugetlbFree);
            if (explicit > 0 && alignment <= explicit) {
                long length = roundUp(bytes, explicit);
                try {
                    long start = libc.mmapHugetlb(length, explicit);
                    return finish(libc, start, length, bytes, policy, false, "", explicit);
                } catch (LibC.ErrnoException e) {
                    return mapped(libc, bytes, alignment, policy, "MAP_HUGETLB with " + MachineMemory.format(explicit)
                            + " pages refused (" + e.getMessage() + "); transparent huge pages instead");
                }
            }
            return mapped(libc, bytes, alignment, policy, "");
        } catch (LibC.ErrnoException e) {
            if (e.errno == LibC.ENOMEM) {
                throw new InsufficientMemoryException("cannot allocate " + MachineMemory.format(bytes)
                        + " (" + bytes + " bytes): " + e.getMessage());
            }
            return arena(bytes, alignment, e.getMessage(), policy);
        }
    }

    private static boolean forcedArena() {
        return "arena".equalsIgnoreCase(System.getProperty(MODE_PROPERTY, "auto"));
    }

    private static Region arena(long bytes, long alignment, String reason, NodePolicy policy) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment segment = arena.allocate(bytes, alignment);
            return new Region(arena, segment, new Placement(Placement.Source.ARENA, false, reason,
                    policy.mode() == NodePolicy.Mode.DEFAULT ? policy.describe()
                            : policy.describe() + " (not applied: Arena memory cannot be placed)", 0));
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new InsufficientMemoryException("cannot allocate " + MachineMemory.format(bytes)
                    + " (" + bytes + " bytes) from an Arena: " + e.getMessage());
        }
    }

    private static Region mapped(LibC libc, long bytes, long alignment, NodePolicy policy, String why) {
        boolean huge = bytes >= HUGE_PAGE_SIZE;
        long align = huge ? Math.max(alignment, HUGE_PAGE_SIZE) : alignment;
        long pageSize = 4096;
        long length = roundUp(bytes, pageSize);
        long slack = align > pageSize ? align : 0;
        long raw = libc.mmapAnonymous(length + slack);
        long start = roundUp(raw, align);
        // Give back the unaligned head and the tail beyond the aligned block.
        libc.munmap(raw, start - raw);
        libc.munmap(start + length, raw + length + slack - (start + length));

        String note = why;
        boolean advised = false;
        if (huge) {
            int err = libc.madvise(start, length, LibC.MADV_HUGEPAGE);
            advised = err == 0;
            if (!advised) {
                note = (note.isEmpty() ? "" : note + "; ") + "madvise(MADV_HUGEPAGE) refused: " + libc.describe(err);
            }
        }
        return finish(libc, start, length, bytes, policy, advised, note, 0);
    }

    /** Applies the node policy to a fresh mapping and wraps it in a region that unmaps it on close. */
    private static Region finish(LibC libc, long start, long length, long bytes, NodePolicy policy, boolean advised,
                                 String note, long explicitPageSize) {
        String placed = policy.describe();
        if (policy.mode() != NodePolicy.Mode.DEFAULT) {
            int err = libc.mbind(start, length, policy.kernelMode(), policy.nodes());
            placed += err == 0 ? " (applied)" : " (refused: " + libc.describe(err) + ")";
        }
        Arena arena = Arena.ofShared();
        MemorySegment segment = LibC.segmentOf(start, length, arena, s -> libc.munmap(start, length))
                .asSlice(0, bytes);
        return new Region(arena, segment, new Placement(Placement.Source.MMAP, advised, note, placed,
                explicitPageSize));
    }

    private static long roundUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }
}
