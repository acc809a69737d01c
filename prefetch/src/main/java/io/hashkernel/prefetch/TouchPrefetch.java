package io.hashkernel.prefetch;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The pure-Java fallback: one independent load per line ("touch"), which the CPU overlaps because
 * no load depends on another. Unlike a prefetch instruction, each touch occupies a slot of the
 * CPU's load queue until its line arrives, so it overlaps fewer misses. Offsets outside the region
 * are skipped.
 */
public final class TouchPrefetch implements PrefetchStrategy {
    /** The one instance. */
    public static final TouchPrefetch INSTANCE = new TouchPrefetch();

    /** Written rarely so that the touches cannot be optimised away. */
    private static volatile long sink;

    private TouchPrefetch() {
    }

    @Override
    public void prefetch(MemorySegment region, long[] offsets, int count) {
        java.util.Objects.checkFromToIndex(0, count, offsets.length);
        long size = region.byteSize();
        long sum = 0;
        for (int i = 0; i < count; i++) {
            long offset = offsets[i];
            if (offset >= 0 && offset < size) {
                sum += region.get(ValueLayout.JAVA_BYTE, offset);
            }
        }
        if (sum == 0x5EED) {
            sink = sum;
        }
    }

    @Override
    public String name() {
        return "touch";
    }
}
