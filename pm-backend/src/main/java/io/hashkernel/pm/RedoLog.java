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
 *   log header (64 bytes): magic "HKPMLOG\0", version, generation, CRC32C
 *   group: magic "HKRG" (int), count (int), generation (long), count × (key, value word), CRC32C (int), 4 bytes padding
 * </pre>
 *
 * <p>Implementation notes. A value word is the table's encoding ({@code value ^ missingValue}, 0
 * for "absent"), so an entry is the state a write left its key in, and replaying the groups in
 * order over the table reproduces the last state of each key they name, whatever part of them the
 * table file already holds: replay is idempotent. The writer appends a group and applies its
 * writes to the table under one lock (the table's write lock), so the log's order of two writes to
 * one key is the table's. A group is valid when its magic, generation and checksum are; replay
 * stops at the first invalid one, which is where a crash cut the log, so a group counts entirely or
 * not at all. A checkpoint flushes the table file and starts a new generation: it rewrites the
 * log header with the generation plus one and cuts the log after it, so groups of an older
 * generation that a crash leaves behind the header are never replayed. Group commit: a thread
 * that needs its group durable forces the file unless another thread's force already covered it;
 * threads arriving during a force wait for the lock and then usually find their group covered.
 */
final class RedoLog {
    static final long HEADER_BYTES = 64;
    private static final long MAGIC = 0x00474F4C4D504B48L; // "HKPMLOG\0"
    private static final int GROUP_MAGIC = 0x47524B48; // "HKRG"
    private static final int VERSION = 1;
    static final int GROUP_OVERHEAD = 24;
    static final int ENTRY_BYTES = 16;

    private final Storage.LogFile file;
    private final Object forceLock = new Object();
    private long generation;
    /** Bytes written; guarded by the table's write lock, read by {@link #sync}. */
    private volatile long end;
    /** Bytes known durable. */
    private volatile long durable;

    private RedoLog(Storage.LogFile file, long generation, long end) {
        this.file = file;
        this.generation = generation;
        this.end = end;
        this.durable = end;
    }

    /** A consumer of replayed entries: a group's {@code n} (key, value word) pairs, in order. */
    interface Replay {
        void apply(long[] keys, long[] words, int n);
    }

    /**
     * Opens the log, hands every entry of its valid groups to {@code replay} in order, and
     * returns it positioned after them; how many entries were replayed is in {@code replayed[0]}.
     * A missing or unreadable log header means no entries (the log was new, or a crash cut a
     * checkpoint after the table was flushed).
     */
    static RedoLog open(Storage.LogFile file, Replay replay, long[] replayed) throws IOException {
        ByteBuffer header = ByteBuffer.allocate((int) HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long size = file.size();
        long generation = -1;
        if (size >= HEADER_BYTES && file.read(header, 0) == HEADER_BYTES) {
            header.flip();
            if (header.getLong(0) == MAGIC && header.getInt(8) == VERSION && header.getInt(24) == crc(header, 0, 24)) {
                generation = header.getLong(16);
            }
        }
        if (generation < 0) {
            RedoLog log = new RedoLog(file, 0, HEADER_BYTES);
            log.restart(1);
            return log;
        }
        long at = HEADER_BYTES;
        ByteBuffer head = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        long count = 0;
        long[] keys = new long[0];
        long[] words = new long[0];
        while (at + GROUP_OVERHEAD <= size) {
            head.clear();
            if (file.read(head, at) < 16 || head.getInt(0) != GROUP_MAGIC || head.getLong(8) != generation) {
                break;
            }
            int n = head.getInt(4);
            long bytes = groupBytes(n);
            if (n <= 0 || at + bytes > size || bytes > Integer.MAX_VALUE) {
                break;
            }
            ByteBuffer group = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
            if (file.read(group, at) < bytes) {
                break;
            }
            int body = 16 + n * ENTRY_BYTES;
            if (group.getInt(body) != crc(group, 0, body)) {
                break;
            }
            if (keys.length < n) {
                keys = new long[n];
                words = new long[n];
            }
            for (int i = 0; i < n; i++) {
                keys[i] = group.getLong(16 + i * ENTRY_BYTES);
                words[i] = group.getLong(24 + i * ENTRY_BYTES);
            }
            replay.apply(keys, words, n);
            count += n;
            at += bytes;
        }
        replayed[0] = count;
        return new RedoLog(file, generation, at);
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
        int body = group.position();
        int n = (body - 16) / ENTRY_BYTES;
        if (n == 0) {
            return end;
        }
        group.putInt(0, GROUP_MAGIC).putInt(4, n).putLong(8, generation);
        group.putInt(body, crc(group, 0, body)).putInt(body + 4, 0);
        group.limit(body + 8).position(0);
        long at = end;
        try {
            file.write(group, at);
        } catch (IOException e) {
            throw new UncheckedIOException("appending to the redo log", e);
        }
        end = at + body + 8;
        return end;
    }

    /** Bytes written so far. */
    long end() {
        return end;
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
            ByteBuffer header = ByteBuffer.allocate((int) HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            header.putLong(0, MAGIC).putInt(8, VERSION).putLong(16, next);
            header.putInt(24, crc(header, 0, 24));
            file.write(header, 0);
            file.truncate(HEADER_BYTES);
            file.force();
            generation = next;
            end = HEADER_BYTES;
            durable = HEADER_BYTES;
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
