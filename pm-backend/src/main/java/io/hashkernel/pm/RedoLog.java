package io.hashkernel.pm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The redo log of a {@link PersistentLongLongTable} in {@link Persistence#REDO_LOG} mode: groups of
 * (key, value word) entries appended to a file, made durable by a shared {@code fdatasync}.
 *
 * <pre>
 *   log header (64 bytes): magic "HKPMLOG\0", version, flags ({@link #SNAPSHOT}), generation, CRC32C
 *   group: magic "HKRG" (int), count (int), generation (long), count × (key, value word), CRC32C (int), 4 bytes padding
 *   clear record: magic "HKRC" (int), 0 (int), generation (long), CRC32C (int), 4 bytes padding
 * </pre>
 *
 * <p>Implementation notes. A value word is the table's encoding ({@code value ^ missingValue}, 0
 * for "absent"), so an entry is the state a write left its key in, and replaying the groups in
 * order over the table reproduces the last state of each key they name, whatever part of them the
 * table file already holds: replay is idempotent. The writer appends a group and applies its
 * writes to the table under one lock (the table's write lock), so the log's order of two writes to
 * one key is the table's. A group is valid when its magic, generation and checksum are; replay
 * stops at the first invalid one, which is where a crash cut the log, so a group counts entirely or
 * not at all; recovery cuts the log there, so that a later group is never followed by a valid one
 * that a torn group used to hide. A checkpoint flushes the table file and starts a new
 * generation: it writes and forces the log header with the generation plus one, then cuts the log
 * after it, so groups of an older generation that a crash leaves behind the header are never
 * replayed. The first valid group names its generation too, so a damaged header does not hide
 * the groups behind it. A {@link #SNAPSHOT} log holds the whole table (written when a replay ran out
 * of slots, see PersistentLongLongTable.rebuild) and is replayed onto an empty table. Positions are logical and only grow: a writer waiting for a position
 * that a checkpoint (or close) has since covered returns at once. Group commit: a thread
 * that needs its group durable forces the file unless another thread's force already covered it;
 * threads arriving during a force wait for the lock and then usually find their group covered.
 */
final class RedoLog {
    static final long HEADER_BYTES = 64;
    private static final long MAGIC = 0x00474F4C4D504B48L; // "HKPMLOG\0"
    private static final int GROUP_MAGIC = 0x47524B48; // "HKRG"
    private static final int CLEAR_MAGIC = 0x43524B48; // "HKRC"
    private static final int VERSION = 1;
    static final int GROUP_OVERHEAD = 24;
    static final int ENTRY_BYTES = 16;
    private static final int WINDOW = 1 << 20;
    private static final int REPLAY_BATCH = 4096;
    /**
     * Header flag: the groups are the whole table, not changes to it; replay starts from an empty
     * table, whatever the table file holds.
     */
    static final int SNAPSHOT = 1;

    private final Storage.LogFile file;
    private final Object forceLock = new Object();
    private long generation;
    /**
     * Log positions are logical: they only grow, across checkpoints too. The file's byte 0 is
     * position {@code base}; a checkpoint moves the base past everything written before it, so a
     * writer still waiting for an older position finds it durable (the checkpoint flushed the
     * table) and never forces a file that {@code close()} has closed. Guarded by the table's write lock.
     */
    private volatile long base;
    /** Position after the last group written; guarded by the table's write lock, read by {@link #sync}. */
    private volatile long end;
    /** Position up to which the log is known durable. */
    private volatile long durable;
    /**
     * The generation of a restart that failed after it may have written its header, else 0: the
     * header may name it while the groups still carry the old one, and a group appended behind
     * it would be dead to the replay, so the next append finishes that restart first. Guarded by
     * the table's write lock.
     */
    private long unfinished;

    private RedoLog(Storage.LogFile file, long generation, long fileEnd) {
        this.file = file;
        this.generation = generation;
        this.end = fileEnd;
        this.durable = fileEnd;
    }

    /** What a replay hands on, in the log's order. */
    interface Replay {
        /** {@code n} (key, value word) pairs of one or more consecutive groups, in order. */
        void apply(long[] keys, long[] words, int n);

        /** A clear record: everything before it is gone. */
        void clear();
    }

    /**
     * Opens the log, hands every entry of its valid groups to {@code replay} in order, and
     * returns it positioned after them; how many entries were replayed is in {@code replayed[0]}.
     * A log with neither a valid header nor a valid first group has no entries (it was new, or a
     * crash cut a checkpoint after the table was flushed). Cuts the log after its last valid group.
     */
    static RedoLog open(Storage.LogFile file, Replay replay, long[] replayed) throws IOException {
        long size = file.size();
        ByteBuffer header = readHeader(file);
        long generation = header != null ? header.getLong(16) : -1;
        // The first group, if valid, names its generation. One newer than the header's means the
        // header was damaged after its groups were written: the groups are still the truth. One
        // older is a group a checkpoint left behind its new header: dead. Where the header is
        // unreadable, the first valid group's generation is taken; if that group is a leftover of
        // a checkpoint whose header write was torn, replaying it over the table that checkpoint
        // flushed changes nothing (replay is idempotent).
        GroupReader reader = new GroupReader(file, size);
        ByteBuffer first = reader.groupAt(HEADER_BYTES);
        if (first != null) {
            generation = Math.max(generation, first.getLong(8));
        }
        if (generation < 0) {
            RedoLog log = new RedoLog(file, 0, HEADER_BYTES);
            log.restart(1);
            return log;
        }
        long at = HEADER_BYTES;
        long count = 0;
        // Consecutive groups are replayed as one batch of up to REPLAY_BATCH entries (more when
        // one group is larger): the order of the entries is kept, and a batched call per group
        // of a few entries cost more than the writes themselves.
        long[] keys = new long[REPLAY_BATCH];
        long[] words = new long[REPLAY_BATCH];
        int pending = 0;
        for (ByteBuffer group = first; group != null && group.getLong(8) == generation;
             group = reader.groupAt(at)) {
            int n = group.getInt(4);
            if (n == 0) { // a clear record
                if (pending > 0) {
                    replay.apply(keys, words, pending);
                    pending = 0;
                }
                replay.clear();
                at += groupBytes(0);
                continue;
            }
            if (pending > 0 && pending + n > keys.length) {
                replay.apply(keys, words, pending);
                pending = 0;
            }
            if (keys.length < n) {
                keys = new long[n];
                words = new long[n];
            }
            for (int i = 0; i < n; i++) {
                keys[pending + i] = group.getLong(16 + i * ENTRY_BYTES);
                words[pending + i] = group.getLong(24 + i * ENTRY_BYTES);
            }
            pending += n;
            count += n;
            at += groupBytes(n);
        }
        if (pending > 0) {
            replay.apply(keys, words, pending);
        }
        replayed[0] = count;
        if (at < size) {
            // Cut the log where replay stopped: a group appended there later must not be followed
            // by a valid older group that a torn one used to hide.
            file.truncate(at);
            file.force();
        }
        return new RedoLog(file, generation, at);
    }

    /** The log's header if it is valid, else null. */
    private static ByteBuffer readHeader(Storage.LogFile file) throws IOException {
        ByteBuffer header = ByteBuffer.allocate((int) HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        if (file.size() < HEADER_BYTES || file.read(header, 0) != HEADER_BYTES) {
            return null;
        }
        boolean valid = header.getLong(0) == MAGIC && header.getInt(8) == VERSION
                && header.getInt(24) == crc(header, 0, 24);
        return valid ? header : null;
    }

    /** Whether the log holds a {@linkplain #SNAPSHOT snapshot} of the whole table. */
    static boolean isSnapshot(Storage.LogFile file) throws IOException {
        ByteBuffer header = readHeader(file);
        return header != null && (header.getInt(12) & SNAPSHOT) != 0;
    }

    private static ByteBuffer header(long generation, int flags) {
        ByteBuffer header = ByteBuffer.allocate((int) HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        header.putLong(0, MAGIC).putInt(8, VERSION).putInt(12, flags).putLong(16, generation);
        header.putInt(24, crc(header, 0, 24));
        return header;
    }

    /**
     * The bytes of a log that holds {@code n} (key, value word) entries as a {@linkplain #SNAPSHOT
     * snapshot}: header and groups of generation 1.
     */
    static ByteBuffer snapshot(long[] keys, long[] words, int n) {
        int perGroup = 4096;
        long bytes = HEADER_BYTES + (long) (n + perGroup - 1) / perGroup * GROUP_OVERHEAD + (long) n * ENTRY_BYTES;
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalStateException("a snapshot of " + n + " entries does not fit one buffer");
        }
        ByteBuffer out = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        out.put(header(1, SNAPSHOT));
        ByteBuffer g = null;
        for (int from = 0; from < n; from += perGroup) {
            g = groupBuffer(g, perGroup);
            for (int i = from; i < Math.min(n, from + perGroup); i++) {
                entry(g, keys[i], words[i]);
            }
            out.put(seal(g, GROUP_MAGIC, 1));
        }
        return out.flip();
    }

    /**
     * Closes the group in {@code group} (entries put since {@link #groupBuffer}) for writing, under
     * {@code magic}: a group's, or with no entries a clear record's.
     */
    private static ByteBuffer seal(ByteBuffer group, int magic, long generation) {
        int body = group.position();
        int n = (body - 16) / ENTRY_BYTES;
        group.putInt(0, magic).putInt(4, n).putLong(8, generation);
        group.putInt(body, crc(group, 0, body)).putInt(body + 4, 0);
        return group.limit(body + 8).position(0);
    }

    /**
     * Reads a log's groups front to back through a window of {@link #WINDOW} bytes: one read a
     * window rather than two a group, which made recovery's reads cost more than its replay. A
     * group it returns is a view of the window, valid until the next call.
     */
    private static final class GroupReader {
        private final Storage.LogFile file;
        private final long size;
        private ByteBuffer window;
        private long windowAt = -1;
        private int windowBytes;

        GroupReader(Storage.LogFile file, long size) {
            this.file = file;
            this.size = size;
            this.window = ByteBuffer.allocate(Math.clamp(size, 16, WINDOW)).order(ByteOrder.LITTLE_ENDIAN);
        }

        /**
         * The valid group or clear record (a group of no entries) at {@code at}, or null if there
         * is none (the log's end, a torn or foreign group).
         */
        ByteBuffer groupAt(long at) throws IOException {
            if (at + GROUP_OVERHEAD > size) {
                return null;
            }
            ByteBuffer head = view(at, 16);
            if (head == null) {
                return null;
            }
            int magic = head.getInt(0);
            int n = head.getInt(4);
            boolean shape = magic == GROUP_MAGIC ? n > 0 : magic == CLEAR_MAGIC && n == 0;
            long bytes = groupBytes(n);
            if (!shape || at + bytes > size || bytes > Integer.MAX_VALUE) {
                return null;
            }
            ByteBuffer group = view(at, (int) bytes);
            if (group == null) {
                return null;
            }
            int body = 16 + n * ENTRY_BYTES;
            return group.getInt(body) == crc(group, 0, body) ? group : null;
        }

        /** {@code length} bytes of the file from {@code at} (index 0 is {@code at}), or null if it ends first. */
        private ByteBuffer view(long at, int length) throws IOException {
            if (at < windowAt || at + length > windowAt + windowBytes) {
                if (window.capacity() < length) {
                    window = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
                }
                window.clear();
                windowAt = at;
                windowBytes = Math.max(0, file.read(window, at));
                if (windowBytes < length) {
                    return null;
                }
            }
            return window.slice((int) (at - windowAt), length).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    static long groupBytes(int entries) {
        return GROUP_OVERHEAD + (long) entries * ENTRY_BYTES;
    }

    private static int crc(ByteBuffer b, int from, int length) {
        CRC32C c = new CRC32C();
        c.update(b.duplicate().position(from).limit(from + length));
        return (int) c.getValue();
    }

    /**
     * A buffer holding a group of up to {@code entries} entries, for {@link #append}: put entries
     * with {@link #entry}.
     */
    static ByteBuffer groupBuffer(ByteBuffer reuse, int entries) {
        long bytes = groupBytes(entries);
        ByteBuffer b = reuse != null && reuse.capacity() >= bytes ? reuse
                : ByteBuffer.allocate((int) Math.min(Integer.MAX_VALUE, Math.max(bytes, 256)))
                .order(ByteOrder.LITTLE_ENDIAN);
        b.clear().position(16);
        return b;
    }

    static void entry(ByteBuffer group, long key, long word) {
        group.putLong(key).putLong(word);
    }

    /**
     * Appends the group in {@code group} (entries put since {@link #groupBuffer}); the caller holds
     * the table's write lock. Returns the log position a {@link #sync} must reach for it to be
     * durable, or the current end if the group is empty.
     */
    long append(ByteBuffer group) {
        int n = (group.position() - 16) / ENTRY_BYTES;
        if (n == 0) {
            return end;
        }
        finishRestart();
        return write(seal(group, GROUP_MAGIC, generation));
    }

    /**
     * Appends a clear record (see the class notes); the caller holds the table's write lock.
     * Returns the log position a {@link #sync} must reach for it to be durable.
     */
    long appendClear() {
        finishRestart();
        return write(seal(groupBuffer(null, 0), CLEAR_MAGIC, generation));
    }

    /**
     * Takes back the clear record that ends at {@code at}, whose force failed (the table was not
     * cleared): the next append overwrites it, and a group acknowledged after that is forced over
     * it. The caller holds the table's write lock.
     */
    void withdraw(long at) {
        if (end == at) {
            end = at - GROUP_OVERHEAD;
        }
    }

    /** Finishes a restart that failed after it may have written its header (see {@link #unfinished}). */
    private void finishRestart() {
        if (unfinished != 0) {
            try {
                restart(unfinished); // the failed checkpoint had flushed the table
            } catch (IOException e) {
                throw new UncheckedIOException("restarting the redo log after a failed checkpoint", e);
            }
        }
    }

    /** Writes the sealed {@code record} at the end; returns the new end. */
    private long write(ByteBuffer record) {
        long at = end;
        int bytes = record.remaining();
        try {
            file.write(record, at - base);
        } catch (IOException e) {
            throw new UncheckedIOException("appending to the redo log", e);
        }
        end = at + bytes;
        return end;
    }

    /** The position after the last group written. */
    long end() {
        return end;
    }

    /** Bytes of the log file, header included. */
    long bytes() {
        return end - base;
    }

    /** Returns once everything up to {@code position} is durable, forcing the file if need be. */
    void sync(long position) {
        if (durable >= position) {
            return;
        }
        synchronized (forceLock) {
            if (durable >= position) {
                return;
            }
            long target = end;
            try {
                file.force();
            } catch (IOException e) {
                throw new UncheckedIOException("forcing the redo log", e);
            }
            durable = target;
        }
    }

    /**
     * Starts generation {@code next} after a checkpoint: rewrites the header, cuts the groups,
     * forces. The caller holds the table's write lock and has flushed the table.
     */
    void restart(long next) throws IOException {
        synchronized (forceLock) {
            unfinished = next;
            ByteBuffer header = header(next, 0);
            // The new generation is durable before the old groups are cut: whatever a crash
            // leaves of them afterwards is dead.
            file.write(header, 0);
            file.force();
            file.truncate(HEADER_BYTES);
            file.force();
            generation = next;
            long after = end;
            base = after;
            end = after + HEADER_BYTES;
            durable = end;
            unfinished = 0;
        }
    }

    /** Starts the next generation (see {@link #restart}). */
    void checkpointed() throws IOException {
        restart(generation + 1);
    }

    void close() throws IOException {
        file.close();
    }
}
