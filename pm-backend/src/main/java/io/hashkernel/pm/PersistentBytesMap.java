package io.hashkernel.pm;

import io.hashkernel.bytes.BytesMap;
import io.hashkernel.bytes.ConcurrentBytesMap;
import io.hashkernel.table.TableFullException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A durable map from byte strings to byte strings: a {@link ConcurrentBytesMap} in memory, which
 * serves every read, and in a directory an append-only log of its writes with an occasional
 * snapshot, from which opening the directory rebuilds the map. Acknowledged writes survive a
 * process crash and, with {@link Durability#EACH} or {@link Durability#BATCH}, a power cut.
 *
 * <p>Guarantees. Every single-key operation is linearizable, as the in-memory map's, and reads
 * cost what its reads cost (they never touch the files). A write is acknowledged when its call
 * returns; what it then survives is the map's {@link Durability}: {@code EACH} and {@code BATCH}
 * make each single-key call durable before it returns, {@code BATCH} makes a
 * {@link #putAll} durable once for the whole call ({@code EACH}: per element), {@code NONE} only
 * at {@link #flush()}, {@link #checkpoint()} and {@link #close()} (its writes survive a process
 * crash, unless {@link Builder#writeBehind} lets them wait in a buffer). After a crash, opening the
 * directory restores every acknowledged write, and the state it restores is the state after some
 * prefix of the writes in the order the map applied them: an unacknowledged write is there or not,
 * whole, and never without the writes applied before it. {@link #recovery()} says what the open
 * read and how long it took. One map at a time may have a directory open (a lock file). The
 * in-memory map's limit ({@link ConcurrentBytesMap.Builder#maxBytes}, through
 * {@link Builder#map}) applies: a write that does not fit throws {@link TableFullException} and is
 * not logged. A write whose log append fails (a full disk) throws {@link UncheckedIOException}; the
 * map then refuses writes (reads go on) until it is reopened, because memory and log no longer
 * agree. After {@link #close()} every call but {@code close()} and {@link #isClosed()} throws
 * {@link IllegalStateException}.
 *
 * <pre>{@code
 * try (PersistentBytesMap m = PersistentBytesMap.builder(Path.of("sessions"))
 *         .durability(Durability.BATCH).open()) {
 *     m.put(key, value);               // durable when it returns
 *     byte[] v = m.get(key);           // a hash lookup in memory
 * }
 * }</pre>
 *
 * <p>Cost: the data is held twice, in memory and on disk; the log grows until its bytes pass
 * {@link Builder#checkpointBytes} and the live records' bytes, when a thread of the map's own
 * writes a snapshot of the map and deletes the older files (writers go on meanwhile). The disk
 * then holds at most about twice the live data plus {@code checkpointBytes}, and an open reads no
 * more than that.
 */
public final class PersistentBytesMap implements BytesMap {

    /*
     * Implementation notes.
     *
     * Files, in the map's directory: "lock" (held with a file lock while open); logs
     * "<generation>.log" and snapshots "<generation>.snap", the generation in 16 hex digits.
     * Each file starts with a 32-byte header (magic, layout version, generation, checksum); then
     * records: crc32c (4 bytes, of the rest of the record), key length (4), value length (4, -1
     * for a removal), the key's bytes, the value's bytes, little-endian, unaligned. A snapshot
     * holds one put record per mapping. A file is created as "<name>.tmp", forced, renamed and
     * the directory forced, so a file with a final name always has its whole header (and a
     * snapshot all its records).
     *
     * State. The map's state is snapshot S (the newest; none at first) followed by logs S, S+1,
     * ... in order (from 1 when there is no snapshot). Writers apply their write to the in-memory
     * map and append its record to the newest log under one lock (appendLock), so the log's order
     * is the map's order for every key. A record goes to a 1 MiB buffer, which is written to the
     * file when it fills, when a sync needs it, and under NONE before the call returns (what a
     * process crash must not lose is in the page cache) unless the map was opened write-behind.
     *
     * Durability. A log position is durable when a force covered it. sync(p) (group commit): under
     * syncLock, if p is not yet durable, drain the buffer (under appendLock), note the end, force
     * the file outside appendLock and publish the end as durable; threads that waited on syncLock
     * meanwhile usually find their position covered. A write is acknowledged after sync(its end)
     * (EACH, BATCH) or at once (NONE). Lock order: checkpointLock, syncLock, appendLock.
     *
     * Checkpoint (log compaction), on a daemon thread started by the writer that passed the
     * threshold (one at a time: checkpointLock), or in checkpoint()'s caller. (1) Under
     * syncLock and appendLock: drain and force log N, create log N+1, make it current; every
     * write from here on is in log N+1. (2) Without locks: write the in-memory map into
     * N+1.snap.tmp (ConcurrentBytesMap.forEach: a mapping unchanged throughout is seen once;
     * one changed meanwhile is seen at some value it had, whose write is in log N+1 before or
     * at the point the snapshot ends, with every write after it). (3) Sync log N+1 to its end
     * (so every write the snapshot may have seen is durable: the recovered state is a prefix,
     * never a snapshot value whose log record was lost), force the snapshot, rename it, force
     * the directory. (4) Delete the files of generations below N+1. Replaying N+1.snap then
     * log N+1 gives, for each key, its last write in log N+1 if any, else its value at (1),
     * which the snapshot holds: the map's state. A crash at any step leaves either the old
     * state (logs from the old snapshot, N+1 included) or the new one; leftovers are deleted
     * at the next open. If log N+1 cannot be created in (1), the checkpoint deletes what it made
     * of it (its tmp file, the renamed log) and forces the directory, so log N is the newest
     * again, still forced whole with appendLock held, and the map goes on with it; only if that
     * cleanup fails does the map stop taking writes (a log N+1 left beside a log N that grows
     * would make N's unforced tail look like corruption at the next open).
     *
     * Recovery (open). Delete *.tmp. Pick the newest snapshot S; replay it (a record failing its
     * checksum is corruption: it was forced before its rename), then logs S.. (or 1..) in order,
     * which must be consecutive. Every log but the newest was forced whole before its successor
     * was created, so a bad record in it is corruption; in the newest log the first record that is
     * cut short or fails its checksum ends the log: what follows was never made durable (a power
     * cut keeps any subset of unforced pages), and the file is truncated there before new writes.
     * Replay applies records in order, so the state is a prefix of the writes; acknowledged ones
     * are in the durable part, before any cut. (A record damaged inside the forced part of the
     * newest log cannot be told from an unfinished one: the log ends there too.)
     *
     * Interrupts. A FileChannel is interruptible: an interrupt of a thread in its I/O closes it
     * for every thread. Log I/O (onLog) reopens the log and repeats a write or force that met a
     * closed channel (positional writes and forces may be repeated), keeping the interrupt
     * status, so an interrupted caller never stops the map's writes. The write's file offset
     * follows the buffer's position: a write that an interrupt ends after it wrote returns no
     * count but has moved the position. close() does its last I/O before closed is set, so that
     * it may reopen too. A checkpoint's snapshot file is written the same way (SnapshotWriter
     * reopens it and repeats the write or force), so an interrupted checkpoint() completes.
     *
     * Failure. A write is applied to memory before its append; an append or force that fails
     * leaves memory ahead of the log, so the map stops taking writes (failure) until reopened,
     * which restores the log's state.
     */

    /** Log bytes after which a writer checkpoints, unless the live data is larger. */
    public static final long DEFAULT_CHECKPOINT_BYTES = 64L << 20;

    static final int FILE_HEADER = 32;
    static final int RECORD_HEADER = 12;
    static final long LOG_MAGIC = 0x474F4C5342544B48L; // "HKTBSLOG"
    static final long SNAPSHOT_MAGIC = 0x50414E5342544B48L; // "HKTBSNAP"
    static final int VERSION = 1;
    private static final int REMOVED = -1;
    private static final int BUFFER = 1 << 20;
    private static final int CRC_CHUNK = 1 << 30;
    private static final byte[] PRESENT = new byte[0];
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path dir;
    private final ConcurrentBytesMap map;
    private final Durability durability;
    private final boolean writeBehind;
    private final long checkpointBytes;
    private final FileChannel lockChannel;
    private final Recovery recovery;
    private final ReentrantLock checkpointLock = new ReentrantLock();
    private final AtomicBoolean checkpointQueued = new AtomicBoolean();
    private final ReentrantLock syncLock = new ReentrantLock();
    private final ReentrantLock appendLock = new ReentrantLock();
    private final Object reopenLock = new Object();
    /** Test hook: wraps each log channel the map opens. */
    private final UnaryOperator<FileChannel> channels;
    /** Crash-point hook for tests: called with the name of each checkpoint step. */
    private final Consumer<String> steps;

    // Under appendLock.
    private final RecordWriter records = new RecordWriter(this::writeFully);
    /** The newest log; replaced under both locks, or by {@link #reopen} after an interrupt closed it. */
    private volatile FileChannel log;
    private long generation;
    /** Where the buffer's bytes go in the current log. */
    private long filePosition;
    /** Bytes appended since the open, over all generations: a position in the map's write history. */
    private long appended;

    /** Position up to which everything is forced. */
    private volatile long durable;
    /** Where the forced part of the current log ends (the log's bytes a power cut keeps). */
    private volatile long durableFileEnd;
    /** Log bytes since the newest snapshot (of every log since it). */
    private volatile long logBytes;
    /** Log bytes at which a writer next considers a checkpoint. */
    private volatile long checkpointAt;
    private volatile Throwable failure;
    private volatile boolean closed;

    private PersistentBytesMap(Builder b, FileChannel lockChannel, Consumer<String> steps) throws IOException {
        this.dir = b.dir;
        this.durability = b.durability;
        this.writeBehind = b.writeBehind;
        this.checkpointBytes = b.checkpointBytes;
        this.lockChannel = lockChannel;
        this.steps = steps;
        this.channels = b.channels;
        ConcurrentBytesMap.Builder options = ConcurrentBytesMap.builder();
        b.mapOptions.accept(options);
        this.map = options.build();
        try {
            this.recovery = recover();
        } catch (IOException | RuntimeException | Error e) {
            map.close();
            if (log != null) {
                log.close();
            }
            throw e;
        }
        this.durableFileEnd = filePosition;
        this.checkpointAt = checkpointBytes;
    }

    /**
     * A builder for the map in directory {@code dir} (created if missing, with its parents):
     * durability {@link Durability#BATCH}, checkpoints past {@value #DEFAULT_CHECKPOINT_BYTES}
     * bytes of log, the in-memory map's defaults.
     */
    public static Builder builder(Path dir) {
        return new Builder(Objects.requireNonNull(dir, "dir"));
    }

    // ---------------------------------------------------------------- recovery

    private Recovery recover() throws IOException {
        long start = System.nanoTime();
        TreeSet<Long> logs = new TreeSet<>();
        TreeSet<Long> snapshots = new TreeSet<>();
        for (Path t : list(logs, snapshots)) {
            Files.delete(t); // a file whose creation did not finish
        }
        boolean created = logs.isEmpty() && snapshots.isEmpty();
        long snapshot = snapshots.isEmpty() ? 0 : snapshots.last();
        long first = Math.max(1, snapshot);
        long[] counts = new long[2];
        long fileBytes = 0;
        if (snapshot > 0) {
            Path s = file(snapshot, ".snap");
            long end = replay(s, SNAPSHOT_MAGIC, snapshot, counts, 0);
            long size = Files.size(s);
            if (end != size) {
                throw new TableFileException(s, TableFileException.Problem.CORRUPT_LOG,
                        "snapshot record at byte " + end + " of " + size + " fails its checksum");
            }
            fileBytes += size;
        }
        long truncated = 0;
        if (created) {
            this.generation = 1;
            this.log = createLog(1);
            this.filePosition = FILE_HEADER;
        } else {
            long last = logs.isEmpty() ? first - 1 : logs.last();
            for (long g = first; g <= last; g++) {
                if (!logs.contains(g)) {
                    throw new TableFileException(file(g, ".log"), TableFileException.Problem.CORRUPT_LOG,
                            "log missing: the map needs logs " + hex(first) + " to " + hex(last)
                                    + (snapshot > 0 ? " after snapshot " + hex(snapshot) : ""));
                }
                Path p = file(g, ".log");
                long size = Files.size(p);
                long end = replay(p, LOG_MAGIC, g, counts, 1);
                fileBytes += size;
                if (end != size && g != last) {
                    throw new TableFileException(p, TableFileException.Problem.CORRUPT_LOG,
                            "record at byte " + end + " of " + size + " fails its checksum in a log that was forced whole");
                }
                logBytes += end - FILE_HEADER;
                if (g == last) {
                    truncated = size - end;
                    this.log = openLog(p);
                    if (truncated > 0) {
                        log.truncate(end); // what follows was never durable
                        log.force(false);
                    }
                    this.generation = g;
                    this.filePosition = end;
                }
            }
            if (log == null) {
                // A snapshot without its log: it is created before the snapshot, never deleted after.
                throw new TableFileException(file(first, ".log"), TableFileException.Problem.CORRUPT_LOG,
                        "log missing: snapshot " + hex(snapshot) + " has no log");
            }
            deleteBelow(first, logs, snapshots);
        }
        return new Recovery(created, System.nanoTime() - start, counts[0], counts[1], truncated, map.size(), fileBytes);
    }

    /** Applies the records of {@code p} in order; returns where the valid records end. */
    private long replay(Path p, long magic, long g, long[] counts, int counter) throws IOException {
        try (Arena arena = Arena.ofConfined();
             FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < FILE_HEADER) {
                throw new TableFileException(p, TableFileException.Problem.TOO_SMALL, size + " bytes, shorter than the "
                        + FILE_HEADER + "-byte header every log and snapshot starts with");
            }
            MemorySegment m = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (m.get(LONG_LE, 0) != magic || m.get(INT_LE, 8) != VERSION
                    || m.get(LONG_LE, 16) != g || m.get(INT_LE, 24) != (int) headerCrc(magic, g)) {
                throw new TableFileException(p, TableFileException.Problem.OTHER_LAYOUT,
                        "not a HashKernel byte-map " + (magic == LOG_MAGIC ? "log" : "snapshot")
                                + " of generation " + hex(g) + " and layout version " + VERSION);
            }
            CRC32C c = new CRC32C();
            long at = FILE_HEADER;
            while (at + RECORD_HEADER <= size) {
                int keyLength = m.get(INT_LE, at + 4);
                int valueLength = m.get(INT_LE, at + 8);
                if (keyLength < 0 || valueLength < REMOVED) {
                    break;
                }
                long end = at + RECORD_HEADER + keyLength + Math.max(0, valueLength);
                if (end > size) {
                    break;
                }
                c.reset();
                for (long o = at + 4; o < end; o += CRC_CHUNK) {
                    c.update(m.asSlice(o, Math.min(CRC_CHUNK, end - o)).asByteBuffer());
                }
                if ((int) c.getValue() != m.get(INT_LE, at)) {
                    break;
                }
                MemorySegment key = m.asSlice(at + RECORD_HEADER, keyLength);
                if (valueLength == REMOVED) {
                    map.remove(key.toArray(ValueLayout.JAVA_BYTE));
                } else {
                    map.set(key, m.asSlice(at + RECORD_HEADER + keyLength, valueLength));
                }
                counts[counter]++;
                at = end;
            }
            return at;
        }
    }

    /** The generations of the directory's logs and snapshots into the sets; returns its *.tmp files. */
    private List<Path> list(TreeSet<Long> logs, TreeSet<Long> snapshots) throws IOException {
        List<Path> tmp = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    tmp.add(p);
                } else if (name.matches("[0-9a-f]{16}\\.log")) {
                    logs.add(Long.parseUnsignedLong(name.substring(0, 16), 16));
                } else if (name.matches("[0-9a-f]{16}\\.snap")) {
                    snapshots.add(Long.parseUnsignedLong(name.substring(0, 16), 16));
                }
            }
        }
        return tmp;
    }

    private void deleteBelow(long first, TreeSet<Long> logs, TreeSet<Long> snapshots) throws IOException {
        boolean deleted = false;
        for (long g : logs.headSet(first)) {
            deleted |= Files.deleteIfExists(file(g, ".log"));
        }
        for (long g : snapshots.headSet(first)) {
            deleted |= Files.deleteIfExists(file(g, ".snap"));
        }
        if (deleted) {
            forceDirectory();
        }
    }

    // ---------------------------------------------------------------- reads

    @Override
    public byte[] get(byte[] key) {
        return map.get(key);
    }

    /** As {@link ConcurrentBytesMap#get(MemorySegment)}. */
    public byte[] get(MemorySegment key) {
        return map.get(key);
    }

    @Override
    public boolean containsKey(byte[] key) {
        return map.containsKey(key);
    }

    /** Batched, as {@link ConcurrentBytesMap#getAll}. */
    @Override
    public void getAll(byte[][] keys, byte[][] values) {
        map.getAll(keys, values);
    }

    // ---------------------------------------------------------------- writes

    private static final int PUT = 0;
    private static final int SET = 1;
    private static final int PUT_IF_ABSENT = 2;
    private static final int REMOVE = 3;

    /**
     * Maps {@code key} to {@code value}; durable on return unless the durability is
     * {@link Durability#NONE}.
     *
     * @return the previous value (a fresh array), or {@code null} if there was none
     * @throws TableFullException   if the record does not fit in the in-memory map's limit (nothing is written)
     * @throws UncheckedIOException if the log cannot be written (the map then refuses writes)
     */
    @Override
    public byte[] put(byte[] key, byte[] value) {
        return write(PUT, key, Objects.requireNonNull(value, "value"));
    }

    /** As {@link #put}, without copying the previous value; returns whether the key was absent. */
    @Override
    public boolean set(byte[] key, byte[] value) {
        return write(SET, key, Objects.requireNonNull(value, "value")) == null;
    }

    /** As {@link #put} where {@code key} is absent; a present key is left alone and nothing is logged. */
    @Override
    public byte[] putIfAbsent(byte[] key, byte[] value) {
        return write(PUT_IF_ABSENT, key, Objects.requireNonNull(value, "value"));
    }

    /** Removes {@code key}'s mapping, durably as {@link #put}; an absent key logs nothing. */
    @Override
    public byte[] remove(byte[] key) {
        return write(REMOVE, key, null);
    }

    private byte[] write(int op, byte[] key, byte[] value) {
        Objects.requireNonNull(key, "key");
        byte[] result;
        long end;
        appendLock.lock();
        try {
            writable();
            result = apply(op, key, value);
            end = appended;
            if (durability == Durability.NONE && !writeBehind) {
                drainOrFail(); // acknowledged writes must survive the process: in the page cache
            }
        } finally {
            appendLock.unlock();
        }
        if (durability != Durability.NONE) {
            sync(end);
        }
        maybeCheckpoint();
        return result;
    }

    /** Under appendLock: the write applied to memory, then its record appended if it changed anything. */
    private byte[] apply(int op, byte[] key, byte[] value) {
        byte[] result;
        switch (op) {
            case PUT -> result = map.put(key, value);
            case SET -> result = map.set(key, value) ? null : PRESENT;
            case PUT_IF_ABSENT -> {
                result = map.putIfAbsent(key, value);
                if (result != null) {
                    return result;
                }
            }
            default -> {
                result = map.remove(key);
                if (result == null) {
                    return null;
                }
            }
        }
        try {
            append(key, value);
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw failed("appending a record to " + file(generation, ".log") + " failed", e);
        }
        return result;
    }

    /**
     * Writes every pair, in order: {@code values[i] == null} removes {@code keys[i]}. Under
     * {@link Durability#BATCH} the whole call is made durable by one sync; under
     * {@link Durability#EACH} each pair is durable before the next is written.
     *
     * @throws IllegalArgumentException if the arrays' lengths differ
     * @throws NullPointerException     if an array or a key is null (nothing is then written)
     * @throws TableFullException       if a record does not fit (the pairs before it are written)
     */
    @Override
    public void putAll(byte[][] keys, byte[][] values) {
        BytesMap.checkPairs(keys, values);
        long end = 0;
        try {
            for (int i = 0; i < keys.length; i++) {
                appendLock.lock();
                try {
                    writable();
                    apply(values[i] == null ? REMOVE : SET, keys[i], values[i]);
                    end = appended;
                } finally {
                    appendLock.unlock();
                }
                if (durability == Durability.EACH) {
                    sync(end);
                }
            }
        } finally {
            if (durability == Durability.BATCH && end > 0 && failure == null && !closed) {
                sync(end);
            } else if (durability == Durability.NONE && !writeBehind && end > 0) {
                appendLock.lock();
                try {
                    if (failure == null && !closed) {
                        drainOrFail();
                    }
                } finally {
                    appendLock.unlock();
                }
            }
        }
        maybeCheckpoint();
    }

    /** Under appendLock. */
    private void append(byte[] key, byte[] value) throws IOException {
        long bytes = records.put(key, value);
        appended += bytes;
        logBytes += bytes;
    }

    /**
     * Encodes records (checksum, lengths, key, value) into a 1 MiB buffer, which goes to its
     * output when full or drained; a record larger than the buffer goes straight to the output.
     * The log's and the snapshots' records are the same.
     */
    private static final class RecordWriter {
        interface Output {
            void write(ByteBuffer src) throws IOException;
        }

        private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        private final byte[] lengths = new byte[8];
        private final CRC32C crc = new CRC32C();
        private final Output out;

        RecordWriter(Output out) {
            this.out = out;
        }

        /** Writes the record of {@code key} and {@code value} ({@code null}: a removal); returns its bytes. */
        long put(byte[] key, byte[] value) throws IOException {
            int valueLength = value == null ? REMOVED : value.length;
            long bytes = RECORD_HEADER + (long) key.length + Math.max(0, valueLength);
            INT.set(lengths, 0, key.length);
            INT.set(lengths, 4, valueLength);
            crc.reset();
            crc.update(lengths);
            crc.update(key);
            if (value != null) {
                crc.update(value);
            }
            int checksum = (int) crc.getValue();
            if (bytes > buffer.remaining()) {
                drain();
            }
            if (bytes <= buffer.capacity()) {
                buffer.putInt(checksum).put(lengths).put(key);
                if (value != null) {
                    buffer.put(value);
                }
            } else {
                out.write(ByteBuffer.allocate(RECORD_HEADER).order(ByteOrder.LITTLE_ENDIAN).putInt(checksum).put(lengths).flip());
                out.write(ByteBuffer.wrap(key));
                if (value != null) {
                    out.write(ByteBuffer.wrap(value));
                }
            }
            return bytes;
        }

        /** The buffer's records to the output. */
        void drain() throws IOException {
            buffer.flip();
            out.write(buffer);
            buffer.clear();
        }
    }

    /** Under appendLock: as {@link #drain}, a failure stopping the map's writes. */
    private void drainOrFail() {
        try {
            drain();
        } catch (IOException | RuntimeException e) {
            failure = e;
            throw failed("writing the log " + file(generation, ".log") + " failed", e);
        }
    }

    /** Under appendLock: the buffer's records into the log file (not yet forced). */
    private void drain() throws IOException {
        records.drain();
    }

    private void writeFully(ByteBuffer b) throws IOException {
        // The file offset follows the buffer's position, not write's return value: a write that
        // an interrupt ends after it wrote has moved the position but returns nothing.
        long base = filePosition - b.position();
        try {
            onLog(ch -> {
                while (b.hasRemaining()) {
                    ch.write(b, base + b.position());
                }
            });
        } finally {
            filePosition = base + b.position();
        }
    }

    /**
     * I/O that may be repeated on a reopened channel (positional writes, forces): on the newest
     * log under appendLock or syncLock (so the generation holds still), or on a snapshot file.
     */
    private interface ChannelIo {
        void run(FileChannel channel) throws IOException;
    }

    /**
     * Runs {@code io} on the log, again on a reopened log if an interrupt closed it meanwhile:
     * a {@link FileChannel} is interruptible, and an interrupt of any thread in the middle of its
     * I/O closes it for all of them. A positional write and a force may be repeated. The
     * interrupt status is kept.
     */
    private void onLog(ChannelIo io) throws IOException {
        Uninterrupted.onChannel(() -> log, () -> closed, this::reopen, ch -> {
            io.run(ch);
            return null;
        });
    }

    private void reopen(FileChannel stale) throws IOException {
        synchronized (reopenLock) {
            if (log == stale) {
                stale.close();
                log = openLog(file(generation, ".log"));
            }
        }
    }

    /** Group commit: returns once every record up to {@code position} is forced. */
    private void sync(long position) {
        if (durable >= position) {
            return;
        }
        syncLock.lock();
        try {
            if (durable >= position) {
                return;
            }
            long end;
            long fileEnd;
            appendLock.lock();
            try {
                writable();
                drainOrFail();
                end = appended;
                fileEnd = filePosition;
            } finally {
                appendLock.unlock();
            }
            try {
                onLog(c -> c.force(false)); // the log is replaced only under syncLock (held) or by reopen
            } catch (IOException | RuntimeException e) {
                failure = e;
                throw failed("forcing the log " + file(generation, ".log") + " failed", e);
            }
            durable = end;
            durableFileEnd = fileEnd;
        } finally {
            syncLock.unlock();
        }
    }

    /**
     * Makes every write acknowledged so far durable (what {@link Durability#NONE} needs for a
     * power cut; nothing new under the other modes).
     *
     * @throws UncheckedIOException if the log cannot be forced
     */
    public void flush() {
        long end;
        appendLock.lock();
        try {
            writable();
            end = appended;
        } finally {
            appendLock.unlock();
        }
        sync(end);
    }

    // ---------------------------------------------------------------- checkpoints

    /** Past {@code checkpointAt}: a checkpoint on a thread of its own, so that no writer waits for it. */
    private void maybeCheckpoint() {
        if (logBytes < checkpointAt || closed || failure != null || !checkpointQueued.compareAndSet(false, true)) {
            return;
        }
        try {
            Thread.ofPlatform().daemon().name("hashkernel-checkpoint " + dir.getFileName()).start(() -> {
                try {
                    autoCheckpoint();
                } finally {
                    checkpointQueued.set(false);
                }
            });
        } catch (RuntimeException | OutOfMemoryError e) {
            checkpointQueued.set(false); // no thread to be had: the next write tries again
        }
    }

    private void autoCheckpoint() {
        checkpointLock.lock();
        try {
            if (closed || failure != null || logBytes < checkpointAt) {
                return;
            }
            long threshold = Math.max(checkpointBytes, map.liveBytes());
            if (logBytes < threshold) {
                checkpointAt = threshold;
                return;
            }
            checkpointLocked();
        } catch (IOException | RuntimeException e) {
            // The old files stay and replay as before (a failure that stops the map's writes
            // reaches the writers). Try again after another checkpointBytes of log.
            checkpointAt = logBytes + checkpointBytes;
        } finally {
            checkpointLock.unlock();
        }
    }

    /** For tests: waits until no automatic checkpoint is queued or running. */
    void awaitCheckpoints() throws InterruptedException {
        while (checkpointQueued.get()) {
            Thread.sleep(1);
        }
    }

    /**
     * Writes a snapshot of the map and deletes the log before it, so that the directory holds
     * the live data and the next open reads no more. Writes go on meanwhile.
     *
     * <p>An interrupt of the calling thread does not stop it (each of its file writes and forces
     * is repeated after up to 8 interrupts; a storm of more fails it as an I/O error); the
     * interrupt status is kept.
     *
     * @throws UncheckedIOException  if the snapshot cannot be written (the old files are kept)
     * @throws IllegalStateException if the map is closed or has stopped taking writes
     */
    public void checkpoint() {
        checkpointLock.lock();
        try {
            checkpointLocked();
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint of " + dir + " failed", e);
        } finally {
            checkpointLock.unlock();
        }
    }

    private void checkpointLocked() throws IOException {
        long next;
        syncLock.lock();
        try {
            appendLock.lock();
            try {
                writable();
                try {
                    drain();
                    onLog(c -> c.force(false));
                } catch (IOException | RuntimeException | Error e) {
                    failure = e; // memory is ahead of the log
                    throw e;
                }
                durable = appended;
                durableFileEnd = filePosition; // log N stays current if N+1 cannot be made
                next = generation + 1;
                FileChannel created = createNextLog(next);
                FileChannel old = log;
                log = created;
                generation = next;
                filePosition = FILE_HEADER;
                durableFileEnd = FILE_HEADER;
                logBytes = 0;
                checkpointAt = checkpointBytes;
                // Forced whole: a failure to close it loses nothing (it fails this checkpoint
                // before its snapshot; the next one writes it).
                old.close();
            } finally {
                appendLock.unlock();
            }
        } finally {
            syncLock.unlock();
        }
        steps.accept("rotated");
        Path tmp = tmp(file(next, ".snap"));
        try {
            try (SnapshotWriter w = new SnapshotWriter(tmp, next)) {
                map.forEach(w);
                w.finish();
                steps.accept("snapshot written");
                flush(); // every write the snapshot may hold is durable in the new log
                w.force();
            }
            Files.move(tmp, file(next, ".snap"), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException | Error e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        forceDirectory();
        steps.accept("snapshot renamed");
        TreeSet<Long> logs = new TreeSet<>();
        TreeSet<Long> snapshots = new TreeSet<>();
        list(logs, snapshots);
        deleteBelow(next, logs, snapshots);
        steps.accept("old files deleted");
    }

    /**
     * Writes put records to a new snapshot file. An interrupt of the writing thread closes a
     * {@link FileChannel}: the file is then reopened and the write or force repeated (both may
     * be, as on the log), so that an interrupted caller's checkpoint still completes; the
     * interrupt status is kept and restored by {@link #close}.
     */
    private static final class SnapshotWriter implements BiConsumer<byte[], byte[]>, AutoCloseable {
        /** Reopens of the file one write or force may take before its failure is thrown. */
        private static final int REOPENS = 8;

        private final Path file;
        private final RecordWriter records = new RecordWriter(this::writeAll);
        private FileChannel out;
        private long position;
        private boolean interrupted;

        SnapshotWriter(Path file, long generation) throws IOException {
            this.file = file;
            this.out = Uninterrupted.call(() -> FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
            try {
                writeAll(header(SNAPSHOT_MAGIC, generation));
            } catch (IOException | RuntimeException | Error e) {
                try {
                    close(); // the caller has no writer to close: the channel and the interrupt status
                } catch (IOException closing) {
                    e.addSuppressed(closing);
                }
                throw e;
            }
        }

        @Override
        public void accept(byte[] key, byte[] value) {
            try {
                records.put(key, value);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void finish() throws IOException {
            records.drain();
        }

        /** Forces the file's contents and metadata. */
        void force() throws IOException {
            onFile(ch -> ch.force(true));
        }

        private void writeAll(ByteBuffer src) throws IOException {
            // The file offset follows the buffer's position, as on the log: a write that an
            // interrupt ends after it wrote has moved the position but returns nothing.
            long base = position - src.position();
            try {
                onFile(ch -> {
                    while (src.hasRemaining()) {
                        ch.write(src, base + src.position());
                    }
                });
            } finally {
                position = base + src.position();
            }
        }

        /** As {@code onLog} does on the log, on the snapshot file: at most {@link #REOPENS} reopens. */
        private void onFile(ChannelIo io) throws IOException {
            for (int attempt = 0; ; attempt++) {
                try {
                    io.run(out);
                    return;
                } catch (ClosedChannelException e) {
                    interrupted |= Thread.interrupted();
                    if (attempt == REOPENS) {
                        throw e;
                    }
                    out.close();
                    out = Uninterrupted.call(() -> FileChannel.open(file, StandardOpenOption.WRITE));
                }
            }
        }

        @Override
        public void close() throws IOException {
            try {
                out.close();
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    // ---------------------------------------------------------------- files

    private Path file(long g, String suffix) {
        return dir.resolve(hex(g) + suffix);
    }

    private static Path tmp(Path p) {
        return p.resolveSibling(p.getFileName() + ".tmp");
    }

    private static String hex(long g) {
        return String.format("%016x", g);
    }

    private static long headerCrc(long magic, long g) {
        CRC32C c = new CRC32C();
        ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(magic).putInt(VERSION).putInt(0).putLong(g).flip();
        c.update(b);
        return c.getValue();
    }

    private static ByteBuffer header(long magic, long g) {
        return ByteBuffer.allocate(FILE_HEADER).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(magic).putInt(VERSION).putInt(0).putLong(g).putInt((int) headerCrc(magic, g)).putInt(0).flip();
    }

    /**
     * Under both locks, with the newest log forced whole: {@link #createLog}({@code g}). If that
     * fails, the map goes on with its log where {@link #removeLog} puts the directory back as it
     * was; otherwise it stops taking writes.
     */
    private FileChannel createNextLog(long g) throws IOException {
        try {
            return createLog(g);
        } catch (IOException | RuntimeException | Error e) {
            if (!removeLog(g, e)) {
                failure = e;
                throw e;
            }
            if (e instanceof Error error) {
                throw error;
            }
            throw new IOException("creating the log " + file(g, ".log") + " failed; the map goes on with its log", e);
        }
    }

    /**
     * After {@link #createLog}({@code g}) failed: deletes what it left, its temporary file and the
     * new log, durably, so that the current log is the newest again and the map may go on
     * appending to it (a log before the newest must have been forced whole, which it was when
     * the new one appeared, and the caller holds appendLock). Whether that worked; if not, the
     * caller stops the map's writes, and its failure says why.
     */
    private boolean removeLog(long g, Throwable cause) {
        try {
            Files.deleteIfExists(tmp(file(g, ".log")));
            Files.deleteIfExists(file(g, ".log"));
            forceDirectory();
            return true;
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
            return false;
        }
    }

    /** A new, empty log, durable with its name, open for appending. */
    private FileChannel createLog(long g) throws IOException {
        Path p = file(g, ".log");
        Path t = tmp(p);
        Uninterrupted.run(() -> {
            try (FileChannel ch = FileChannel.open(t, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ByteBuffer h = header(LOG_MAGIC, g);
                while (h.hasRemaining()) {
                    ch.write(h, h.position());
                }
                ch.force(true);
            }
        });
        Files.move(t, p, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory();
        return openLog(p);
    }

    /** The existing log {@code p}, open for appending (through the {@code channels} hook). */
    private FileChannel openLog(Path p) throws IOException {
        FileChannel ch = Uninterrupted.call(() -> FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE));
        try {
            return channels.apply(ch);
        } catch (RuntimeException | Error e) {
            ch.close();
            throw e;
        }
    }

    private void forceDirectory() throws IOException {
        forceDirectory(dir);
    }

    private static void forceDirectory(Path d) throws IOException {
        Uninterrupted.run(() -> {
            try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
                ch.force(true);
            }
        });
    }

    // ---------------------------------------------------------------- whole map

    @Override
    public long size() {
        return map.size();
    }

    /** Bytes of live records in memory ({@link ConcurrentBytesMap#liveBytes()}). */
    public long liveBytes() {
        return map.liveBytes();
    }

    /** Bytes of the directory's logs and snapshot. */
    public long diskBytes() {
        ensureOpen();
        try (Stream<Path> files = Files.list(dir)) {
            long total = 0;
            for (Path p : (Iterable<Path>) files::iterator) {
                String n = p.getFileName().toString();
                if (n.endsWith(".log") || n.endsWith(".snap")) {
                    try {
                        total += Files.size(p);
                    } catch (NoSuchFileException e) {
                        // deleted by a checkpoint meanwhile
                    }
                }
            }
            return total;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void forEach(BiConsumer<byte[], byte[]> action) {
        map.forEach(action);
    }

    @Override
    public void forEachKey(Consumer<byte[]> action) {
        map.forEachKey(action);
    }

    /** What opening the directory found and did. */
    public Recovery recovery() {
        return recovery;
    }

    /** The directory. */
    public Path directory() {
        return dir;
    }

    /** The durability the map was opened with. */
    public Durability durability() {
        return durability;
    }

    /** The current log's generation and where its forced part ends (for tests: what a power cut keeps). */
    long[] durableEnd() {
        syncLock.lock();
        try {
            return new long[] {generation, durableFileEnd};
        } finally {
            syncLock.unlock();
        }
    }

    private void writable() {
        ensureOpen();
        Throwable f = failure;
        if (f != null) {
            throw new IllegalStateException("an earlier write to " + dir
                    + " could not be logged: the map takes no more writes; reopen it to restore the logged state", f);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the map of " + dir + " is closed");
        }
    }

    private UncheckedIOException failed(String what, Throwable e) {
        IOException io = e instanceof IOException x ? x : new IOException(e);
        return new UncheckedIOException(what + "; the map of " + dir + " takes no more writes until reopened", io);
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /**
     * Forces the log, closes the files and frees the memory; idempotent. Waits for a checkpoint
     * in progress. Calls racing it either complete before it or throw {@link IllegalStateException}.
     *
     * @throws UncheckedIOException if the last writes cannot be forced (the files are closed anyway)
     */
    @Override
    public void close() {
        checkpointLock.lock();
        try {
            syncLock.lock();
            try {
                appendLock.lock();
                try {
                    if (closed) {
                        return;
                    }
                    // The last I/O before closed is set, so that onLog may still reopen a log
                    // that an interrupt of this thread closed.
                    IOException error = null;
                    try {
                        if (failure == null) {
                            drain();
                            onLog(c -> c.force(false));
                            durable = appended;
                            durableFileEnd = filePosition;
                        } else {
                            // What reached the file before the failure: recovery cuts the log at
                            // the first bad record, so forcing it all is safe.
                            onLog(c -> c.force(false));
                            error = new IOException("an earlier write could not be logged; the records before it are forced",
                                    failure);
                        }
                    } catch (IOException e) {
                        error = e;
                    } finally {
                        closed = true;
                    }
                    try {
                        log.close();
                    } catch (IOException e) {
                        error = error == null ? e : error;
                    }
                    try {
                        lockChannel.close(); // releases the lock
                    } catch (IOException e) {
                        error = error == null ? e : error;
                    }
                    map.close();
                    if (error != null) {
                        throw new UncheckedIOException("closing the map of " + dir + " failed", error);
                    }
                } finally {
                    appendLock.unlock();
                }
            } finally {
                syncLock.unlock();
            }
        } finally {
            checkpointLock.unlock();
        }
    }

    @Override
    public String toString() {
        return "PersistentBytesMap[" + dir + ", " + durability + (closed ? ", closed]" : ", " + map.size() + " mappings]");
    }

    /**
     * What opening the directory found and did.
     *
     * @param created          whether the directory held no map (a new one was started)
     * @param nanos            time to read the snapshot and logs into memory
     * @param snapshotRecords  records read from the snapshot
     * @param logRecords       records replayed from the logs
     * @param truncatedBytes   bytes cut from the end of the newest log (writes never made durable)
     * @param mappings         mappings after opening
     * @param fileBytes        bytes of the files read
     */
    public record Recovery(boolean created, long nanos, long snapshotRecords, long logRecords, long truncatedBytes,
                           long mappings, long fileBytes) {
        /** Recovery time in milliseconds. */
        public double millis() {
            return nanos / 1e6;
        }
    }

    /** Options of a {@link PersistentBytesMap}. */
    public static final class Builder {
        private final Path dir;
        private Durability durability = Durability.BATCH;
        private boolean writeBehind;
        private long checkpointBytes = DEFAULT_CHECKPOINT_BYTES;
        private boolean createIfMissing = true;
        private Consumer<ConcurrentBytesMap.Builder> mapOptions = b -> { };
        private Consumer<String> steps = s -> { };
        private UnaryOperator<FileChannel> channels = c -> c;

        private Builder(Path dir) {
            this.dir = dir;
        }

        /** When writes are durable; {@link Durability#BATCH} by default. */
        public Builder durability(Durability d) {
            this.durability = Objects.requireNonNull(d, "durability");
            return this;
        }

        /**
         * Log bytes (since the last snapshot) past which a writer writes a snapshot, if the log
         * also exceeds the live data; at least 4096.
         *
         * @throws IllegalArgumentException if {@code bytes} is under 4096
         */
        public Builder checkpointBytes(long bytes) {
            if (bytes < 4096) {
                throw new IllegalArgumentException("checkpointBytes must be at least 4096, was " + bytes);
            }
            this.checkpointBytes = bytes;
            return this;
        }

        /**
         * With {@link Durability#NONE}: whether acknowledged writes may wait in the map's 1 MiB
         * buffer until {@link #flush()}, a checkpoint, {@link #close()} or a full buffer, so that
         * a write costs no system call. A process crash may then lose them too; what it leaves is
         * still a prefix of the writes, never a torn one. For users that recover recent writes
         * from elsewhere, as Kafka Streams does from its changelog (its RocksDB store runs with
         * RocksDB's write-ahead log off for the same reason). Off by default.
         *
         * @throws IllegalStateException at {@link #open()} if set with a durability other than {@code NONE}
         */
        public Builder writeBehind(boolean behind) {
            this.writeBehind = behind;
            return this;
        }

        /** Whether a missing directory is created (default) or refused with {@link TableFileException}. */
        public Builder createIfMissing(boolean create) {
            this.createIfMissing = create;
            return this;
        }

        /** Options of the in-memory map (slab size, memory limit, memory provider), applied to a fresh builder. */
        public Builder map(Consumer<ConcurrentBytesMap.Builder> options) {
            this.mapOptions = Objects.requireNonNull(options, "options");
            return this;
        }

        /** Test hook: wraps each log channel the map opens (to fail its writes or forces). */
        Builder channels(UnaryOperator<FileChannel> wrap) {
            this.channels = Objects.requireNonNull(wrap, "wrap");
            return this;
        }

        /** Test hook: called with the name of each step of a checkpoint, in the checkpointing thread. */
        Builder steps(Consumer<String> hook) {
            this.steps = Objects.requireNonNull(hook, "hook");
            return this;
        }

        /**
         * Opens the directory, creating an empty map if it holds none, else reading its snapshot
         * and logs into memory (recovery).
         *
         * @throws TableFileException if the directory is missing (and not to be created), not
         *         writable, locked by another open map, or holds damaged files
         * @throws TableFullException if the data does not fit in the in-memory map's limit
         * @throws IOException        if the files cannot be read or written
         */
        public PersistentBytesMap open() throws IOException {
            if (writeBehind && durability != Durability.NONE) {
                throw new IllegalStateException("writeBehind needs durability NONE, was " + durability);
            }
            if (!Files.isDirectory(dir)) {
                if (Files.exists(dir)) {
                    throw new TableFileException(dir, TableFileException.Problem.OTHER_LAYOUT, "not a directory");
                }
                if (!createIfMissing) {
                    throw new TableFileException(dir, TableFileException.Problem.MISSING,
                            "the directory does not exist and createIfMissing is false");
                }
                Files.createDirectories(dir);
                Path parent = dir.toAbsolutePath().getParent();
                if (parent != null) {
                    forceDirectory(parent); // the new directory's name is durable
                }
            }
            if (!Files.isWritable(dir)) {
                throw new TableFileException(dir, TableFileException.Problem.READ_ONLY, "the directory is not writable");
            }
            FileChannel lockChannel;
            try {
                lockChannel = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            } catch (AccessDeniedException e) {
                throw new TableFileException(dir, TableFileException.Problem.READ_ONLY, "the lock file cannot be written");
            }
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            } catch (IOException | RuntimeException e) {
                lockChannel.close();
                throw e;
            }
            if (lock == null) {
                lockChannel.close();
                throw new TableFileException(dir, TableFileException.Problem.LOCKED,
                        "another map (of this process or another) has the directory open");
            }
            try {
                return new PersistentBytesMap(this, lockChannel, steps);
            } catch (IOException | RuntimeException | Error e) {
                lockChannel.close();
                throw e;
            }
        }
    }
}
