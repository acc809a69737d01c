package io.hashkernel.pm;

import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A table file, or a byte map's directory, that cannot be opened or created as asked. The message names the file and what
 * is wrong; {@link #problem()} says which kind of wrong. Whatever the problem, an existing file is
 * left as it was, and a file this open was creating is removed.
 */
public final class TableFileException extends FileSystemException {
    private static final long serialVersionUID = 1L;

    /** What is wrong. */
    public enum Problem {
        /** The file is shorter than its header, or than the table its header describes. */
        TOO_SMALL,
        /** The file is not a HashKernel table file, or one of another layout version. */
        OTHER_LAYOUT,
        /** Both copies of the header fail their checksum. */
        CORRUPT_HEADER,
        /**
         * A byte map's log or snapshot is damaged where it had been made durable (a record fails
         * its checksum before the end of a file that is not the newest log), or a file it needs is
         * missing.
         */
        CORRUPT_LOG,
        /** The builder asked for a capacity or missing value other than the file's. */
        MISMATCH,
        /** The file (or, to create it, its directory) cannot be written. */
        READ_ONLY,
        /** Another process, or another table of this JVM, has the file open. */
        LOCKED,
        /** The file system has too little space for the table. */
        DISK_FULL,
        /** The file does not exist and the builder was told not to create it. */
        MISSING
    }

    private final Problem problem;

    TableFileException(Path file, Problem problem, String reason) {
        super(String.valueOf(file), null, Objects.requireNonNull(problem) + ": " + reason);
        this.problem = problem;
    }

    /** Which kind of wrong. */
    public Problem problem() {
        return problem;
    }
}
