package io.hashkernel.table;

/**
 * Thrown by an insert of a new key into a table whose every slot is claimed (or, for a growing
 * table, that is at its maximum capacity). The failed insert changed nothing, and the table
 * remains fully usable for the keys it holds. It is not an {@link IllegalStateException}, so
 * code that handles a closed table does not swallow a full one.
 */
public final class TableFullException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long notPut;

    /** Creates the exception with a message that names the capacity and what to do; one key not put. */
    public TableFullException(String message) {
        this(message, 1);
    }

    /** As {@link #TableFullException(String)}, for a bulk call that could not put {@code notPut} keys. */
    public TableFullException(String message, long notPut) {
        super(message);
        this.notPut = notPut;
    }

    /** How many keys the failed call could not put (1 for a single put). */
    public long notPut() {
        return notPut;
    }
}
