package io.hashkernel.pm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The first page of a table file: two copies of the header, at bytes 0 and 2048, each with its
 * own checksum. A header write goes to the copy not holding the newest epoch and is flushed, so a
 * write torn by a crash leaves the other copy intact; the copy with a valid checksum and the
 * higher epoch is the header. Where the other copy is damaged, the header is not taken as clean
 * (the damaged copy may have been a newer one saying "open"), so the table is recovered.
 *
 * <pre>
 *   0  magic "HKPMTBL\0"   8  layout version (int)   12 persistence of the last open (int)
 *   16 capacity (slots)    24 missing value          32 hash seed
 *   40 epoch               48 state: 1 clean, 0 open, 2 clearing   56 mappings at a clean close
 *   64 CRC32C of bytes 0..63
 * </pre>
 *
 * <p>State clearing: an in-place {@code clear()} is under way, and the slots may be part cleared;
 * the next open clears them all before anything else.
 *
 * @param capacity     slots of the table (a power of two)
 * @param missingValue the table's missing value
 * @param seed         the table's hash seed: a table's layout depends on it
 * @param epoch        incremented by every header write
 * @param state        {@link #OPEN}, {@link #CLEAN} or {@link #CLEARING}
 * @param persistence  the persistence the table was last opened with (ordinal)
 * @param mappings     the table's size at a clean close
 */
record Header(long capacity, long missingValue, long seed, long epoch, long state, int persistence,
              long mappings) {

    /** State: open, or closed without a clean close. */
    static final long OPEN = 0;
    /** State: closed cleanly ({@code mappings} is the table's size). */
    static final long CLEAN = 1;
    /** State: an in-place clear was under way. */
    static final long CLEARING = 2;

    /** Bytes before the slot array: one page, which keeps the slots page- and line-aligned. */
    static final long PAGE = 4096;
    static final long MAGIC = 0x004C42544D504B48L; // "HKPMTBL\0" little-endian
    /**
     * The layout version written: 2 added state {@link #CLEARING}, which a reader of version 1
     * would take for "open".
     */
    static final int VERSION = 2;
    /** The oldest layout version read: a version 1 file never says {@link #CLEARING}. */
    static final int OLDEST_VERSION = 1;
    private static final long COPY_BYTES = 2048;
    private static final long CHECKED_BYTES = 64;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    /** The header with {@code epoch + 1}, {@code state}, {@code persistence} and {@code mappings}. */
    Header next(long state, int persistence, long mappings) {
        return new Header(capacity, missingValue, seed, epoch + 1, state, persistence, mappings);
    }

    /** Whether the table was closed cleanly (and {@code mappings} is its size). */
    boolean clean() {
        return state == CLEAN;
    }

    /** Offset of the copy this header is written to. */
    long copyOffset() {
        return (epoch & 1) * COPY_BYTES;
    }

    /** Writes this header into its copy of {@code page}; the caller flushes that copy. */
    void writeTo(MemorySegment page) {
        long at = copyOffset();
        page.set(LONG, at, MAGIC);
        page.set(INT, at + 8, VERSION);
        page.set(INT, at + 12, persistence);
        page.set(LONG, at + 16, capacity);
        page.set(LONG, at + 24, missingValue);
        page.set(LONG, at + 32, seed);
        page.set(LONG, at + 40, epoch);
        page.set(LONG, at + 48, state);
        page.set(LONG, at + 56, mappings);
        page.set(INT, at + CHECKED_BYTES, checksum(page, at));
    }

    /** Bytes of the copy {@link #writeTo} writes, from {@link #copyOffset()}. */
    static long copyBytes() {
        return CHECKED_BYTES + 4;
    }

    private static int checksum(MemorySegment page, long at) {
        CRC32C crc = new CRC32C();
        crc.update(page.asSlice(at, CHECKED_BYTES).asByteBuffer());
        return (int) crc.getValue();
    }

    /**
     * The header of {@code page} (the file's first {@link #PAGE} bytes).
     *
     * @throws TableFileException if neither copy is a valid header of this layout
     */
    static Header read(MemorySegment page, Path file) throws TableFileException {
        Header best = null;
        boolean magic = false;
        boolean damaged = false;
        boolean other = false;
        int otherVersion = 0;
        for (long at = 0; at < 2 * COPY_BYTES; at += COPY_BYTES) {
            if (page.get(LONG, at) != MAGIC) {
                continue;
            }
            magic = true;
            if (page.get(INT, at + CHECKED_BYTES) != checksum(page, at)) {
                damaged = true;
                continue;
            }
            int version = page.get(INT, at + 8);
            if (version < OLDEST_VERSION || version > VERSION) {
                other = true;
                otherVersion = version;
                continue;
            }
            long state = page.get(LONG, at + 48);
            Header h = new Header(page.get(LONG, at + 16), page.get(LONG, at + 24), page.get(LONG, at + 32),
                    page.get(LONG, at + 40), state == CLEAN || state == CLEARING ? state : OPEN, page.get(INT, at + 12),
                    page.get(LONG, at + 56));
            if (best == null || h.epoch > best.epoch) {
                best = h;
            }
        }
        if (best != null) {
            if (best.capacity < 4 || Long.bitCount(best.capacity) != 1 || best.capacity > 1L << 58) {
                throw new TableFileException(file, TableFileException.Problem.CORRUPT_HEADER,
                        "header says capacity " + best.capacity + ", not a power of two between 4 and 2^58");
            }
            // A damaged copy may have been the newer one, saying "open": then "clean" cannot be
            // trusted, and the table is recovered (a torn header write costs one needless recovery).
            return damaged && best.clean() ? new Header(best.capacity, best.missingValue, best.seed, best.epoch, OPEN,
                    best.persistence, 0) : best;
        }
        if (other) {
            throw new TableFileException(file, TableFileException.Problem.OTHER_LAYOUT, "a HashKernel table file of layout version "
                    + otherVersion + "; this library reads versions " + OLDEST_VERSION + " to " + VERSION);
        }
        if (magic) {
            throw new TableFileException(file, TableFileException.Problem.CORRUPT_HEADER,
                    "both copies of the header fail their CRC32C checksum");
        }
        throw new TableFileException(file, TableFileException.Problem.OTHER_LAYOUT,
                "not a HashKernel table file (no header magic at byte 0 or 2048)");
    }
}
