package io.hashkernel.numa;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.lang.invoke.VarHandle;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The libc calls HashKernel makes, bound once through FFM downcalls. This is the only class of
 * the module that performs restricted FFM operations ({@code downcallHandle}, {@code reinterpret}).
 *
 * <p>{@link #load()} never throws: where the calls cannot be bound (not Linux, native access
 * denied, a symbol missing) it returns {@code null} and {@link #unavailableReason()} says why.
 * The {@code restricted} lint is silenced here, and only here, because this is the one place that
 * is meant to make such calls.
 */
@SuppressWarnings("restricted")
final class LibC {
    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_PRIVATE = 0x02;
    static final int MAP_ANONYMOUS = 0x20;
    static final int MAP_NORESERVE = 0x4000;
    static final int MAP_HUGETLB = 0x40000;
    static final int MAP_HUGE_SHIFT = 26;
    static final int MADV_HUGEPAGE = 14;
    static final int ENOMEM = 12;
    static final int ENOSYS = 38;
    static final int MPOL_BIND = 2;
    static final int MPOL_INTERLEAVE = 3;

    private static final long MAP_FAILED = -1L;
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(
            java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    private static final LibC INSTANCE;
    private static final String UNAVAILABLE_REASON;

    static {
        LibC lib = null;
        String reason = null;
        String os = System.getProperty("os.name", "?");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
            reason = "not Linux (os.name=" + os + ")";
        } else {
            try {
                lib = new LibC();
            } catch (IllegalCallerException e) {
                reason = "native access is not enabled for io.hashkernel.numa ("
                        + e.getMessage() + "); pass --enable-native-access=ALL-UNNAMED";
            } catch (RuntimeException | LinkageError e) {
                reason = "libc calls could not be bound: " + e;
            }
        }
        INSTANCE = lib;
        UNAVAILABLE_REASON = reason;
    }

    private final MethodHandle mmap;
    private final MethodHandle munmap;
    private final MethodHandle madvise;
    private final MethodHandle strerror;
    private final MethodHandle schedSetaffinity;
    private final MethodHandle schedGetaffinity;
    private final MethodHandle syscall6;
    /** {@code SYS_mbind} of this architecture, or -1 where unknown. */
    private final long sysMbind;

    private LibC() {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        mmap = linker.downcallHandle(find(libc, "mmap"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                errno);
        munmap = linker.downcallHandle(find(libc, "munmap"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                errno);
        madvise = linker.downcallHandle(find(libc, "madvise"),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT),
                errno);
        strerror = linker.downcallHandle(find(libc, "strerror"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
        FunctionDescriptor affinity = FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_LONG, ValueLayout.ADDRESS);
        schedSetaffinity = linker.downcallHandle(find(libc, "sched_setaffinity"), affinity, errno);
        schedGetaffinity = linker.downcallHandle(find(libc, "sched_getaffinity"), affinity, errno);
        // long syscall(long number, ...): variadic after the number; six long arguments.
        syscall6 = linker.downcallHandle(find(libc, "syscall"),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG),
                errno, Linker.Option.firstVariadicArg(1));
        String arch = System.getProperty("os.arch", "");
        sysMbind = switch (arch) {
            case "amd64", "x86_64" -> 237;
            case "aarch64", "arm64" -> 235;
            default -> -1;
        };
    }

    private static MemorySegment find(SymbolLookup lookup, String name) {
        return lookup.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
    }

    /** The bound calls, or {@code null} where they are unavailable. */
    static LibC load() {
        return INSTANCE;
    }

    /** Why {@link #load()} returned {@code null}; {@code null} when it did not. */
    static String unavailableReason() {
        return UNAVAILABLE_REASON;
    }

    /** Thrown by the call wrappers with the failed call, its arguments and errno decoded. */
    static final class ErrnoException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int errno;

        ErrnoException(String message, int errno) {
            super(message);
            this.errno = errno;
        }
    }

    /**
     * {@code mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0)}.
     *
     * @return the address of the new anonymous, zero-filled mapping
     */
    long mmapAnonymous(long length) {
        return mmap(length, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    }

    /**
     * {@code mmap} of {@code length} bytes of explicit huge pages of {@code pageSize} bytes
     * ({@code MAP_HUGETLB} with the size's log2 in the flags). Without {@code MAP_NORESERVE}: the
     * pages are reserved now, so an empty pool fails here (ENOMEM) rather than at first touch.
     */
    long mmapHugetlb(long length, long pageSize) {
        int log2 = Long.numberOfTrailingZeros(pageSize);
        return mmap(length, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (log2 << MAP_HUGE_SHIFT));
    }

    private long mmap(long length, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            long address = (long) mmap.invokeExact(state, 0L, length, PROT_READ | PROT_WRITE, flags, -1, 0L);
            if (address == MAP_FAILED) {
                int err = (int) ERRNO.get(state, 0L);
                throw new ErrnoException("mmap of " + length + " bytes failed: " + describe(err), err);
            }
            return address;
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mmap downcall failed", t);
        }
    }

    void munmap(long address, long length) {
        if (length == 0) {
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            int rc = (int) munmap.invokeExact(state, address, length);
            if (rc != 0) {
                int err = (int) ERRNO.get(state, 0L);
                throw new ErrnoException("munmap(0x" + Long.toHexString(address) + ", " + length
                        + ") failed: " + describe(err), err);
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("munmap downcall failed", t);
        }
    }

    /** {@code madvise(address, length, advice)}; returns 0 or the errno it failed with. */
    int madvise(long address, long length, int advice) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            int rc = (int) madvise.invokeExact(state, address, length, advice);
            return rc == 0 ? 0 : (int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("madvise downcall failed", t);
        }
    }

    /**
     * {@code sched_setaffinity(0, ...)}: the calling thread may run only on {@code cpus}.
     *
     * @return 0 or the errno it failed with
     */
    int setAffinity(CpuList cpus) {
        int words = Math.max(16, (cpus.bound() + 63) >>> 6);   // at least a glibc cpu_set_t (1024 CPUs)
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = bitmask(arena, cpus, words);
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            int rc = (int) schedSetaffinity.invokeExact(state, 0, mask.byteSize(), mask);
            return rc == 0 ? 0 : (int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("sched_setaffinity downcall failed", t);
        }
    }

    /** {@code sched_getaffinity(0, ...)}: the CPUs the calling thread may run on. */
    CpuList getAffinity() {
        for (int words = 16; words <= 1 << 14; words <<= 1) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment mask = arena.allocate(ValueLayout.JAVA_LONG, words);
                MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
                int rc = (int) schedGetaffinity.invokeExact(state, 0, mask.byteSize(), mask);
                if (rc < 0) {
                    int err = (int) ERRNO.get(state, 0L);
                    if (err == 22) {        // EINVAL: the kernel's mask is larger; retry wider
                        continue;
                    }
                    throw new ErrnoException("sched_getaffinity failed: " + describe(err), err);
                }
                List<Integer> cpus = new ArrayList<>();
                for (int w = 0; w < words; w++) {
                    long bits = mask.getAtIndex(ValueLayout.JAVA_LONG, w);
                    while (bits != 0) {
                        cpus.add(w * 64 + Long.numberOfTrailingZeros(bits));
                        bits &= bits - 1;
                    }
                }
                return CpuList.of(cpus.stream().mapToInt(Integer::intValue).toArray());
            } catch (ErrnoException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("sched_getaffinity downcall failed", t);
            }
        }
        throw new IllegalStateException("sched_getaffinity: no mask size up to 1M CPUs was accepted");
    }

    /**
     * {@code mbind(address, length, mode, nodemask, maxnode, 0)} through {@code syscall} (glibc
     * has no wrapper; libnuma is not assumed).
     *
     * @return 0 or the errno it failed with ({@code ENOSYS} where this architecture's number is unknown)
     */
    int mbind(long address, long length, int mode, CpuList nodes) {
        if (sysMbind < 0) {
            return ENOSYS;
        }
        int words = Math.max(1, (nodes.bound() + 63) >>> 6);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment mask = bitmask(arena, nodes, words);
            MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            long rc = (long) syscall6.invokeExact(state, sysMbind, address, length, (long) mode, mask.address(),
                    (long) words * 64 + 1, 0L);
            return rc == 0 ? 0 : (int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mbind syscall failed", t);
        }
    }

    /** A kernel bit mask ({@code cpu_set_t}, {@code nodemask}) of {@code words} longs with the set's bits. */
    private static MemorySegment bitmask(Arena arena, CpuList set, int words) {
        MemorySegment mask = arena.allocate(ValueLayout.JAVA_LONG, words);
        for (int bit : set.toArray()) {
            long at = (long) (bit >>> 6) * Long.BYTES;
            mask.set(ValueLayout.JAVA_LONG, at, mask.get(ValueLayout.JAVA_LONG, at) | (1L << (bit & 63)));
        }
        return mask;
    }

    /** "ENOMEM-like text (errno 12)" from the C library's own message table. */
    String describe(int errno) {
        try {
            MemorySegment text = (MemorySegment) strerror.invokeExact(errno);
            String message = text.equals(MemorySegment.NULL) ? "unknown error"
                    : text.reinterpret(256).getString(0);
            return message + " (errno " + errno + ")";
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    /**
     * A segment over {@code [address, address + length)} that belongs to {@code arena}; closing the
     * arena runs {@code cleanup} once, after which every access to the segment throws.
     */
    static MemorySegment segmentOf(long address, long length, Arena arena, Consumer<MemorySegment> cleanup) {
        return MemorySegment.ofAddress(address).reinterpret(length, arena, cleanup);
    }
}
