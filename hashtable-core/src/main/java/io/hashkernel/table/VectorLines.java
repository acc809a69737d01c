package io.hashkernel.table;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The line probes of {@link LineTable} with the Vector API: one 512-bit load of the
 * line's eight words, one compare against the key broadcast, the key lanes (0, 2, 4, 6) kept by a
 * mask: fewer instructions a line than the scalar branch-free compare (four checked loads, sixteen
 * ALU operations), which counts over DRAM too, where the probe's instructions do not overlap the
 * misses.
 *
 * <p>Where the CPU's vectors are 256 bits wide (AVX2), the line is two 256-bit loads instead
 * ({@link #lineMasks256}, {@link #lineFind256}, {@link #matches256}), in the places of the scalar
 * compare: a line costs about a third of the scalar compare's time in the cache there. The
 * 512-bit key hashing and value compress have no such twin (AVX2 has no 64-bit lane multiply and
 * no compress): those stay scalar.
 *
 * <p>Everything here links against the module {@code jdk.incubator.vector}: the tables call into
 * this class only when {@link LineCompare#VECTOR} or {@link LineCompare#VECTOR_256} is true,
 * which is only where the module is in the boot layer (constants, so the JIT drops those calls
 * elsewhere and the class never loads).
 */
final class VectorLines {
    private static final VectorSpecies<Long> LINE = LongVector.SPECIES_512;
    /** Half a line: two slots, key and value words. */
    private static final VectorSpecies<Long> HALF = LongVector.SPECIES_256;
    private static final long KEY_LANES = TableLayout.KEY_LANES;

    private VectorLines() {
    }

    /** The widest vectors of longs this CPU runs natively, in bits (narrower ones are faster scalar). */
    static int vectorBits() {
        return LongVector.SPECIES_PREFERRED.vectorBitSize();
    }

    /** As {@link LineTable#lineFind}: value word offset, ABSENT or GO_ON. */
    static long lineFind(MemorySegment m, long base, long key) {
        LongVector line = LongVector.fromMemorySegment(LINE, m, base, ByteOrder.LITTLE_ENDIAN);
        long hit = line.compare(VectorOperators.EQ, key).toLong() & KEY_LANES;
        if (hit != 0) {
            return LineTable.hitOffset(base, hit);
        }
        long free = line.compare(VectorOperators.EQ, TableLayout.EMPTY_KEY).toLong() & KEY_LANES;
        return free != 0 ? LineTable.ABSENT : LineTable.GO_ON;
    }

    /** Eight int lanes, for the tags of eight keys. */
    private static final VectorSpecies<Integer> TAGS = IntVector.SPECIES_256;

    /**
     * The home lines of {@code keys[from, from + count)}, eight keys at a time (as {@link
     * LineTable#homeLine}, with {@code hasher}'s seeds): line byte offsets to {@code
     * lines[n...]}, their tags ({@code firstTag}, {@code firstTag + 1}, ...) to {@code tags[n...]}.
     * Stops before the first group of eight that holds {@link TableLayout#EMPTY_KEY} (served from
     * the side cell, not a line) and before a tail of fewer than eight.
     *
     * @return how many keys it did, a multiple of eight
     */
    static int homeLines(long[] keys, int from, int count, int firstTag, KeyHasher hasher, long lineMask,
                         long[] lines, int[] tags, int n) {
        long whitening = hasher.whitening();
        long multiplier = hasher.multiplier();
        int done = 0;
        for (; done + LINE.length() <= count; done += LINE.length()) {
            LongVector key = LongVector.fromArray(LINE, keys, from + done);
            if (key.compare(VectorOperators.EQ, TableLayout.EMPTY_KEY).anyTrue()) {
                break;
            }
            LongVector h = key.lanewise(VectorOperators.XOR, whitening);
            h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, KeyHasher.SHIFT))
                    .lanewise(VectorOperators.MUL, multiplier);
            h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, KeyHasher.SHIFT))
                    .lanewise(VectorOperators.MUL, KeyHasher.SECOND_MULTIPLIER);
            h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, KeyHasher.SHIFT));
            h.lanewise(VectorOperators.AND, lineMask).lanewise(VectorOperators.LSHL, TableLayout.LINE_SHIFT)
                    .intoArray(lines, n + done);
            IntVector.broadcast(TAGS, firstTag + done).addIndex(1).intoArray(tags, n + done);
        }
        return done;
    }

    /**
     * One round of {@link LineTable#getAll}'s probe for requests {@code [j0, stop)}
     * ({@code stop - j0 <= 64}), as its scalar loop: to each key's place in {@code values} the
     * value (a hit), the missing value (no hit and a free slot), or the key itself (the line full
     * without it). The hit's value word comes out of the same 512-bit load as the keys (one
     * {@code vpcompressq} of the lane after the matching key), not from a second checked read
     * of the line, which saves the second read's bounds and liveness checks on every hit. Each
     * key and value word is read atomically;
     * the value may be read before the key, which is the same as reading it just before the key
     * was read (a slot's key never changes once claimed; a value word of zero reads as absent, as
     * in {@code get}).
     *
     * @return bit {@code j - j0} set for each request whose line was full without its key
     */
    static long probeRound(MemorySegment m, int[] tags, long[] lines, long[] keys, int keysOffset,
                           long[] values, int valuesOffset, long missing, int j0, int stop) {
        long missed = 0;
        for (int j = j0; j < stop; j++) {
            int i = tags[j];
            long key = keys[keysOffset + i];
            LongVector line = LongVector.fromMemorySegment(LINE, m, lines[j], ByteOrder.LITTLE_ENDIAN);
            long hit = line.compare(VectorOperators.EQ, key).toLong() & KEY_LANES;
            long free = line.compare(VectorOperators.EQ, TableLayout.EMPTY_KEY).toLong() & KEY_LANES;
            long word = line.compress(VectorMask.fromLong(LINE, hit << 1)).lane(0);
            long full = ((hit | free) - 1) >> 63; // all ones: no hit and no free slot
            values[valuesOffset + i] = (word ^ missing) & ~full | key & full;
            missed |= (full & 1) << (j - j0);
            // As in the scalar loop: each look is decided by its own loads, in array order.
            VarHandle.loadLoadFence();
        }
        return missed;
    }

    /** As {@link LineTable}'s scalar {@code claimLine}: one 512-bit look at the line, then a hit, a claim, or GO_ON. */
    static long claimLine(MemorySegment m, long base, long key) {
        LongVector line = LongVector.fromMemorySegment(LINE, m, base, ByteOrder.LITTLE_ENDIAN);
        long hit = line.compare(VectorOperators.EQ, key).toLong() & KEY_LANES;
        if (hit != 0) {
            return LineTable.hitOffset(base, hit);
        }
        return LineTable.claimFree(m, base, key,
                line.compare(VectorOperators.EQ, TableLayout.EMPTY_KEY).toLong() & KEY_LANES);
    }

    /** As {@link LineTable#matches}: the key lanes (bits 0, 2, 4, 6) equal to {@code key}. */
    static long matches(MemorySegment m, long base, long key) {
        return LongVector.fromMemorySegment(LINE, m, base, ByteOrder.LITTLE_ENDIAN)
                .compare(VectorOperators.EQ, key).toLong() & KEY_LANES;
    }

    /**
     * As {@link LineTable#lineMasks}, from two 256-bit loads of the line: bit 2i set where key
     * word i equals {@code key}, bit {@link LineTable#FREE_SHIFT} + 2i where it is free. Each
     * word is read atomically, as by the scalar compare's four plain loads.
     */
    static long lineMasks256(MemorySegment m, long base, long key) {
        LongVector low = LongVector.fromMemorySegment(HALF, m, base, ByteOrder.LITTLE_ENDIAN);
        LongVector high = LongVector.fromMemorySegment(HALF, m, base + HALF_BYTES, ByteOrder.LITTLE_ENDIAN);
        long hit = low.compare(VectorOperators.EQ, key).toLong()
                | high.compare(VectorOperators.EQ, key).toLong() << HALF_LANES;
        long free = low.compare(VectorOperators.EQ, TableLayout.EMPTY_KEY).toLong()
                | high.compare(VectorOperators.EQ, TableLayout.EMPTY_KEY).toLong() << HALF_LANES;
        return hit & KEY_LANES | (free & KEY_LANES) << LineTable.FREE_SHIFT;
    }

    /** As {@link LineTable#lineFind}, from {@link #lineMasks256}: value word offset, ABSENT or GO_ON. */
    static long lineFind256(MemorySegment m, long base, long key) {
        long masks = lineMasks256(m, base, key);
        long hit = masks & KEY_LANES;
        if (hit != 0) {
            return LineTable.hitOffset(base, hit);
        }
        return masks >>> LineTable.FREE_SHIFT != 0 ? LineTable.ABSENT : LineTable.GO_ON;
    }

    /** As {@link LineTable#matches}, from two 256-bit loads: the key lanes (bits 0, 2, 4, 6) equal to {@code key}. */
    static long matches256(MemorySegment m, long base, long key) {
        LongVector low = LongVector.fromMemorySegment(HALF, m, base, ByteOrder.LITTLE_ENDIAN);
        LongVector high = LongVector.fromMemorySegment(HALF, m, base + HALF_BYTES, ByteOrder.LITTLE_ENDIAN);
        return (low.compare(VectorOperators.EQ, key).toLong()
                | high.compare(VectorOperators.EQ, key).toLong() << HALF_LANES) & KEY_LANES;
    }

    private static final int HALF_LANES = 4;
    private static final long HALF_BYTES = 32;
}
