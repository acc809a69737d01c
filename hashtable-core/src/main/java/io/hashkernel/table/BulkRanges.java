package io.hashkernel.table;

import java.util.Objects;

/** Argument checks shared by the bulk calls. */
final class BulkRanges {
    private BulkRanges() {
    }

    /** Checks both ranges, and that they do not overlap unless they are the same range. */
    static void check(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        Objects.checkFromIndexSize(keysOffset, length, keys.length);
        Objects.checkFromIndexSize(valuesOffset, length, values.length);
        if (keys == values && keysOffset != valuesOffset && length > 0
                && keysOffset < valuesOffset + length && valuesOffset < keysOffset + length) {
            throw new IllegalArgumentException("keys [" + keysOffset + ", " + (keysOffset + length)
                    + ") and values [" + valuesOffset + ", " + (valuesOffset + length)
                    + ") overlap in one array; use disjoint ranges or the same range (in place)");
        }
    }

    /** Throws if a value in the range is the missing value, naming its index. */
    static void checkValues(long[] values, int offset, int length, long missingValue) {
        for (int i = 0; i < length; i++) {
            if (values[offset + i] == missingValue) {
                throw new IllegalArgumentException("values[" + (offset + i) + "] = " + missingValue
                        + " is the table's missingValue and cannot be stored; nothing was put");
            }
        }
    }
}
