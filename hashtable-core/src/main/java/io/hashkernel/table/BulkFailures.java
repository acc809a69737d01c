package io.hashkernel.table;

/**
 * What the pieces or partition groups of one bulk put could not do, gathered while the rest goes
 * on and thrown once at the end: {@link TableFullException} with the count where every failure
 * was a lack of room, else {@link IllegalStateException} with the first other failure (a growth
 * whose memory was refused) as its cause. Not thread-safe; one per call.
 */
final class BulkFailures {
    private long notPut;
    private TableFullException full;
    private long failedKeys;
    private boolean failedExactly = true;
    private RuntimeException failure;

    /** {@code keys} keys found no room, as {@code e} says. */
    void full(TableFullException e, long keys) {
        notPut += keys;
        if (full == null) {
            full = e;
        }
    }

    /** {@code keys} keys (or, if not {@code exact}, at most that many) were not put because of {@code e}. */
    void failed(RuntimeException e, long keys, boolean exact) {
        failedKeys += keys;
        failedExactly &= exact;
        if (failure == null) {
            failure = e;
        }
    }

    /** Throws what was gathered, if anything, for a call of {@code length} keys. */
    void throwIfAny(long length) {
        if (failure != null) {
            IllegalStateException e = new IllegalStateException((failedExactly ? "" : "up to ")
                    + (failedKeys + notPut) + " of " + length + " keys were not put ("
                    + (notPut > 0 ? notPut + " found no room; " : "") + "the first failure: " + failure.getMessage()
                    + "); every other key was put", failure);
            if (full != null) {
                e.addSuppressed(full);
            }
            throw e;
        }
        if (full != null) {
            throw new TableFullException(notPut + " of " + length + " keys found no room and were not put;"
                    + " the others were. " + full.getMessage(), notPut);
        }
    }
}
