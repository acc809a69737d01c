package io.hashkernel.pm;

import jdk.nio.mapmode.ExtendedMapMode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** {@link Storage} on the file system: the table file and {@code <file>.log} beside it. */
final class FileStorage implements Storage {
    private static final int ZEROS = 1 << 20;

    private final Path file;
    private final Path log;
    private final Path creating;

    FileStorage(Path file) {
        this.file = file.toAbsolutePath();
        this.log = this.file.resolveSibling(this.file.getFileName() + ".log");
        this.creating = this.file.resolveSibling(this.file.getFileName() + ".creating");
    }

    @Override
    public Path path() {
        return file;
    }

    @Override
    public boolean exists() {
        return Files.exists(file);
    }

    @Override
    public boolean logExists() {
        return Files.exists(log);
    }

    @Override
    public void replaceLog(ByteBuffer contents) throws IOException {
        Path next = log.resolveSibling(log.getFileName() + ".new");
        int start = contents.position();
        Uninterrupted.run(() -> {
            contents.position(start);
            try (FileChannel ch = FileChannel.open(next, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                while (contents.hasRemaining()) {
                    ch.write(contents);
                }
                ch.force(true);
            }
        });
        Files.move(next, log, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        forceDirectory(file.getParent());
    }

    @Override
    public void deleteLog() throws IOException {
        if (Files.deleteIfExists(log)) {
            forceDirectory(file.getParent());
        }
    }

    @Override
    public void create(long bytes, MemorySegment firstPage) throws IOException {
        Path dir = file.getParent();
        if (!Files.isDirectory(dir)) {
            throw new TableFileException(file, TableFileException.Problem.MISSING, "directory " + dir + " does not exist");
        }
        if (!Files.isWritable(dir)) {
            throw new TableFileException(file, TableFileException.Problem.READ_ONLY, "directory " + dir + " is not writable");
        }
        long usable = Files.getFileStore(dir).getUsableSpace();
        if (usable < bytes) {
            throw new TableFileException(file, TableFileException.Problem.DISK_FULL, "the table needs " + bytes
                    + " bytes; the file system has " + usable + " usable");
        }
        // Written in full (not a sparse file): a write to a mapped hole on a full disk would be a
        // SIGBUS, here it is an IOException before anything is mapped.
        boolean done = false;
        try {
            ByteBuffer zeros = ByteBuffer.allocateDirect(ZEROS);
            Uninterrupted.run(() -> {
                try (FileChannel ch = FileChannel.open(creating, StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                    ByteBuffer page = firstPage.asByteBuffer();
                    while (page.hasRemaining()) {
                        ch.write(page, page.position());
                    }
                    for (long at = firstPage.byteSize(); at < bytes; ) {
                        zeros.clear().limit((int) Math.min(ZEROS, bytes - at));
                        at += ch.write(zeros, at);
                    }
                    ch.force(true);
                }
            });
            Files.move(creating, file, StandardCopyOption.ATOMIC_MOVE);
            forceDirectory(dir);
            done = true;
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("No space left")) {
                throw new TableFileException(file, TableFileException.Problem.DISK_FULL, "the table needs " + bytes
                        + " bytes; writing them failed: " + e.getMessage());
            }
            throw e;
        } finally {
            if (!done) {
                Files.deleteIfExists(creating);
            }
        }
    }

    private static void forceDirectory(Path dir) throws IOException {
        Uninterrupted.run(() -> {
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            }
        });
    }

    @Override
    public TableFile openTable() throws IOException {
        // The channel's size and map are interruptible: an interrupted opener opens again.
        return Uninterrupted.call(this::openTableOnce);
    }

    private TableFile openTableOnce() throws IOException {
        if (!Files.isWritable(file)) {
            throw new TableFileException(file, TableFileException.Problem.READ_ONLY, "the file is not writable");
        }
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (FileSystemException e) {
            if (deniedWrite(e)) {
                throw new TableFileException(file, TableFileException.Problem.READ_ONLY,
                        "the file cannot be opened for writing: " + e.getReason());
            }
            throw e;
        }
        Arena arena = null;
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new TableFileException(file, TableFileException.Problem.LOCKED,
                        "another table (in this or another process) has the file open");
            }
            long size = ch.size();
            if (size < Header.PAGE) {
                throw new TableFileException(file, TableFileException.Problem.TOO_SMALL,
                        size + " bytes, shorter than the " + Header.PAGE + "-byte header page");
            }
            arena = Arena.ofShared();
            boolean sync = true;
            MemorySegment segment;
            try {
                segment = ch.map(ExtendedMapMode.READ_WRITE_SYNC, 0, size, arena);
            } catch (ClosedChannelException interrupted) {
                throw interrupted; // not a refusal of the mode: the caller opens again
            } catch (UnsupportedOperationException | IOException notDax) {
                sync = false;
                segment = ch.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            }
            return new Mapped(ch, arena, segment, sync);
        } catch (IOException | RuntimeException | Error e) {
            if (arena != null) {
                arena.close();
            }
            ch.close();
            throw e;
        }
    }

    @Override
    public LogFile openLog() throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(log, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (FileSystemException e) {
            if (deniedWrite(e)) {
                throw new TableFileException(log, TableFileException.Problem.READ_ONLY,
                        "the redo log cannot be opened for writing: " + e.getReason());
            }
            throw e;
        }
        return new ReopeningLog(ch);
    }

    /** The mapped, locked table file. */
    private final class Mapped implements TableFile {
        private final FileChannel channel;
        private final Arena arena;
        private final MemorySegment segment;
        private final boolean sync;
        private boolean closed;

        Mapped(FileChannel channel, Arena arena, MemorySegment segment, boolean sync) {
            this.channel = channel;
            this.arena = arena;
            this.segment = segment;
            this.sync = sync;
        }

        @Override
        public MemorySegment segment() {
            return segment;
        }

        @Override
        public void flush(long offset, long length) {
            segment.asSlice(offset, length).force();
        }

        @Override
        public boolean synchronous() {
            return sync;
        }

        @Override
        public String description() {
            return sync ? "mmap READ_WRITE_SYNC (DAX) of " + file : "mmap READ_WRITE + msync of " + file;
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                arena.close();
            } finally {
                try {
                    channel.close(); // releases the lock
                } catch (IOException e) {
                    throw new UncheckedIOException("closing " + file, e);
                }
            }
        }
    }

    /**
     * The redo log's channel. A {@link FileChannel} is interruptible: an interrupt of any thread
     * inside its I/O closes it for every thread, so one cancelled writer would stop the table's
     * writes until it was reopened. Each call here that meets a closed channel (not closed by
     * {@link #close}) reopens the file and repeats: reads, positional writes, forces, truncations
     * and the size may all be repeated. A write's offset follows the buffer's position, not the
     * count {@code write} returns: a write that an interrupt ends after it wrote returns nothing
     * but has moved the position. The caller's interrupt status is kept. One call reopens at
     * most {@link Uninterrupted#REOPENS} times before it throws; the next call reopens again.
     */
    private final class ReopeningLog implements LogFile {
        private final Object reopenLock = new Object();
        private volatile FileChannel channel;
        private volatile boolean closed;

        ReopeningLog(FileChannel channel) {
            this.channel = channel;
        }

        @Override
        public long size() throws IOException {
            return io(FileChannel::size);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            long base = position - dst.position();
            return io(ch -> {
                while (dst.hasRemaining()) {
                    if (ch.read(dst, base + dst.position()) < 0) {
                        break;
                    }
                }
                return (int) (base + dst.position() - position);
            });
        }

        @Override
        public void write(ByteBuffer src, long position) throws IOException {
            long base = position - src.position();
            io(ch -> {
                while (src.hasRemaining()) {
                    ch.write(src, base + src.position());
                }
                return null;
            });
        }

        @Override
        public void force() throws IOException {
            io(ch -> {
                ch.force(false);
                return null;
            });
        }

        @Override
        public void truncate(long size) throws IOException {
            io(ch -> ch.truncate(size));
        }

        @Override
        public void close() throws IOException {
            synchronized (reopenLock) {
                closed = true;
                channel.close();
            }
        }

        private <T> T io(Uninterrupted.ChannelCall<T> call) throws IOException {
            return Uninterrupted.onChannel(() -> channel, () -> closed, this::reopen, call);
        }

        private void reopen(FileChannel stale) throws IOException {
            synchronized (reopenLock) {
                if (channel == stale && !closed) {
                    stale.close();
                    channel = FileChannel.open(log, StandardOpenOption.READ, StandardOpenOption.WRITE);
                }
            }
        }
    }

    /** Whether {@code e} says the file system refused a write for lack of permission. */
    static boolean deniedWrite(FileSystemException e) {
        return e instanceof AccessDeniedException || String.valueOf(e.getReason()).contains("not permitted");
    }
}
