package io.hashkernel.pm;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.LongLongConsumer;
import io.hashkernel.table.LongLongMap;
import io.hashkernel.table.LongLongSession;
import io.hashkernel.table.TableFullException;
import io.hashkernel.table.internal.TableInternals;
import io.hashkernel.table.spi.TableMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.StampedLock;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;

/**
 * A durable {@code long → long} table: a {@link ConcurrentLongLongTable} mapped from a file,
 * whose acknowledged writes survive a process crash and, with {@link Durability#EACH} or
 * {@link Durability#BATCH}, a power cut. Reads are the in-memory table's reads of mapped memory:
 * no lookup through a log-structured tree.
 *
 * <p>Guarantees. Every single-key operation is linearizable, as the in-memory table's. A write is
 * acknowledged when its call returns; what an acknowledged write survives is its table's
 * {@link Durability}. After a crash, opening the file restores every acknowledged write; a write
 * that was not acknowledged is there or not, whole (a key maps to a value that was put for it, never
 * to a mix of two), and never resurrects a key whose removal was acknowledged. A read may see a
 * write of another thread before that write is acknowledged. The capacity is fixed when the file is
 * created ({@link TableFullException} when full). One table at a time may have a file open: the
 * file is locked. Opening a file that was not closed cleanly repairs and recounts the table and
 * replays the redo log ({@link #recovery()} says what it did and how long it took); opening a
 * cleanly closed one reads the header only. An interrupt does not fail a thread's calls,
 * opening and recovering included, nor stop other threads' writes: file I/O that an interrupt
 * ends is repeated (the log's after up to 64 interrupts of one call, other files' after 8; a
 * storm of more fails that call as an I/O error), and the interrupt status is kept.
 *
 * <pre>{@code
 * try (PersistentLongLongTable t = PersistentLongLongTable.builder(Path.of("orders.hkt"))
 *         .capacity(1 << 20).durability(Durability.BATCH).open()) {
 *     t.put(42, 7);                 // durable when it returns
 *     t.putAll(keys, values);       // one flush for the whole call
 * }
 * }</pre>
 *
 * <p>Close it with {@link #close()}, after the threads that use it are done: a write racing with
 * {@code close()} either completes before it or throws {@link IllegalStateException}.
 */
public final class PersistentLongLongTable implements LongLongMap {

    /*
     * Implementation notes.
     *
     * File: one header page (Header: two checksummed copies) and then the table's own slot array,
     * exactly as the in-memory table lays it out (16-byte slots of key word and value word, four to
     * a line, and the side line), mapped from the file and handed to the table as its memory. The
     * header holds the hash seed, so the same keys hash to the same lines in every process.
     *
     * The table's write protocol: a new key's slot is claimed by a CAS of its key word, then the
     * value word is stored; a zero value word reads as absent. So the value word is the commit
     * word: a write is committed when its value word is in the file, and an 8-byte aligned store
     * (the unit of atomicity of CPUs and of persistent memory) is never split.
     *
     * In place. After a write, the words from the key's home line to its slot (its probe sequence:
     * the key words a lookup passes to reach it, and its own slot) are flushed before the call
     * returns; a bulk call under BATCH flushes the whole mapping once (msync writes back exactly
     * the dirty pages) or, on DAX, each key's words. Crash states of one write, for any subset of
     * its unflushed 8-byte words reaching the file:
     *   - nothing, or the key word alone: the key is absent (a claimed slot without value).
     *   - the value word alone, in a slot whose key word is still free: the repair clears it.
     *   - key and value, but an earlier key of its probe sequence missing (that write was not
     *     flushed either), so a lookup stops at a free slot first: the repair clears its value.
     *   - all of them: committed.
     * An acknowledged write's flush covered its probe sequence, and key words never change once
     * claimed, so no repair touches an acknowledged write. The repair (TableInternals.adopt) runs
     * on every open that finds the header not clean, then recounts the size; it is idempotent.
     *
     * Redo log. Writes take the write lock, are applied to the table, and their effects (key, value
     * word after the write) are appended to the log as one group; outside the lock the thread
     * waits for the group to be durable (RedoLog.sync, group commit). The table file is flushed only
     * at checkpoints (when the log passes checkpointBytes, and at close), after which the log starts
     * a new generation. The operating system may write any table page back at any time; whatever
     * it wrote, the repair above and the replay of the log's groups (idempotent, in order) restore
     * the last acknowledged state of every key the log names, and keys it does not name were
     * flushed by the last checkpoint.
     *
     * Interrupts. A FileChannel is interruptible: an interrupt of any thread inside its I/O
     * closes it for every thread. The log file (FileStorage's ReopeningLog) reopens the file and
     * repeats the call, keeping the interrupt status, so an interrupted writer neither fails nor
     * stops the others' writes. I/O on a channel of its own (creating, opening and mapping the
     * table file, replacing the log, forcing the directory) runs again from its start
     * (Uninterrupted).
     *
     * Recovery: the repair, then the replay of the log's groups (through the batched calls). A
     * redo-log table keeps the replayed groups and goes on appending after them; the writes the
     * repair made are flushed before the first new write.
     *
     * Clear, atomic with respect to a crash. Redo log: under the write lock, a clear record is
     * appended and forced, then the table is cleared and checkpointed; a replay that meets the
     * record clears the table there, whatever its file holds, so a crash leaves either no record
     * (and an untouched table) or the record. Where the force fails, the table stays as it was
     * and the next append overwrites the record (RedoLog.withdraw): until then a crash may still
     * replay it, which makes the failed clear take effect with no acknowledged write after it.
     * In place: under the write lock (which orders header writes) and the gate, the header says
     * "clearing" durably, then the slots are cleared and flushed, then the header says "open"
     * again; an open that finds "clearing" zeroes and flushes the slots before it writes its own
     * header. Each of these states goes to both header copies (two header writes), as does an
     * open's: a reader takes the older copy where the newer one is damaged, and a stale mark there
     * would clear later writes, a stale "open" beside a half-done clear would recover it, and a
     * stale version 1 "clean" would mislead a library that reads version 1 only. A failure from
     * the mark on stops the table's writes (clearFailure): the mark may be in the file, and the
     * next open would clear a write acknowledged after it. The state value
     * "clearing" is new in layout version 2 (Header), so a library that reads only version 1
     * refuses such a file rather than misreading it.
     *
     * Clean close: refuse new writes (in place, close waits for the writes in progress through
     * the gate, which in-place writers hold shared; redo-log writers hold the write lock), flush
     * the table, checkpoint the log, then write the header with state clean and the size. An open
     * writes state open (to both copies) before the first write (after opening everything that
     * can refuse it, the log included), so a clean header means the table is exactly as closed; a
     * damaged header copy beside a clean one makes the open recover anyway.
     */

    /** Bytes of redo log after which a writer checkpoints, unless the builder says otherwise. */
    public static final long DEFAULT_CHECKPOINT_BYTES = 64L << 20;

    private static final TableInternals.Access TABLES = TableInternals.access();

    private final Path path;
    /** The table; replaced only during the open, by a rebuild ({@link #rebuild}). */
    private ConcurrentLongLongTable table;
    /** During an open whose replay ran out of slots: the state being replayed, key to value word. */
    private Map<Long, Long> overflow;
    private final Storage.TableFile file;
    private final RedoLog log;
    private final Storage storage;
    private final Durability durability;
    private final Persistence persistence;
    private final RecoveryReport recovery;
    private final long missingValue;
    private final long slotBytes;
    private final long checkpointBytes;
    /** Redo-log writers, checkpoints and close; in place, close only. */
    private final ReentrantLock writeLock = new ReentrantLock();
    /**
     * In place: writers hold it shared, {@code close()} exclusively, so that close flushes and
     * counts after the last write and a write after close throws.
     */
    private final StampedLock gate = new StampedLock();
    private ByteBuffer group;
    private Header header;
    private volatile boolean closed;
    /** In place: what failed a clear midway ({@link #clearInPlace}); the table then refuses writes. */
    private volatile Throwable clearFailure;

    private PersistentLongLongTable(Builder b, Storage storage, Storage.TableFile file, Header header, boolean created)
            throws IOException {
        this.path = storage.path();
        this.storage = storage;
        this.file = file;
        this.durability = b.durability;
        this.missingValue = header.missingValue();
        this.checkpointBytes = b.checkpointBytes;
        this.slotBytes = TABLES.bytesFor(header.capacity());
        this.persistence = b.persistence != Persistence.AUTO ? b.persistence
                : file.synchronous() ? Persistence.IN_PLACE : Persistence.REDO_LOG;
        long start = System.nanoTime();
        boolean clean = header.clean();
        // Everything that can refuse the open (the log file, read-only say) before the first write.
        Storage.LogFile logFile = persistence == Persistence.REDO_LOG || storage.logExists() ? storage.openLog() : null;
        this.header = header;
        MemorySegment slots = file.segment().asSlice(Header.PAGE, slotBytes);
        boolean cleared = header.state() == Header.CLEARING;
        try {
            if (cleared) {
                // An in-place clear was cut short: finish it, durably, before the header stops saying so.
                slots.fill((byte) 0);
                flushAll();
            }
            writeBothCopies(Header.OPEN);
        } catch (RuntimeException | Error e) {
            if (logFile != null) {
                logFile.close();
            }
            throw e;
        }

        TableMemory memory = TableMemory.of(slots, file.description(), () -> { });
        ConcurrentLongLongTable.Builder options = ConcurrentLongLongTable.builder()
                .capacity(header.capacity()).missingValue(missingValue).seed(header.seed())
                .memory((bytes, alignment) -> memory);
        TableInternals.Adopted adopted;
        try {
            boolean snapshot = logFile != null && RedoLog.isSnapshot(logFile);
            if (snapshot) {
                slots.fill((byte) 0); // the log holds the whole table
            }
            long mappings = snapshot || cleared ? 0 : clean ? header.mappings() : -1;
            adopted = TABLES.adopt(options, header.capacity(), mappings);
        } catch (IOException | RuntimeException | Error e) {
            if (logFile != null) {
                logFile.close();
            }
            throw e;
        }
        this.table = adopted.table();
        RedoLog redo = null;
        long[] replayed = new long[1];
        try {
            if (logFile != null) {
                redo = RedoLog.open(logFile, replayer(), replayed);
                if (overflow != null) {
                    redo = rebuild(redo, slots, options, header.capacity(), replayed);
                }
                if (persistence == Persistence.IN_PLACE) {
                    // In place keeps no log: the replayed writes go to the file, then the log goes.
                    flushAll();
                    redo.close();
                    redo = null;
                    storage.deleteLog();
                }
                // A redo log keeps its groups: they are replayed again after another crash, so the
                // table's replayed writes need no flush before the next checkpoint.
            }
            if (adopted.repairedValues() > 0) {
                // Durable before any new write: a new claim of a repaired slot must not meet the
                // stale value word again after another crash.
                flushAll();
            }
        } catch (IOException | RuntimeException | Error e) {
            if (redo != null) {
                redo.close();
            } else if (logFile != null) {
                logFile.close();
            }
            table.close();
            throw e;
        }
        this.log = redo;
        this.recovery = new RecoveryReport(created, clean, clean ? 0 : System.nanoTime() - start,
                adopted.repairedValues(), replayed[0], table.size(), slotBytes);
    }

    /** What a replay of the log does to this table: {@link #replay} each group, and clear it at a clear record. */
    private RedoLog.Replay replayer() {
        return new RedoLog.Replay() {
            @Override
            public void apply(long[] keys, long[] words, int n) {
                replay(keys, words, n);
            }

            @Override
            public void clear() {
                if (overflow == null) {
                    table.clear();
                } else {
                    overflow.clear();
                }
            }
        };
    }

    /**
     * Applies a replayed group: its runs of puts and of removals, each as one batched call (a bulk
     * call keeps the order of a key's writes), in the group's order.
     */
    private void replay(long[] keys, long[] words, int n) {
        if (overflow == null) {
            try {
                replayInto(keys, words, n);
                return;
            } catch (TableFullException e) {
                // The table the crash left holds more keys than the replayed one did (a key whose
                // slot was lost is claimed again while its unreachable old slot stays taken): go on
                // in memory and rebuild the table from the result.
                overflow = new HashMap<>();
                table.forEach((k, v) -> overflow.put(k, v ^ missingValue));
            }
        }
        for (int i = 0; i < n; i++) {
            if (words[i] == 0) {
                overflow.remove(keys[i]);
            } else {
                overflow.put(keys[i], words[i]);
            }
        }
    }

    private long[] decoded = new long[0];

    private void replayInto(long[] keys, long[] words, int n) {
        if (decoded.length < n) {
            decoded = new long[n];
        }
        for (int from = 0; from < n; ) {
            boolean removal = words[from] == 0;
            int to = from + 1;
            while (to < n && (words[to] == 0) == removal) {
                to++;
            }
            if (removal) {
                table.removeAll(keys, from, to - from);
            } else {
                for (int i = from; i < to; i++) {
                    decoded[i] = words[i] ^ missingValue;
                }
                table.putAll(keys, from, decoded, from, to - from);
            }
            from = to;
        }
    }

    /**
     * After a replay that ran out of slots ({@link #overflow} holds the replayed state): writes
     * that state as a snapshot log (atomically replacing the log), rebuilds the table from it on
     * zeroed memory, and checkpoints. A crash at any point leaves either the old log, whose replay
     * is idempotent, or the snapshot, whose replay ignores what the table file holds.
     */
    private RedoLog rebuild(RedoLog redo, MemorySegment slots, ConcurrentLongLongTable.Builder options, long capacity,
                            long[] replayed) throws IOException {
        int n = overflow.size();
        long[] keys = new long[n];
        long[] words = new long[n];
        int i = 0;
        for (Map.Entry<Long, Long> e : overflow.entrySet()) {
            keys[i] = e.getKey();
            words[i++] = e.getValue();
        }
        overflow = null;
        redo.close();
        storage.replaceLog(RedoLog.snapshot(keys, words, n));
        table.close();
        slots.fill((byte) 0);
        table = TABLES.adopt(options, capacity, 0).table();
        RedoLog fresh = RedoLog.open(storage.openLog(), replayer(), replayed);
        flushAll();
        fresh.checkpointed();
        return fresh;
    }

    /** A builder for the table in {@code file} (created by {@link Builder#open()} if absent). */
    public static Builder builder(Path file) {
        return new Builder(Objects.requireNonNull(file, "file"));
    }

    /** Configures and opens a table file; not thread-safe. */
    public static final class Builder {
        private final Path file;
        private long capacity = 1024;
        private boolean capacitySet;
        private long missingValue;
        private boolean missingValueSet;
        private Long seed;
        private Durability durability = Durability.BATCH;
        private Persistence persistence = Persistence.AUTO;
        private boolean create = true;
        private long checkpointBytes = DEFAULT_CHECKPOINT_BYTES;
        private Storage storage;

        private Builder(Path file) {
            this.file = file;
        }

        /**
         * Slots of a table this open creates, rounded up to a power of two of at least 4 (16 bytes
         * each); default 1024. Opening an existing file with a capacity set checks that the file's is
         * the same.
         *
         * @throws IllegalArgumentException if {@code slots} is not between 1 and 2^58
         */
        public Builder capacity(long slots) {
            this.capacity = TABLES.roundCapacity(slots);
            this.capacitySet = true;
            return this;
        }

        /** The missing value of a table this open creates (default 0); checked against an existing file's if set. */
        public Builder missingValue(long value) {
            this.missingValue = value;
            this.missingValueSet = true;
            return this;
        }

        /** The hash seed of a table this open creates; by default a secret random one. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** When writes are acknowledged; default {@link Durability#BATCH}. */
        public Builder durability(Durability durability) {
            this.durability = Objects.requireNonNull(durability, "durability");
            return this;
        }

        /** How writes are made durable; default {@link Persistence#AUTO}. */
        public Builder persistence(Persistence persistence) {
            this.persistence = Objects.requireNonNull(persistence, "persistence");
            return this;
        }

        /** Whether {@link #open()} creates the file if it does not exist; default true. */
        public Builder createIfMissing(boolean create) {
            this.create = create;
            return this;
        }

        /**
         * Bytes of redo log after which a writer checkpoints (flushes the table file and starts
         * the log again); default {@value #DEFAULT_CHECKPOINT_BYTES}. A longer log means fewer
         * checkpoints and a longer replay after a crash.
         *
         * @throws IllegalArgumentException if less than 4096
         */
        public Builder checkpointBytes(long bytes) {
            if (bytes < 4096) {
                throw new IllegalArgumentException("checkpointBytes must be at least 4096, was " + bytes);
            }
            this.checkpointBytes = bytes;
            return this;
        }

        /** Opens the table on {@code storage} instead of the file system (the power-cut drill). */
        Builder storage(Storage storage) {
            this.storage = storage;
            return this;
        }

        /**
         * Opens the file, creating it if absent, and recovers it if it was not closed cleanly.
         *
         * @throws TableFileException if the file cannot be used as asked (too small, another
         *                            layout, a corrupt header, another capacity or missing value,
         *                            read-only, locked, no space): the file is left as it was
         * @throws IOException        if the file system fails otherwise
         */
        public PersistentLongLongTable open() throws IOException {
            Storage s = storage != null ? storage : new FileStorage(file);
            Path path = s.path();
            boolean created = false;
            if (!s.exists()) {
                if (!create) {
                    throw new TableFileException(path, TableFileException.Problem.MISSING,
                            "no such file, and createIfMissing(false)");
                }
                long seedValue = seed != null ? seed : new SecureRandom().nextLong();
                Header first = new Header(capacity, missingValue, seedValue, 0, Header.CLEAN,
                        Persistence.AUTO.ordinal(), 0);
                MemorySegment page = Arena.ofAuto().allocate(Header.PAGE);
                first.writeTo(page);
                s.create(Header.PAGE + TABLES.bytesFor(capacity), page);
                created = true;
            }
            Storage.TableFile f = s.openTable();
            try {
                Header h = Header.read(f.segment().asSlice(0, Header.PAGE), path);
                if (capacitySet && h.capacity() != capacity) {
                    throw new TableFileException(path, TableFileException.Problem.MISMATCH, "the file holds a table of "
                            + h.capacity() + " slots; the builder asked for " + capacity);
                }
                if (missingValueSet && h.missingValue() != missingValue) {
                    throw new TableFileException(path, TableFileException.Problem.MISMATCH, "the file's missing value is "
                            + h.missingValue() + "; the builder asked for " + missingValue);
                }
                long needed = Header.PAGE + TABLES.bytesFor(h.capacity());
                if (f.segment().byteSize() < needed) {
                    throw new TableFileException(path, TableFileException.Problem.TOO_SMALL, f.segment().byteSize()
                            + " bytes; its header describes a table of " + h.capacity() + " slots, which needs " + needed);
                }
                return new PersistentLongLongTable(this, s, f, h, created);
            } catch (IOException | RuntimeException | Error e) {
                f.close();
                throw e;
            }
        }
    }

    // ---------------------------------------------------------------- durability

    private void writeHeader() {
        header.writeTo(file.segment());
        file.flush(header.copyOffset(), Header.copyBytes());
    }

    /** Makes the whole table file durable (msync writes the dirty pages; DAX writes back every line). */
    private void flushAll() {
        file.flush(Header.PAGE, slotBytes);
    }

    /** In place: makes the words of {@code key}'s probe sequence durable (see the implementation notes). */
    private void flushKey(long key) {
        long value = TABLES.valueOffset(table, key);
        if (value < 0) {
            return;
        }
        long home = key == 0 ? value - 8 : TABLES.homeLine(table, key);
        long end = value + 8;
        if (home < end) {
            file.flush(Header.PAGE + home, end - home);
        } else { // the probe wrapped past the last line
            file.flush(Header.PAGE + home, slotBytes - 64 - home);
            file.flush(Header.PAGE, end);
        }
    }

    /** In place, after a single-key write: its flush, unless {@link Durability#NONE}. */
    private void persisted(long key) {
        if (durability != Durability.NONE) {
            flushKey(key);
        }
    }

    /** In place, after a bulk write under {@link Durability#BATCH}: one flush for all its keys. */
    private void persistedAll(long[] keys, int offset, int length) {
        if (file.synchronous()) {
            for (int i = 0; i < length; i++) {
                flushKey(keys[offset + i]);
            }
        } else {
            flushAll();
        }
    }

    /** Redo log: a group buffer for {@code entries} entries; the caller holds the write lock. */
    private ByteBuffer group(int entries) {
        group = RedoLog.groupBuffer(group, entries);
        return group;
    }

    /** Redo log: takes the write lock, refusing a closed table. */
    private void lock() {
        writeLock.lock();
        if (closed) {
            writeLock.unlock();
            throw closedException();
        }
    }

    /** Redo log: appends {@code group} and releases the write lock; then waits for durability. */
    private void commit(ByteBuffer group) {
        long at;
        try {
            at = log.append(group);
        } finally {
            writeLock.unlock();
        }
        if (durability != Durability.NONE) {
            log.sync(at);
        }
        if (log.bytes() > checkpointBytes && writeLock.tryLock()) {
            try {
                if (!closed && log.bytes() > checkpointBytes) {
                    checkpointLocked();
                }
            } finally {
                writeLock.unlock();
            }
        }
    }

    private void checkpointLocked() {
        flushAll();
        try {
            log.checkpointed();
        } catch (IOException e) {
            throw new UncheckedIOException("checkpointing the redo log of " + path, e);
        }
    }

    /** The value word of {@code value}; refuses the missing value. */
    long word(long value) {
        if (value == missingValue) {
            throw new IllegalArgumentException("value " + value
                    + " is this table's missingValue and cannot be stored; any other long can");
        }
        return value ^ missingValue;
    }

    /** Redo log: the entry for {@code key}'s state now (its value word, 0 if absent). */
    private void state(ByteBuffer g, long key) {
        long v = table.get(key);
        RedoLog.entry(g, key, v == missingValue ? 0 : v ^ missingValue);
    }

    // ---------------------------------------------------------------- single-key operations

    @Override
    public long missingValue() {
        return missingValue;
    }

    @Override
    public long get(long key) {
        return table.get(key);
    }

    @Override
    public boolean containsKey(long key) {
        return table.containsKey(key);
    }

    @Override
    public long put(long key, long value) {
        return write(key, word(value), () -> table.put(key, value), previous -> true);
    }

    @Override
    public long putIfAbsent(long key, long value) {
        return write(key, word(value), () -> table.putIfAbsent(key, value), witness -> witness == missingValue);
    }

    @Override
    public long replace(long key, long value) {
        return write(key, word(value), () -> table.replace(key, value), previous -> previous != missingValue);
    }

    @Override
    public boolean replace(long key, long expectedValue, long newValue) {
        word(expectedValue);
        return write(key, word(newValue), () -> table.replace(key, expectedValue, newValue) ? 1 : 0,
                replaced -> replaced == 1) == 1;
    }

    @Override
    public long remove(long key) {
        return write(key, 0, () -> table.remove(key), previous -> previous != missingValue);
    }

    @Override
    public boolean remove(long key, long expectedValue) {
        return write(key, 0, () -> table.remove(key, expectedValue) ? 1 : 0, removed -> removed == 1) == 1;
    }

    /**
     * One single-key write, {@code op}, whose result {@code changed} says whether it left
     * {@code key} with value word {@code word} (0: removed). In place: the write, then the flush
     * of the key's words (unless {@link Durability#NONE}). Redo log: the write and its log entry
     * under the write lock, then the wait for durability.
     */
    private long write(long key, long word, LongSupplier op, LongPredicate changed) {
        if (log == null) {
            long stamp = enter();
            try {
                long result = op.getAsLong();
                persisted(key);
                return result;
            } finally {
                gate.unlockRead(stamp);
            }
        }
        lock();
        ByteBuffer g = group(1);
        try {
            long result = op.getAsLong();
            if (changed.test(result)) {
                RedoLog.entry(g, key, word);
            }
            return result;
        } finally {
            commit(g);
        }
    }

    // ---------------------------------------------------------------- bulk calls

    @Override
    public void getAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        table.getAll(keys, keysOffset, values, valuesOffset, length);
    }

    @Override
    public int containsAll(long[] keys, int keysOffset, boolean[] present, int presentOffset, int length) {
        return table.containsAll(keys, keysOffset, present, presentOffset, length);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Under {@link Durability#BATCH} the call is batched and prefetched as the in-memory
     * table's, and made durable by one flush before it returns; a crash during the call leaves any
     * subset of its writes. Under {@link Durability#EACH} it is the loop of single puts, each
     * durable before the next: a crash leaves a prefix of the array. If the table fills up, the
     * writes that were made are durable before {@link TableFullException} is thrown.
     */
    @Override
    public long putAll(long[] keys, int keysOffset, long[] values, int valuesOffset, int length) {
        Objects.checkFromIndexSize(keysOffset, length, keys.length);
        Objects.checkFromIndexSize(valuesOffset, length, values.length);
        for (int i = 0; i < length; i++) {
            word(values[valuesOffset + i]);
        }
        if (durability == Durability.EACH) {
            long added = 0;
            for (int i = 0; i < length; i++) {
                added += put(keys[keysOffset + i], values[valuesOffset + i]) == missingValue ? 1 : 0;
            }
            return added;
        }
        if (log == null) {
            return inPlaceBulk(() -> table.putAll(keys, keysOffset, values, valuesOffset, length), keys, keysOffset,
                    length);
        }
        lock();
        ByteBuffer g = group(length);
        try {
            long added = table.putAll(keys, keysOffset, values, valuesOffset, length);
            for (int i = 0; i < length; i++) {
                RedoLog.entry(g, keys[keysOffset + i], values[valuesOffset + i] ^ missingValue);
            }
            return added;
        } catch (TableFullException e) {
            g.position(16);
            for (int i = 0; i < length; i++) {
                state(g, keys[keysOffset + i]);
            }
            throw e;
        } finally {
            commit(g);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Durable as {@link #putAll(long[], int, long[], int, int) putAll}.
     */
    @Override
    public long removeAll(long[] keys, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, keys.length);
        if (durability == Durability.EACH) {
            long removed = 0;
            for (int i = 0; i < length; i++) {
                removed += remove(keys[offset + i]) != missingValue ? 1 : 0;
            }
            return removed;
        }
        if (log == null) {
            return inPlaceBulk(() -> table.removeAll(keys, offset, length), keys, offset, length);
        }
        lock();
        ByteBuffer g = group(length);
        try {
            long removed = table.removeAll(keys, offset, length);
            for (int i = 0; i < length; i++) {
                RedoLog.entry(g, keys[offset + i], 0);
            }
            return removed;
        } finally {
            commit(g);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>The session collects a batch of requests (the table's batch size) and runs them as one
     * call: in submission order, then made durable as {@link #putAll(long[], int, long[], int, int)
     * putAll} (one flush under {@link Durability#BATCH}); a request's result is pollable once its
     * batch is durable.
     */
    @Override
    public LongLongSession session() {
        ensureOpen();
        return new DurableSession(this, table.batch());
    }

    /**
     * Runs {@code n} requests of a session in order ({@code kinds}: {@link DurableSession#GET},
     * {@code PUT}, {@code REMOVE}) and makes their writes durable; results into {@code results},
     * and {@code noRoom[i]} set where put {@code i} found no free slot (it did nothing). Returns
     * how many found none.
     */
    int run(byte[] kinds, long[] keys, long[] values, long[] results, boolean[] noRoom, int n) {
        int full = 0;
        if (durability == Durability.EACH || (log == null && durability == Durability.NONE)) {
            for (int i = 0; i < n; i++) {
                try {
                    results[i] = switch (kinds[i]) {
                        case DurableSession.PUT -> put(keys[i], values[i]);
                        case DurableSession.REMOVE -> remove(keys[i]);
                        default -> table.get(keys[i]);
                    };
                    noRoom[i] = false;
                } catch (TableFullException e) {
                    noRoom[i] = true;
                    full++;
                }
            }
            return full;
        }
        ByteBuffer g = null;
        long stamp = 0;
        if (log != null) {
            lock();
            g = group(n);
        } else {
            stamp = enter();
        }
        try {
            for (int i = 0; i < n; i++) {
                long key = keys[i];
                try {
                    switch (kinds[i]) {
                        case DurableSession.PUT -> {
                            results[i] = table.put(key, values[i]);
                            if (g != null) {
                                RedoLog.entry(g, key, values[i] ^ missingValue);
                            }
                        }
                        case DurableSession.REMOVE -> {
                            results[i] = table.remove(key);
                            if (g != null) {
                                RedoLog.entry(g, key, 0);
                            }
                        }
                        default -> results[i] = table.get(key);
                    }
                    noRoom[i] = false;
                } catch (TableFullException e) {
                    noRoom[i] = true;
                    full++;
                }
            }
        } finally {
            if (g != null) {
                commit(g);
            } else {
                try {
                    persistedAll(keys, 0, n);
                } finally {
                    gate.unlockRead(stamp);
                }
            }
        }
        return full;
    }

    // ---------------------------------------------------------------- whole table

    @Override
    public long size() {
        return table.size();
    }

    @Override
    public void forEach(LongLongConsumer action) {
        table.forEach(action);
    }

    /**
     * {@inheritDoc} Durable when it returns, whatever the {@link Durability}, and atomic with
     * respect to a crash: a crash during the call leaves either every mapping there was before it
     * or none of them. (In place, writes that run beside the clear count as before or after it,
     * as they do in memory.) A clear that fails in place once it has begun leaves the table
     * refusing writes and flushes until it is reopened: a crash before that may finish the clear.
     * As {@link ConcurrentLongLongTable#clear()}, it leaves each key in its slot, so a full table
     * stays full of them.
     */
    @Override
    public void clear() {
        lock();
        try {
            if (log == null) {
                long stamp = enter();
                try {
                    clearInPlace();
                } finally {
                    gate.unlockRead(stamp);
                }
            } else {
                // The clear record is durable before the table changes: the operating system may
                // write a cleared page back at any time.
                long at = log.appendClear();
                try {
                    log.sync(at);
                } catch (RuntimeException | Error e) {
                    log.withdraw(at);
                    throw e;
                }
                table.clear();
                checkpointLocked();
            }
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * In place: the header says "clearing" durably before a slot changes, and "open" again once
     * the cleared slots are durable; an open that finds the mark finishes the clear. From the mark
     * on, a failure leaves the mark where the next open may find it, and a write acknowledged
     * after it would then be cleared too: so the table takes no more writes. Both states go to
     * both header copies ({@link #writeBothCopies}). The caller holds the write lock (which
     * orders header writes) and the gate.
     */
    private void clearInPlace() {
        try {
            writeBothCopies(Header.CLEARING);
            table.clear();
            flushAll();
            writeBothCopies(Header.OPEN);
        } catch (RuntimeException | Error e) {
            clearFailure = e;
            throw e;
        }
    }

    /**
     * Writes the header with {@code state} to one copy and then to the other, each flushed: a
     * reader falls back to the older copy where the newer one is damaged, and an older copy
     * saying "clearing" (which clears the writes acknowledged since), "open" (beside slots a
     * clear left half done) or "clean" in layout version 1 (which an older library would take
     * for the truth) must not be there to fall back to.
     */
    private void writeBothCopies(long state) {
        for (int copy = 0; copy < 2; copy++) {
            header = header.next(state, persistence.ordinal(), 0);
            writeHeader();
        }
    }

    /**
     * Makes every write acknowledged so far durable, whatever the {@link Durability}: under
     * {@link Durability#NONE}, the way to choose when writes survive a power cut.
     */
    public void flush() {
        ensureOpen();
        if (log == null) {
            long stamp = enter();
            try {
                flushAll();
            } finally {
                gate.unlockRead(stamp);
            }
        } else {
            log.sync(log.end());
        }
    }

    /**
     * In place: the bulk call {@code op} on {@code keys[offset, offset + length)}, then one flush
     * for all of them (unless {@link Durability#NONE}), also when it throws midway.
     */
    private long inPlaceBulk(LongSupplier op, long[] keys, int offset, int length) {
        long stamp = enter();
        try {
            return op.getAsLong();
        } finally {
            try {
                if (durability != Durability.NONE) {
                    persistedAll(keys, offset, length);
                }
            } finally {
                gate.unlockRead(stamp);
            }
        }
    }

    /** In place: enters a write (shared), refusing a closed table. */
    private long enter() {
        long stamp = gate.readLock();
        if (closed || clearFailure != null) {
            gate.unlockRead(stamp);
            throw closed ? closedException() : new IllegalStateException("a clear() of " + path + " failed midway,"
                    + " so the table takes no more writes or flushes: close it, which makes durable what reads"
                    + " see now, and open it again (a crash first may finish the clear)", clearFailure);
        }
        return stamp;
    }

    /** Throws if the table is closed. */
    void ensureOpen() {
        if (closed) {
            throw closedException();
        }
    }

    private IllegalStateException closedException() {
        return new IllegalStateException("table is closed: " + path);
    }

    @Override
    public long capacity() {
        return table.capacity();
    }

    @Override
    public long memoryBytes() {
        return table.memoryBytes();
    }

    /** -1: a file mapping's huge pages are the file system's business. */
    @Override
    public long hugePageBytes() {
        return -1;
    }

    @Override
    public String memoryDescription() {
        return file.description() + ", " + persistence + ", " + durability;
    }

    /** The file. */
    public Path path() {
        return path;
    }

    /** How writes are made durable: {@link Persistence#IN_PLACE} or {@link Persistence#REDO_LOG}, never AUTO. */
    public Persistence persistence() {
        return persistence;
    }

    /** When writes are acknowledged. */
    public Durability durability() {
        return durability;
    }

    /** What the open that made this table found and did. */
    public RecoveryReport recovery() {
        return recovery;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /**
     * Flushes the table, checkpoints the log and marks the file clean, so that the next open
     * reads the header only; then unmaps and unlocks the file. Idempotent.
     *
     * @throws UncheckedIOException if the file system fails (the file is then recovered at the next open)
     */
    @Override
    public void close() {
        writeLock.lock();
        if (closed) {
            writeLock.unlock();
            return;
        }
        closed = true; // first, so that new in-place writes give way at once
        long stamp = gate.writeLock(); // then wait for those in progress
        try {
            try {
                checkpointAndCloseLog();
                header = header.next(Header.CLEAN, persistence.ordinal(), table.size());
                writeHeader();
            } catch (IOException e) {
                throw new UncheckedIOException("closing " + path, e);
            } finally {
                table.close();
                file.close();
            }
        } finally {
            gate.unlockWrite(stamp);
            writeLock.unlock();
        }
    }

    /** For close(): flushes the table and checkpoints the log, and closes the log whatever fails, so that no writer waiting on it can use or reopen it. */
    private void checkpointAndCloseLog() throws IOException {
        Throwable failure = null;
        try {
            flushAll();
            if (log != null) {
                log.checkpointed();
            }
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            if (log != null) {
                try {
                    log.close();
                } catch (IOException e) {
                    if (failure == null) {
                        throw e;
                    }
                    failure.addSuppressed(e);
                }
            }
        }
    }

    /**
     * Lets go of the file as a crash of this process would, for a supervisor that restarts a
     * failed component inside the same JVM: refuses new calls, then unmaps the table, closes the
     * log and unlocks the file without flushing, checkpointing or marking it clean. What the
     * operating system holds of the file stays, as after {@code kill -9}, and the next open
     * recovers. A write in progress either returns (acknowledged, and durable as its mode says)
     * or throws (not acknowledged). Idempotent; after {@link #close()} it does nothing.
     */
    public void abandon() {
        writeLock.lock();
        if (closed) {
            writeLock.unlock();
            return;
        }
        closed = true;
        long stamp = gate.writeLock();
        try {
            if (log != null) {
                log.close();
            }
        } catch (IOException e) {
            // Nothing is being kept: a log that fails to close is as good as closed.
        } finally {
            table.close();
            file.close();
            gate.unlockWrite(stamp);
            writeLock.unlock();
        }
    }

    @Override
    public String toString() {
        return "PersistentLongLongTable[" + path + ", " + persistence + ", " + durability
                + (closed ? ", closed]" : ", size=" + table.size() + "]");
    }
}
