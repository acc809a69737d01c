package io.hashkernel.pm;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Where a table's two files live: the file system ({@link FileStorage}) or, for the power-cut
 * drill, a simulated disk that remembers what was flushed ({@link SimulatedDisk}).
 */
interface Storage {

    /** The table file's path, for messages. */
    Path path();

    /** Whether the table file exists. */
    boolean exists();

    /**
     * Creates the table file: {@code bytes} bytes, the first page {@code firstPage}, the rest
     * zero, all of it on stable storage and space for all of it reserved, atomically (a crash
     * leaves no file or the whole one).
     */
    void create(long bytes, MemorySegment firstPage) throws IOException;

    /** Opens and locks the existing table file and maps all of it for reading and writing. */
    TableFile openTable() throws IOException;

    /** Opens the redo log beside the table file, creating it empty if absent. */
    LogFile openLog() throws IOException;

    /** Whether a redo log file exists beside the table file. */
    boolean logExists();

    /** Replaces the redo log file by one holding {@code contents}, durably and atomically. */
    void replaceLog(ByteBuffer contents) throws IOException;

    /** Removes the redo log file, durably; nothing if there is none. */
    void deleteLog() throws IOException;

    /** The mapped table file. */
    interface TableFile extends Closeable {
        /** The whole file, mapped. */
        MemorySegment segment();

        /** Makes {@code [offset, offset + length)} of the file durable. */
        void flush(long offset, long length);

        /** Whether the mapping is synchronous (DAX): a flush writes back cache lines, not pages. */
        boolean synchronous();

        /** How the file is mapped, in one line, for reports. */
        String description();

        /** Unmaps and unlocks; idempotent. */
        @Override
        void close();
    }

    /** The redo log file. */
    interface LogFile extends Closeable {
        long size() throws IOException;

        /** Reads into {@code dst} from {@code position} until it is full or the file ends; bytes read. */
        int read(ByteBuffer dst, long position) throws IOException;

        /** Writes all of {@code src} at {@code position} (not yet durable). */
        void write(ByteBuffer src, long position) throws IOException;

        /** Makes what was written durable ({@code fdatasync}). */
        void force() throws IOException;

        /** Cuts the file to {@code size} bytes (durable only after the next {@link #force}). */
        void truncate(long size) throws IOException;

        @Override
        void close() throws IOException;
    }
}
