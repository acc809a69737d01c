package io.hashkernel.table;

/**
 * The byte layout of a {@link LineTable}'s memory.
 *
 * <pre>
 *   line 0                                                             64 bytes
 *   +----------------+----------------+----------------+----------------+
 *   | key 0 | value 0| key 1 | value 1| key 2 | value 2| key 3 | value 3|
 *   +----------------+----------------+----------------+----------------+
 *   line 1 ... line (capacity / 4 - 1)
 *   +----------------+---------------------------------------------------+
 *   | unused | value of the key EMPTY_KEY (the side cell)  | unused ...  |   the side line
 *   +----------------+---------------------------------------------------+
 * </pre>
 *
 * <p>A slot is 16 bytes: an 8-byte key word and an 8-byte value word, both naturally aligned.
 * Four slots fill one 64-byte cache line; lines are 64-byte aligned, so a probe of one line is
 * one cache miss. Key word {@link #EMPTY_KEY} (zero, as freshly mapped memory is) marks a free
 * slot; the one key equal to it keeps its value in the side line after the last slot line.
 *
 * <p>Value words hold {@code value ^ missingValue}, so a zero word means "no value" whatever the
 * user's missing value is, and fresh zeroed memory needs no initialisation.
 */
final class TableLayout {
    /** The key word of a free slot. The key with this value lives in the side cell. */
    static final long EMPTY_KEY = 0L;
    /** The value word of a slot without a value (absent, removed, or claimed but not published). */
    static final long NO_VALUE = 0L;

    static final int SLOT_SHIFT = 4;
    static final int SLOT_BYTES = 1 << SLOT_SHIFT;
    static final int VALUE_OFFSET = 8;
    static final int LINE_SHIFT = 6;
    static final int LINE_BYTES = 1 << LINE_SHIFT;
    static final int SLOTS_PER_LINE = LINE_BYTES / SLOT_BYTES;
    /**
     * The key words among a line's eight 8-byte words (key, value, key, value, ...) as a lane
     * mask: bits 0, 2, 4 and 6. Line compares give their results in these bits.
     */
    static final long KEY_LANES = 0x55L;

    /** The largest capacity, in slots: 2^58 slots are 4 EiB, beyond any machine. */
    static final long MAX_CAPACITY = 1L << 58;

    private TableLayout() {
    }

    /** Bytes of memory for {@code capacity} slots plus the side line. */
    static long bytesFor(long capacity) {
        return (capacity << SLOT_SHIFT) + LINE_BYTES;
    }

    /** Byte offset of the side cell's value word for a table of {@code capacity} slots. */
    static long sideValueOffset(long capacity) {
        return (capacity << SLOT_SHIFT) + VALUE_OFFSET;
    }

    /** Rounds a requested capacity up to a power of two of at least one line. */
    static long roundCapacity(long requested) {
        if (requested <= 0 || requested > MAX_CAPACITY) {
            throw new IllegalArgumentException("capacity must be between 1 and 2^58 slots, was " + requested);
        }
        return requested <= SLOTS_PER_LINE ? SLOTS_PER_LINE : Long.highestOneBit(requested - 1) << 1;
    }
}
