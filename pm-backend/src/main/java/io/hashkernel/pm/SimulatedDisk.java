package io.hashkernel.pm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A disk in memory for the power-cut drill: it keeps, for the table file and the redo log, what
 * the program sees (the page cache) and what is durable (flushed, forced). A {@linkplain #cut power
 * cut} makes a new disk whose files hold what was durable plus any subset of what was not, chosen
 * unit by unit (8 bytes, 64 bytes or 4 KiB). The disk can also cut the power itself, before its
 * n-th mutating call (a flush, a log write, a force, a truncation), by throwing {@link PowerCut}
 * out of that call, so that crash points fall inside operations.
 *
 * <p>Thread-safe: the file operations are serialised on the disk (memory stores into the mapped
 * table are not, as on a real one). Creating a file and deleting the log are atomic and durable at once, as the file system
 * storage makes them (a rename, an unlink, each followed by a directory sync).
 */
final class SimulatedDisk implements Storage {

    /** Thrown by the disk's n-th mutating call: the power went. Nothing after it happened. */
    static final class PowerCut extends Error {
        private static final long serialVersionUID = 1L;

        PowerCut() {
            super("simulated power cut", null, false, false);
        }
    }

    private static final Path PATH = Path.of("simulated.hkt");

    private MemorySegment table;
    private byte[] durableTable;
    private byte[] log;
    private int logLength;
    private byte[] durableLog;
    private boolean tableOpen;
    private long countdown = Long.MAX_VALUE;
    /** A broken disk for the drill's own test: table flushes do nothing. */
    private final boolean dropFlushes;
    private int dropNext;

    SimulatedDisk() {
        this(false);
    }

    SimulatedDisk(boolean dropFlushes) {
        this.dropFlushes = dropFlushes;
    }

    /** Cuts the power before the {@code calls}-th mutating call from now (1: the next one). */
    void cutAfter(long calls) {
        countdown = calls;
    }

    /** The next {@code n} table flushes do nothing (a test of what another write's flush covers). */
    void dropNextFlushes(int n) {
        dropNext = n;
    }

    /** The disk after a power cut now that keeps nothing but what was made durable. */
    SimulatedDisk cutToDurable() {
        return cut(null, 8);
    }

    /** Never cuts the power by itself. */
    void noCut() {
        countdown = Long.MAX_VALUE;
    }

    private synchronized void step() {
        if (--countdown <= 0) {
            countdown = Long.MAX_VALUE;
            throw new PowerCut();
        }
    }

    /**
     * The disk after a power cut now: each file holds its durable bytes, and where the page cache
     * differed, unit by unit, the page cache's bytes for a random half of the units (none where
     * {@code random} is null).
     */
    SimulatedDisk cut(SplittableRandom random, int unit) {
        SimulatedDisk after = new SimulatedDisk(dropFlushes);
        if (durableTable != null) {
            byte[] seen = table.toArray(ValueLayout.JAVA_BYTE);
            byte[] image = mix(durableTable, durableTable.length, seen, seen.length, durableTable.length, random, unit);
            after.durableTable = image;
            after.table = Arena.ofAuto().allocate(image.length, Header.PAGE);
            MemorySegment.copy(MemorySegment.ofArray(image), 0, after.table, 0, image.length);
        }
        if (durableLog != null) {
            int length = random != null && random.nextBoolean() ? logLength : durableLog.length;
            byte[] image = mix(durableLog, durableLog.length, log, logLength, length, random, unit);
            after.durableLog = image;
            after.log = image.clone();
            after.logLength = image.length;
        }
        return after;
    }

    /**
     * The disk after the process died but the machine did not: the page cache survives, so each
     * file holds everything written to it.
     */
    SimulatedDisk processCrash() {
        SimulatedDisk after = new SimulatedDisk(dropFlushes);
        if (durableTable != null) {
            after.durableTable = table.toArray(ValueLayout.JAVA_BYTE);
            after.table = Arena.ofAuto().allocate(table.byteSize(), Header.PAGE);
            MemorySegment.copy(table, 0, after.table, 0, table.byteSize());
        }
        if (durableLog != null) {
            after.durableLog = Arrays.copyOf(log, logLength);
            after.log = after.durableLog.clone();
            after.logLength = logLength;
        }
        return after;
    }

    private static byte[] mix(byte[] durable, int durableLength, byte[] seen, int seenLength, int length,
                              SplittableRandom random, int unit) {
        byte[] image = new byte[length];
        for (int at = 0; at < length; at += unit) {
            int end = Math.min(length, at + unit);
            boolean same = true;
            for (int i = at; i < end && same; i++) {
                same = byteAt(durable, durableLength, i) == byteAt(seen, seenLength, i);
            }
            boolean takeSeen = !same && random != null && random.nextBoolean();
            for (int i = at; i < end; i++) {
                image[i] = takeSeen ? byteAt(seen, seenLength, i) : byteAt(durable, durableLength, i);
            }
        }
        return image;
    }

    private static byte byteAt(byte[] b, int length, int i) {
        return i < length ? b[i] : 0;
    }

    @Override
    public Path path() {
        return PATH;
    }

    @Override
    public boolean exists() {
        return durableTable != null;
    }

    @Override
    public void create(long bytes, MemorySegment firstPage) {
        step();
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a simulated disk holds tables under 2 GiB, not " + bytes + " bytes");
        }
        durableTable = new byte[(int) bytes];
        MemorySegment.copy(firstPage, 0, MemorySegment.ofArray(durableTable), 0, firstPage.byteSize());
        table = Arena.ofAuto().allocate(bytes, Header.PAGE);
        MemorySegment.copy(MemorySegment.ofArray(durableTable), 0, table, 0, bytes);
    }

    @Override
    public TableFile openTable() throws TableFileException {
        if (tableOpen) {
            throw new TableFileException(PATH, TableFileException.Problem.LOCKED, "the simulated table file is open");
        }
        tableOpen = true;
        return new TableFile() {
            private boolean closed;

            @Override
            public MemorySegment segment() {
                return table;
            }

            @Override
            public void flush(long offset, long length) {
                synchronized (SimulatedDisk.this) {
                    step();
                    if (dropNext > 0) {
                        dropNext--;
                    } else if (!dropFlushes) {
                        MemorySegment.copy(table, offset, MemorySegment.ofArray(durableTable), offset, length);
                    }
                }
            }

            @Override
            public boolean synchronous() {
                return false;
            }

            @Override
            public String description() {
                return "simulated disk";
            }

            @Override
            public void close() {
                if (!closed) {
                    closed = true;
                    tableOpen = false;
                }
            }
        };
    }

    @Override
    public boolean logExists() {
        return durableLog != null;
    }

    @Override
    public void deleteLog() {
        step();
        log = null;
        logLength = 0;
        durableLog = null;
    }

    @Override
    public synchronized void replaceLog(ByteBuffer contents) {
        step();
        byte[] bytes = new byte[contents.remaining()];
        contents.get(bytes);
        log = bytes.clone();
        logLength = bytes.length;
        durableLog = bytes;
    }

    @Override
    public LogFile openLog() {
        if (durableLog == null) {
            durableLog = new byte[0];
            log = new byte[0];
            logLength = 0;
        }
        return new LogFile() {
            @Override
            public long size() {
                synchronized (SimulatedDisk.this) {
                    return logLength;
                }
            }

            @Override
            public int read(ByteBuffer dst, long position) {
                synchronized (SimulatedDisk.this) {
                    int n = (int) Math.max(0, Math.min(dst.remaining(), logLength - position));
                    dst.put(log, (int) position, n);
                    return n;
                }
            }

            @Override
            public void write(ByteBuffer src, long position) {
                synchronized (SimulatedDisk.this) {
                    step();
                    int end = Math.toIntExact(position + src.remaining());
                    if (end > log.length) {
                        log = Arrays.copyOf(log, Math.max(end, 2 * log.length));
                    }
                    if (position > logLength) {
                        Arrays.fill(log, logLength, (int) position, (byte) 0);
                    }
                    src.get(log, (int) position, src.remaining());
                    logLength = Math.max(logLength, end);
                }
            }

            @Override
            public void force() {
                synchronized (SimulatedDisk.this) {
                    step();
                    durableLog = Arrays.copyOf(log, logLength);
                }
            }

            @Override
            public void truncate(long size) {
                synchronized (SimulatedDisk.this) {
                    step();
                    logLength = (int) Math.min(logLength, size);
                }
            }

            @Override
            public void close() {
            }
        };
    }
}
