package io.hashkernel.pm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static io.hashkernel.pm.PersistentBytesMapTest.b;
import static io.hashkernel.pm.PersistentBytesMapTest.key;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The durable byte map when its disk fails or its threads are interrupted. */
class BytesMapFailuresTest {

    /** A builder whose log channels fail on demand; {@code current} holds the newest. */
    static PersistentBytesMap.Builder failing(Path dir, AtomicReference<FailingChannel> current) {
        return PersistentBytesMap.builder(dir).channels(c -> {
            FailingChannel f = new FailingChannel(c);
            current.set(f);
            return f;
        });
    }

    @Test
    void aFailedAppendStopsWritesNotReadsAndAReopenRestoresTheLoggedState(@TempDir Path dir) throws IOException {
        AtomicReference<FailingChannel> log = new AtomicReference<>();
        try (PersistentBytesMap m = failing(dir.resolve("m"), log).open()) {
            m.put(b("a"), b("1"));
            log.get().failWrite = true;
            UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> m.put(b("b"), b("2")));
            assertTrue(e.getMessage().contains("takes no more writes"), e.getMessage());
            log.get().failWrite = false;
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> m.put(b("c"), b("3")));
            assertTrue(refused.getMessage().contains("reopen"), refused.getMessage());
            assertArrayEquals(b("1"), m.get(b("a")), "reads go on");
            assertThrows(UncheckedIOException.class, m::close, "close says the map had failed");
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(dir.resolve("m")).open()) {
            assertArrayEquals(b("1"), m.get(b("a")));
            assertNull(m.get(b("b")), "the write whose append failed is not in the log");
            assertEquals(1, m.size());
        }
    }

    @Test
    void aCheckpointThatMeetsAFailedWriteGivesUpAndTheOldFilesStillOpen(@TempDir Path dir) throws Exception {
        AtomicReference<FailingChannel> log = new AtomicReference<>();
        AtomicReference<PersistentBytesMap> map = new AtomicReference<>();
        AtomicReference<Throwable> other = new AtomicReference<>();
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = failing(d, log).durability(Durability.BATCH)
                .steps(step -> {
                    if (step.equals("rotated")) {
                        // The disk fills while the snapshot is written; another writer meets it.
                        log.get().failWrite = true;
                        Thread t = new Thread(() -> {
                            try {
                                map.get().put(b("other"), b("x"));
                            } catch (Throwable e) {
                                other.set(e);
                            }
                        });
                        t.start();
                        try {
                            t.join();
                        } catch (InterruptedException e) {
                            throw new AssertionError(e);
                        }
                    }
                }).open()) {
            map.set(m);
            for (int i = 0; i < 10; i++) {
                m.put(key(i), b("v" + i));
            }
            IllegalStateException e = assertThrows(IllegalStateException.class, m::checkpoint);
            assertTrue(e.getMessage().contains("reopen"), e.getMessage());
            assertTrue(other.get() instanceof UncheckedIOException, String.valueOf(other.get()));
            log.get().failWrite = false;
            assertThrows(UncheckedIOException.class, m::close);
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(10, m.size(), "every acknowledged write, not the failed one: " + PersistentBytesMapTest.files(d));
            assertEquals(0, m.recovery().snapshotRecords(), "the snapshot was never renamed into place");
        }
    }

    @Test
    void closeAfterAFailedWriteForcesTheRecordsBeforeIt(@TempDir Path dir) throws IOException {
        AtomicReference<FailingChannel> log = new AtomicReference<>();
        PersistentBytesMap m = failing(dir.resolve("m"), log).durability(Durability.NONE).open();
        for (int i = 0; i < 100; i++) {
            m.put(key(i), b("v" + i)); // acknowledged; durable against a power cut at close()
        }
        log.get().failWrite = true;
        assertThrows(UncheckedIOException.class, () -> m.put(b("x"), b("y")));
        log.get().failWrite = false;
        int forces = log.get().forces.get();
        assertThrows(UncheckedIOException.class, m::close);
        assertTrue(log.get().forces.get() > forces, "close forced the log");
        try (PersistentBytesMap again = PersistentBytesMap.builder(dir.resolve("m")).open()) {
            assertEquals(100, again.size());
        }
    }

    @Test
    void anInterruptedWriterStopsNobody(@TempDir Path dir) throws Exception {
        for (Durability d : Durability.values()) {
            Path m = dir.resolve(d.name());
            try (PersistentBytesMap map = PersistentBytesMap.builder(m).durability(d).checkpointBytes(4096).open()) {
                map.put(b("a"), b("1"));
                for (int i = 0; i < 50; i++) {
                    Thread.currentThread().interrupt();
                    try {
                        map.put(key(i), new byte[200]); // checkpoints too
                        assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
                    } finally {
                        Thread.interrupted();
                    }
                }
                AtomicReference<Throwable> other = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        map.put(b("c"), b("3"));
                        map.flush();
                    } catch (Throwable e) {
                        other.set(e);
                    }
                });
                t.start();
                t.join();
                assertNull(other.get(), d + ": another thread's write after interrupted ones: " + other.get());
            }
            try (PersistentBytesMap map = PersistentBytesMap.builder(m).open()) {
                assertEquals(52, map.size(), d.toString());
            }
        }
    }

    @Test
    void checkpointsOfAnInterruptedThreadComplete(@TempDir Path dir) throws Exception {
        // An interrupted caller's checkpoint completes and keeps the interrupt status, whether the
        // interrupt came before the call, before the snapshot's first write or before its force
        // (each closes the channel it meets; the snapshot file is reopened and the I/O repeated).
        Path d = dir.resolve("m");
        int entries = 3000;
        AtomicReference<String> interruptAt = new AtomicReference<>("");
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(Durability.NONE)
                .checkpointBytes(1L << 40).steps(step -> {
                    if (step.equals(interruptAt.get())) {
                        Thread.currentThread().interrupt();
                    }
                }).open()) {
            for (int i = 0; i < entries; i++) {
                m.put(key(i), new byte[300]);
            }
            for (String at : List.of("", "rotated", "snapshot written")) {
                m.put(key(entries), b("v " + at));
                interruptAt.set(at);
                if (at.isEmpty()) {
                    Thread.currentThread().interrupt();
                }
                try {
                    m.checkpoint();
                    assertTrue(Thread.currentThread().isInterrupted(), "interrupted at '" + at + "': the interrupt status is kept");
                } finally {
                    Thread.interrupted();
                }
            }
            try (Stream<Path> files = Files.list(d)) {
                assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList(),
                        "no snapshot left half-written");
            }
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(entries + 1, m.size(), m.recovery().toString());
            assertArrayEquals(b("v snapshot written"), m.get(key(entries)));
            assertArrayEquals(new byte[300], m.get(key(entries - 1)));
        }
    }

    @Test
    void interruptsDuringLogWritesLoseNothing(@TempDir Path dir) throws Exception {
        // Interrupts that land while a write completes: its retry must not write at a stale offset.
        Path d = dir.resolve("m");
        int acked = 0;
        byte[] value = new byte[256 << 10];
        java.util.Arrays.fill(value, (byte) 7);
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(Durability.NONE)
                .checkpointBytes(1L << 40).open()) {
            Thread writer = Thread.currentThread();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread interrupter = new Thread(() -> {
                java.util.SplittableRandom r = new java.util.SplittableRandom(5);
                while (!stop.get()) {
                    writer.interrupt();
                    java.util.concurrent.locks.LockSupport.parkNanos(20_000 + r.nextLong(200_000));
                }
            });
            interrupter.start();
            try {
                for (int i = 0; i < 200; i++) {
                    Thread.interrupted();
                    m.put(key(i), value);
                    acked++;
                }
            } finally {
                stop.set(true);
                while (interrupter.isAlive()) {
                    try {
                        interrupter.join();
                    } catch (InterruptedException lastOne) {
                        // the interrupter's last interrupt
                    }
                }
                Thread.interrupted();
            }
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(acked, m.size(), "acknowledged writes lost; " + m.recovery());
        }
    }

    @Test
    void closeOnAnInterruptedThreadKeepsWriteBehindRecords(@TempDir Path dir) throws Exception {
        Path d = dir.resolve("m");
        PersistentBytesMap m = PersistentBytesMap.builder(d).durability(Durability.NONE).writeBehind(true).open();
        for (int i = 0; i < 100; i++) {
            m.put(key(i), b("v" + i));
        }
        Thread.currentThread().interrupt();
        try {
            m.close();
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
        } finally {
            Thread.interrupted();
        }
        try (PersistentBytesMap again = PersistentBytesMap.builder(d).open()) {
            assertEquals(100, again.size());
        }
    }

    /**
     * A checkpoint that cannot create its new log (here: a directory in the way of its tmp file,
     * then an exception and an error once the new log was renamed into place) deletes what it
     * made and the map goes on writing to its log; nothing is lost and a later checkpoint works.
     */
    @Test
    void aCheckpointThatCannotCreateItsNewLogLeavesTheMapWriting(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("m");
        AtomicBoolean failOpen = new AtomicBoolean();
        AtomicBoolean failWithError = new AtomicBoolean();
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(Durability.EACH).channels(c -> {
            if (failOpen.getAndSet(false)) {
                if (failWithError.getAndSet(false)) {
                    throw new AssertionError("simulated error opening the new log");
                }
                throw new UncheckedIOException(new IOException("simulated failure opening the new log"));
            }
            return c;
        }).open()) {
            for (int i = 0; i < 10; i++) {
                m.put(key(i), b("v" + i));
            }
            long next = newestLog(d) + 1;
            Path inTheWay = d.resolve(String.format("%016x.log.tmp", next));
            Files.createDirectory(inTheWay);
            UncheckedIOException e = assertThrows(UncheckedIOException.class, m::checkpoint);
            assertTrue(e.getMessage().contains("checkpoint of"), e.getMessage());
            assertTrue(e.getCause().getMessage().contains("goes on with its log"), e.getCause().getMessage());
            assertFalse(Files.exists(inTheWay), "its tmp file is removed: " + PersistentBytesMapTest.files(d));
            assertEquals(next - 1, newestLog(d));
            for (int i = 10; i < 20; i++) {
                m.put(key(i), b("v" + i));
            }

            next = newestLog(d) + 1;
            failOpen.set(true); // after the rename
            e = assertThrows(UncheckedIOException.class, m::checkpoint);
            assertTrue(e.getCause().getMessage().contains("goes on with its log"), e.getCause().getMessage());
            assertFalse(Files.exists(d.resolve(String.format("%016x.log", next))),
                    "the new log is removed: " + PersistentBytesMapTest.files(d));
            for (int i = 20; i < 25; i++) {
                m.put(key(i), b("v" + i));
            }

            next = newestLog(d) + 1;
            failOpen.set(true);
            failWithError.set(true); // an Error, not an exception: cleaned up the same way
            assertThrows(AssertionError.class, m::checkpoint);
            assertFalse(Files.exists(d.resolve(String.format("%016x.log", next))),
                    "the new log is removed: " + PersistentBytesMapTest.files(d));
            assertEquals(Files.size(d.resolve(String.format("%016x.log", next - 1))), m.durableEnd()[1],
                    "the forced end of the log that stays current");
            for (int i = 25; i < 30; i++) {
                m.put(key(i), b("v" + i));
            }
            m.checkpoint();
            assertEquals(next, newestLog(d));
            m.put(key(30), b("v30"));
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertEquals(31, m.size());
            for (int i = 0; i <= 30; i++) {
                assertArrayEquals(b("v" + i), m.get(key(i)));
            }
        }
    }

    /**
     * A checkpoint whose drain of the records meets an unchecked failure stops the map's writes,
     * as a checked one does: the records it did not write must not be overwritten by later ones.
     */
    @Test
    void aCheckpointWhoseDrainFailsUncheckedStopsTheMapsWrites(@TempDir Path dir) throws IOException {
        AtomicReference<FailingChannel> log = new AtomicReference<>();
        Path d = dir.resolve("m");
        try (PersistentBytesMap m = failing(d, log).durability(Durability.NONE).writeBehind(true).open()) {
            m.put(b("a"), b("1"));
            m.put(b("b"), b("2"));
            log.get().failWriteUnchecked = true;
            assertThrows(UncheckedIOException.class, m::checkpoint);
            log.get().failWriteUnchecked = false;
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> m.put(b("c"), b("3")));
            assertTrue(refused.getMessage().contains("reopen"), refused.getMessage());
            assertThrows(UncheckedIOException.class, m::close, "close says the map had failed");
        }
        try (PersistentBytesMap m = PersistentBytesMap.builder(d).open()) {
            assertNull(m.get(b("c")), "refused");
            // The records the failed write held never reached the file: the log's state is the map's.
            assertEquals(0, m.size(), PersistentBytesMapTest.files(d).toString());
        }
    }

    private static long newestLog(Path d) throws IOException {
        try (Stream<Path> files = Files.list(d)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9a-f]{16}\\.log"))
                    .mapToLong(n -> Long.parseLong(n.substring(0, 16), 16)).max().orElseThrow();
        }
    }
}
