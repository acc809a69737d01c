package io.hashkernel.pm;

/**
 * What opening a {@link PersistentLongLongTable}'s file found and did.
 *
 * @param created         whether the file was created by this open
 * @param clean           whether the file was closed cleanly last time (no recovery needed)
 * @param nanos           time taken by recovery (repair, recount, log replay and checkpoint); 0 when clean
 * @param repairedValues  value words of unfinished writes that the repair cleared
 * @param replayedEntries redo-log entries replayed
 * @param mappings        mappings in the table after opening
 * @param tableBytes      bytes of the table's slot array
 */
public record RecoveryReport(boolean created, boolean clean, long nanos, long repairedValues,
                             long replayedEntries, long mappings, long tableBytes) {

    /** Recovery time in milliseconds. */
    public double millis() {
        return nanos / 1e6;
    }

    /** Recovery time in milliseconds per GiB of table; 0 when clean. */
    public double millisPerGiB() {
        return tableBytes == 0 ? 0 : millis() * (1L << 30) / tableBytes;
    }
}
