package io.hashkernel.table;

/**
 * Thrown by an insert of a new key into a table whose every slot is claimed. The table is
 * unchanged by the failed call and remains fully usable for existing keys.
 */
public final class TableFullException extends IllegalStateException {
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
