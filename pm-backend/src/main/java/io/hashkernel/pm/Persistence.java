package io.hashkernel.pm;

/**
 * How a {@link PersistentLongLongTable} makes its writes durable. Both keep the table mapped
 * from its file, so reads cost what the in-memory table's cost.
 */
public enum Persistence {
    /**
     * The persistent-memory way: each write is made durable where it lies in the mapped file. On a
     * DAX file system (persistent memory) the file is mapped with
     * {@code ExtendedMapMode.READ_WRITE_SYNC} and a flush writes back cache lines; elsewhere a
     * flush is an {@code msync} of the dirty pages, a random 4 KiB page write per durable put.
     */
    IN_PLACE,
    /**
     * The block-device way: the writes of a call (a whole batch at once) are appended to a log
     * file beside the table file and made durable by one {@code fdatasync}, shared by the threads
     * that wait for it (group commit); the mapped table is written back lazily at checkpoints,
     * after which the log starts again; recovery replays the log.
     */
    REDO_LOG,
    /** {@link #IN_PLACE} where the file is on a DAX file system, else {@link #REDO_LOG}. */
    AUTO
}
