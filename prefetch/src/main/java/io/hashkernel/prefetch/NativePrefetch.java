package io.hashkernel.prefetch;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import java.util.Objects;

/**
 * Real prefetch instructions for a whole batch through one critical FFM downcall.
 *
 * <p>Mechanism: at class initialisation 27 bytes of x86-64 machine code are copied into a private
 * anonymous mapping, which is then made read+execute ({@code mmap}, {@code mprotect}), and bound
 * as a downcall with {@link Linker.Option#critical(boolean) critical(true)}, so the offsets array
 * is passed straight from the Java heap without copying. This needs no C compiler, no shared
 * library and no file: it works from the plain jar. The routine (System V ABI):
 *
 * <pre>
 *   ; void prefetch_batch(char *base, long *offsets, long count, long size)
 *        test rdx, rdx          ; nothing to do?
 *        jz   done
 *   loop:
 *        mov  rax, [rsi]        ; offset
 *        cmp  rax, rcx          ; unsigned: offset &lt; size (negative offsets fail too)
 *        jae  next
 *        prefetcht0 [rdi + rax]
 *   next:
 *        add  rsi, 8
 *        dec  rdx
 *        jnz  loop
 *   done:
 *        ret
 * </pre>
 *
 * A second copy of the routine, for {@link #prefetchForWrite}, has {@code prefetchw} (bytes
 * {@code 0f 0d 0c 07}) where this one has {@code prefetcht0} ({@code 0f 18 0c 07}): the line
 * arrives in a state this core may write without a second coherence transaction. It is installed
 * only where {@code /proc/cpuinfo} lists {@code 3dnowprefetch} (the CPUID bit of {@code
 * PREFETCHW}); elsewhere writes are prefetched as reads.
 *
 * <p>Only x86-64 Linux is enabled (the one platform this was tested on); elsewhere
 * {@link #load()} reports why and {@link Prefetchers} falls back to {@link TouchPrefetch}.
 * A prefetch instruction never faults, and the bounds check keeps every hint inside the region.
 * This is the only class of the module with restricted FFM calls.
 */
@SuppressWarnings("restricted")
public final class NativePrefetch implements PrefetchStrategy {

    private static final byte[] X86_64_CODE = {
        0x48, (byte) 0x85, (byte) 0xd2,             // test rdx, rdx
        0x74, 0x15,                                 // jz done (+21)
        0x48, (byte) 0x8b, 0x06,                    // loop: mov rax, [rsi]
        0x48, 0x39, (byte) 0xc8,                    // cmp rax, rcx
        0x73, 0x04,                                 // jae next (+4)
        0x0f, 0x18, 0x0c, 0x07,                     // prefetcht0 [rdi + rax]
        0x48, (byte) 0x83, (byte) 0xc6, 0x08,       // next: add rsi, 8
        0x48, (byte) 0xff, (byte) 0xca,             // dec rdx
        0x75, (byte) 0xeb,                          // jnz loop (-21)
        (byte) 0xc3                                 // done: ret
    };

    /** Offset in {@link #X86_64_CODE} of the prefetch's second opcode byte: {@code 0x18} (t0) or {@code 0x0d} (w). */
    private static final int OPCODE_AT = 14;
    private static final byte PREFETCHW_OPCODE = 0x0d;

    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int PROT_EXEC = 4;
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;

    private static final NativePrefetch INSTANCE;
    private static final String UNAVAILABLE_REASON;
    /**
     * The routine's downcall handle, or null. A constant for the JIT, which then links the call
     * site straight to the downcall stub; an instance field left a call through the method
     * handle's lambda form for every batch.
     */
    private static final MethodHandle ROUTINE;
    /** The {@code prefetchw} routine, or {@link #ROUTINE} where the CPU has no {@code PREFETCHW}. */
    private static final MethodHandle WRITE_ROUTINE;
    private static final boolean WRITE_NATIVE;

    static {
        MethodHandle routine = null;
        MethodHandle writeRoutine = null;
        String reason = null;
        String os = System.getProperty("os.name", "?").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "?");
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            reason = "no prefetch routine for " + os + "/" + arch + " (x86-64 Linux only)";
        } else {
            try {
                routine = install(X86_64_CODE);
                if (cpuHasPrefetchw()) {
                    byte[] write = X86_64_CODE.clone();
                    write[OPCODE_AT] = PREFETCHW_OPCODE;
                    writeRoutine = install(write);
                }
            } catch (IllegalCallerException e) {
                reason = "native access is not enabled (" + e.getMessage()
                        + "); pass --enable-native-access=ALL-UNNAMED";
            } catch (Throwable e) {
                reason = "the prefetch routine could not be installed: " + e;
            }
        }
        ROUTINE = routine;
        WRITE_NATIVE = writeRoutine != null;
        WRITE_ROUTINE = writeRoutine != null ? writeRoutine : routine;
        INSTANCE = routine == null ? null : new NativePrefetch();
        UNAVAILABLE_REASON = reason;
    }

    private NativePrefetch() {
    }

    /** The native strategy, or {@code null} where it cannot run; then {@link #unavailableReason()} says why. */
    public static NativePrefetch load() {
        return INSTANCE;
    }

    /** Why {@link #load()} returns {@code null}; {@code null} when it does not. */
    public static String unavailableReason() {
        return UNAVAILABLE_REASON;
    }

    /** Whether {@code /proc/cpuinfo} lists the {@code PREFETCHW} flag ({@code 3dnowprefetch}). */
    private static boolean cpuHasPrefetchw() {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags"))
                    .findFirst()
                    .map(l -> java.util.Arrays.asList(l.substring(l.indexOf(':') + 1).trim().split("\\s+"))
                            .contains("3dnowprefetch"))
                    .orElse(false);
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** Whether {@link #prefetchForWrite} issues {@code prefetchw} (else it prefetches as a read). */
    public static boolean writesNative() {
        return WRITE_NATIVE;
    }

    private static MethodHandle install(byte[] machineCode) throws Throwable {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MethodHandle mprotect = linker.downcallHandle(libc.find("mprotect").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT));
        long page = 4096;
        long address = (long) mmap.invokeExact(0L, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
        if (address == -1L) {
            throw new IllegalStateException("mmap of one page for the prefetch routine failed");
        }
        // The page lives as long as the JVM: the global arena never unmaps it.
        MemorySegment code = MemorySegment.ofAddress(address).reinterpret(page, Arena.global(), null);
        MemorySegment.copy(MemorySegment.ofArray(machineCode), 0, code, 0, machineCode.length);
        int rc = (int) mprotect.invokeExact(address, page, PROT_READ | PROT_EXEC);
        if (rc != 0) {
            throw new IllegalStateException("mprotect(PROT_READ|PROT_EXEC) refused for the prefetch routine");
        }
        return linker.downcallHandle(code,
                FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG),
                Linker.Option.critical(true));
    }

    @Override
    public void prefetch(MemorySegment region, long[] offsets, int count) {
        prefetch(region, offsets, MemorySegment.ofArray(offsets), count);
    }

    @Override
    public void prefetch(MemorySegment region, long[] offsets, MemorySegment offsetsView, int count) {
        if (!nativeRegion(region, offsets, offsetsView, count)) {
            return;
        }
        try {
            // The region goes as a plain address, not a segment: a segment of a shared arena
            // would be acquired and released around the call, two atomic updates of one counter
            // that every thread using the region shares, as costly as the prefetches
            // themselves. A prefetch never faults, so a close racing with this call
            // is harmless. The handle is read from its static final field here, not passed in,
            // so that the JIT links this call site straight to the downcall stub.
            ROUTINE.invokeExact(region.address(), offsetsView, (long) count, region.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("prefetch downcall failed", t);
        }
    }

    /** As {@link #prefetch(MemorySegment, long[], MemorySegment, int)}, with {@code prefetchw} where the CPU has it. */
    @Override
    public void prefetchForWrite(MemorySegment region, long[] offsets, MemorySegment offsetsView, int count) {
        if (!nativeRegion(region, offsets, offsetsView, count)) {
            return;
        }
        try {
            WRITE_ROUTINE.invokeExact(region.address(), offsetsView, (long) count, region.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("prefetch downcall failed", t);
        }
    }

    /**
     * Checks a call's arguments; true where the routine should run, false where a heap region was
     * touched instead (the routine needs an address).
     */
    private static boolean nativeRegion(MemorySegment region, long[] offsets, MemorySegment offsetsView, int count) {
        Objects.checkFromToIndex(0, count, offsets.length);
        if (offsetsView.heapBase().orElse(null) != offsets || offsetsView.byteSize() != 8L * offsets.length) {
            throw new IllegalArgumentException("offsetsView must be MemorySegment.ofArray(offsets)");
        }
        if (!region.isNative()) {
            TouchPrefetch.INSTANCE.prefetch(region, offsets, count);
            return false;
        }
        if (!region.scope().isAlive()) {
            throw new IllegalStateException("prefetch of a region whose arena is closed");
        }
        return true;
    }

    @Override
    public String name() {
        return "native-x86_64";
    }
}
