package io.hashkernel.pm;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Files that cannot be opened as asked: a clear exception, and the file as it was. */
class TableFileProblemsTest {

    @TempDir
    Path dir;

    /** A cleanly closed table file of 64 slots holding 1 → 2. */
    private Path table(String name) throws IOException {
        Path file = dir.resolve(name);
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(64).open()) {
            t.put(1, 2);
        }
        return file;
    }

    /** Opening {@code file} fails with {@code problem}, naming the file, and leaves its bytes as they were. */
    private TableFileException refused(Path file, TableFileException.Problem problem,
                                       PersistentLongLongTable.Builder builder) throws IOException {
        byte[] before = Files.exists(file) ? Files.readAllBytes(file) : null;
        TableFileException e = assertThrows(TableFileException.class, builder::open);
        assertEquals(problem, e.problem(), e.getMessage());
        assertTrue(e.getMessage().contains(file.getFileName().toString()), e.getMessage());
        if (before != null) {
            assertArrayEquals(before, Files.readAllBytes(file), "the file is untouched");
        } else {
            assertFalse(Files.exists(file), "no file is left behind");
        }
        return e;
    }

    @Test
    void aFileShorterThanItsHeaderPage() throws IOException {
        Path file = dir.resolve("short.hkt");
        Files.write(file, new byte[100]);
        refused(file, TableFileException.Problem.TOO_SMALL, PersistentLongLongTable.builder(file));
    }

    @Test
    void aFileShorterThanItsTable() throws IOException {
        Path file = table("cut.hkt");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(Header.PAGE + 512);
        }
        TableFileException e = refused(file, TableFileException.Problem.TOO_SMALL, PersistentLongLongTable.builder(file));
        assertTrue(e.getMessage().contains("64 slots"), e.getMessage());
    }

    @Test
    void aFileOfSomethingElse() throws IOException {
        Path file = dir.resolve("other.bin");
        byte[] junk = new byte[8192];
        Arrays.fill(junk, (byte) 7);
        Files.write(file, junk);
        refused(file, TableFileException.Problem.OTHER_LAYOUT, PersistentLongLongTable.builder(file));
    }

    @Test
    void aTableFileOfAnotherLayoutVersion() throws IOException {
        for (int version : new int[] {3, 0, -1}) {
            Path file = table("v" + version + ".hkt");
            rewriteBothCopies(file, 8, version);
            TableFileException e = refused(file, TableFileException.Problem.OTHER_LAYOUT,
                    PersistentLongLongTable.builder(file));
            assertTrue(e.getMessage().contains("version " + version) && e.getMessage().contains("versions 1 to 2"),
                    e.getMessage());
        }
    }

    @Test
    void aTableFileOfLayoutVersion1StillOpens() throws IOException {
        Path file = table("v1.hkt");
        rewriteBothCopies(file, 8, 1);
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).open()) {
            assertTrue(t.recovery().clean(), "read as the clean file it was");
            // Both copies are version 2 before the first write: a stale version 1 "clean" copy
            // would be the header for a library that reads version 1 only.
            ByteBuffer page = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                ch.read(page, 0);
            }
            assertEquals(2, page.getInt(8), "copy 0's layout version");
            assertEquals(2, page.getInt(2048 + 8), "copy 1's layout version");
            t.put(5, 6);
        }
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).open()) {
            assertEquals(6, t.get(5));
        }
    }

    @Test
    void aHeaderCorruptInBothCopies() throws IOException {
        Path file = table("corrupt.hkt");
        for (long at : new long[]{16, 2048 + 16}) {
            Damage.flipByte(file, at);
        }
        refused(file, TableFileException.Problem.CORRUPT_HEADER, PersistentLongLongTable.builder(file));
    }

    @Test
    void aHeaderCorruptInOneCopyStillOpens() throws IOException {
        Path file = table("half.hkt");
        // The newest copy is damaged: the other, one epoch older, describes the same table.
        Damage.flipByte(file, 16);
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).open()) {
            assertEquals(2, t.get(1));
        }
    }

    @Test
    void anotherCapacityOrMissingValue() throws IOException {
        Path file = table("mismatch.hkt");
        refused(file, TableFileException.Problem.MISMATCH, PersistentLongLongTable.builder(file).capacity(128));
        refused(file, TableFileException.Problem.MISMATCH, PersistentLongLongTable.builder(file).missingValue(-1));
    }

    @Test
    void aFileAnotherTableHasOpen() throws IOException {
        Path file = table("locked.hkt");
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).open()) {
            refused(file, TableFileException.Problem.LOCKED, PersistentLongLongTable.builder(file));
            assertEquals(2, t.get(1), "the first table is unharmed");
        }
    }

    @Test
    void aReadOnlyFile() throws IOException, InterruptedException {
        Path file = table("ro.hkt");
        // Root ignores permission bits, so the file is made immutable where chattr can.
        boolean immutable = new ProcessBuilder("chattr", "+i", file.toString()).start().waitFor() == 0;
        if (!immutable) {
            Assumptions.assumeTrue(file.toFile().setWritable(false) && !Files.isWritable(file),
                    "neither chattr +i nor permissions can make the file read-only here");
        }
        try {
            refused(file, TableFileException.Problem.READ_ONLY, PersistentLongLongTable.builder(file));
        } finally {
            if (immutable) {
                new ProcessBuilder("chattr", "-i", file.toString()).start().waitFor();
            }
            file.toFile().setWritable(true);
        }
    }

    @Test
    void noSpaceForTheTable() throws IOException {
        Path file = dir.resolve("huge.hkt");
        long slots = Long.highestOneBit(Files.getFileStore(dir).getUsableSpace()) * 2 / 16 * 2;
        TableFileException e = refused(file, TableFileException.Problem.DISK_FULL,
                PersistentLongLongTable.builder(file).capacity(slots));
        assertTrue(e.getMessage().contains("usable"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("huge.hkt.creating")));
    }

    @Test
    void aMissingFileWhenToldNotToCreate() throws IOException {
        Path file = dir.resolve("absent.hkt");
        refused(file, TableFileException.Problem.MISSING, PersistentLongLongTable.builder(file).createIfMissing(false));
    }

    @Test
    void badBuilderValues() {
        PersistentLongLongTable.Builder b = PersistentLongLongTable.builder(dir.resolve("x.hkt"));
        assertThrows(IllegalArgumentException.class, () -> b.capacity(0));
        assertThrows(IllegalArgumentException.class, () -> b.checkpointBytes(100));
        assertThrows(NullPointerException.class, () -> b.durability(null));
        assertThrows(NullPointerException.class, () -> PersistentLongLongTable.builder(null));
    }

    @Test
    void theMissingValueCannotBeStored() throws IOException {
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(dir.resolve("m.hkt"))
                .persistence(Persistence.REDO_LOG).open()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.put(1, 0));
            assertTrue(e.getMessage().contains("missingValue"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> t.putAll(new long[]{1, 2}, new long[]{5, 0}));
            assertEquals(0, t.size(), "a bulk call with a bad value changes nothing");
        }
    }


    /** Writes {@code value} at {@code offset} of both header copies and recomputes their checksums. */
    private static void rewriteBothCopies(Path file, int offset, int value) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (long copy : new long[]{0, 2048}) {
                ByteBuffer b = ByteBuffer.allocate(68).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(b, copy);
                b.putInt(offset, value);
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(b.array(), 0, 64);
                b.putInt(64, (int) crc.getValue()).rewind();
                ch.write(b, copy);
            }
        }
    }
}
