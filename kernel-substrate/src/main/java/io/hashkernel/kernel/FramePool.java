package io.hashkernel.kernel;

import io.hashkernel.numa.Memory;
import io.hashkernel.numa.Region;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.BitSet;

/**
 * The physical pool: one huge-page-advised region cut into 2 MiB superpages, each either whole
 * (free or allocated as a 2 MiB frame) or split into 512 frames of 4 KiB. A split superpage
 * merges back into a whole free one when its last 4 KiB frame is freed. Frame numbers count
 * 4 KiB frames from the pool's start; a superpage's number is its first frame's.
 *
 * <p>Not thread-safe: the kernel calls it under its lock. It knows frames, not owners: the
 * kernel's frame map says who holds each allocated frame.
 */
final class FramePool implements AutoCloseable {
    static final long SMALL = FrameSize.SMALL.bytes();
    static final long HUGE = FrameSize.HUGE.bytes();
    static final int PER_SUPERPAGE = (int) (HUGE / SMALL);

    private static final byte WHOLE_FREE = 0;
    private static final byte WHOLE_USED = 1;
    private static final byte SPLIT = 2;

    private final Region region;
    private final MemorySegment memory;
    private final int superpages;
    private final byte[] state;
    /** Per superpage, its free 4 KiB frames (bit i: frame i of the superpage), when split. */
    private final long[][] freeSmall;
    private final int[] freeSmallCount;
    /** Split superpages that have a free 4 KiB frame. */
    private final BitSet withFreeSmall = new BitSet();
    private int wholeFree;
    private long smallFree;

    /**
     * A pool of {@code superpages} 2 MiB superpages.
     *
     * @throws IllegalArgumentException if the memory cannot be had
     */
    FramePool(int superpages) {
        this.superpages = superpages;
        this.region = Memory.allocate(superpages * HUGE, HUGE);
        this.memory = region.segment();
        this.state = new byte[superpages];
        this.freeSmall = new long[superpages][];
        this.freeSmallCount = new int[superpages];
        this.wholeFree = superpages;
    }

    /** The distance, in 4 KiB frame numbers, between consecutive frames of {@code size}. */
    static long step(FrameSize size) {
        return size == FrameSize.SMALL ? 1 : PER_SUPERPAGE;
    }

    int superpages() {
        return superpages;
    }

    long totalSmallFrames() {
        return (long) superpages * PER_SUPERPAGE;
    }

    /** Free memory in 4 KiB frames: whole free superpages count 512 each. */
    long freeSmallFrames() {
        return (long) wholeFree * PER_SUPERPAGE + smallFree;
    }

    int wholeFreeSuperpages() {
        return wholeFree;
    }

    String placement() {
        return region.placement().describe();
    }

    /** The bytes of frame {@code number} of {@code size}, as the kernel's own (unrevocable) view. */
    MemorySegment bytes(long number, long byteSize) {
        return memory.asSlice(number * SMALL, byteSize);
    }

    /** A free 4 KiB frame's number (splitting a whole free superpage if none is free), or -1. */
    long allocateSmall() {
        int s = withFreeSmall.nextSetBit(0);
        if (s < 0) {
            s = firstWholeFree(0);
            if (s < 0) {
                return -1;
            }
            split(s);
        }
        long[] bits = freeSmall[s];
        for (int w = 0; w < bits.length; w++) {
            if (bits[w] != 0) {
                int bit = Long.numberOfTrailingZeros(bits[w]);
                bits[w] &= ~(1L << bit);
                smallFree--;
                if (--freeSmallCount[s] == 0) {
                    withFreeSmall.clear(s);
                }
                return (long) s * PER_SUPERPAGE + w * 64L + bit;
            }
        }
        throw new IllegalStateException("superpage " + s + " counted free frames it does not have");
    }

    /** Frees 4 KiB frame {@code number}, merging its superpage when all 512 are free. */
    void freeSmall(long number) {
        int s = (int) (number / PER_SUPERPAGE);
        int i = (int) (number % PER_SUPERPAGE);
        long[] bits = freeSmall[s];
        if (state[s] != SPLIT || (bits[i >>> 6] & 1L << i) != 0) {
            throw new IllegalStateException("4 KiB frame " + number + " is not allocated");
        }
        bits[i >>> 6] |= 1L << i;
        smallFree++;
        if (++freeSmallCount[s] == PER_SUPERPAGE) {
            merge(s);
        } else {
            withFreeSmall.set(s);
        }
    }

    /**
     * The first of {@code count} contiguous whole free superpages, marked allocated, as a frame
     * number; or -1 if the pool has no such run.
     */
    long allocateHuge(int count) {
        for (int s = firstWholeFree(0); s >= 0 && s + count <= superpages; s = firstWholeFree(s + 1)) {
            int run = 1;
            while (run < count && state[s + run] == WHOLE_FREE) {
                run++;
            }
            if (run == count) {
                for (int j = s; j < s + count; j++) {
                    state[j] = WHOLE_USED;
                }
                wholeFree -= count;
                return (long) s * PER_SUPERPAGE;
            }
            s += run - 1;
        }
        return -1;
    }

    /** Frees the allocated superpage whose first frame is {@code number}. */
    void freeHuge(long number) {
        int s = (int) (number / PER_SUPERPAGE);
        if (number % PER_SUPERPAGE != 0 || state[s] != WHOLE_USED) {
            throw new IllegalStateException("superpage at frame " + number + " is not allocated whole");
        }
        state[s] = WHOLE_FREE;
        wholeFree++;
    }

    /**
     * Splits the allocated superpage at frame {@code number} into 512 allocated 4 KiB frames
     * (its holder keeps them all).
     */
    void splitAllocated(long number) {
        int s = (int) (number / PER_SUPERPAGE);
        if (!isHugeAllocated(number)) {
            throw new IllegalStateException("superpage at frame " + number + " is not allocated whole");
        }
        state[s] = SPLIT;
        freeSmall[s] = new long[PER_SUPERPAGE / 64];
        freeSmallCount[s] = 0;
    }

    /** Merges split superpage {@code s}, all of whose 4 KiB frames are allocated, into one allocated superpage. */
    void mergeAllocated(int s) {
        if (state[s] != SPLIT || freeSmallCount[s] != 0) {
            throw new IllegalStateException("superpage " + s + " is not split with every frame allocated");
        }
        state[s] = WHOLE_USED;
        freeSmall[s] = null;
    }

    /** Whether {@code number} is a frame of this pool. */
    boolean inPool(long number) {
        return number >= 0 && number < totalSmallFrames();
    }

    /** Whether 4 KiB frame {@code number} is allocated (its superpage split, its bit clear). */
    boolean isSmallAllocated(long number) {
        int s = (int) (number / PER_SUPERPAGE);
        int i = (int) (number % PER_SUPERPAGE);
        return state[s] == SPLIT && (freeSmall[s][i >>> 6] & 1L << i) == 0;
    }

    /** Whether the superpage starting at frame {@code number} is allocated whole. */
    boolean isHugeAllocated(long number) {
        return number % PER_SUPERPAGE == 0 && state[(int) (number / PER_SUPERPAGE)] == WHOLE_USED;
    }

    /** Whether superpage {@code s} is split into 4 KiB frames. */
    boolean isSplit(int s) {
        return state[s] == SPLIT;
    }

    /** Allocated 4 KiB frames, counted from the bitmaps (for the invariant check). */
    long countAllocatedSmall() {
        long n = 0;
        for (int s = 0; s < superpages; s++) {
            if (state[s] == SPLIT) {
                n += PER_SUPERPAGE - freeSmallCount[s];
            }
        }
        return n;
    }

    /** Allocated whole superpages, counted from the states (for the invariant check). */
    long countAllocatedHuge() {
        long n = 0;
        for (byte b : state) {
            n += b == WHOLE_USED ? 1 : 0;
        }
        return n;
    }

    private int firstWholeFree(int from) {
        for (int s = from; s < superpages; s++) {
            if (state[s] == WHOLE_FREE) {
                return s;
            }
        }
        return -1;
    }

    private void split(int s) {
        state[s] = SPLIT;
        long[] bits = new long[PER_SUPERPAGE / 64];
        Arrays.fill(bits, -1L);
        freeSmall[s] = bits;
        freeSmallCount[s] = PER_SUPERPAGE;
        withFreeSmall.set(s);
        wholeFree--;
        smallFree += PER_SUPERPAGE;
    }

    private void merge(int s) {
        state[s] = WHOLE_FREE;
        freeSmall[s] = null;
        freeSmallCount[s] = 0;
        withFreeSmall.clear(s);
        wholeFree++;
        smallFree -= PER_SUPERPAGE;
    }

    @Override
    public void close() {
        region.close();
    }
}
