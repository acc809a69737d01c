package io.hashkernel.table;

/**
 * Thrown by an insert of a new key into a table whose every slot is claimed. The table is
 * unchanged by the failed call and remains fully usable for existing keys.
 */
public final class TableFullException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the capacity and what to do. */
    public TableFullException(String message) {
        super(message);
    }
}
