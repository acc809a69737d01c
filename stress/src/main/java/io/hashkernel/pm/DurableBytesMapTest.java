package io.hashkernel.pm;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The durable byte map's log under races ({@link PersistentBytesMap}, this class sits in its
 * package to reach its test hooks): two writers of one key leave the log in the map's order, so a
 * reopen gives the live value; group commit acknowledges no write before it is forced. Files go
 * to {@code /dev/shm} where it exists (an open and a reopen per sample).
 *
 * <p>Run just these: {@code java -jar stress/target/jcstress.jar -t DurableBytesMapTest}
 */
public final class DurableBytesMapTest {
    private DurableBytesMapTest() {
    }

    private static final Path ROOT = Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : Path.of(System.getProperty("java.io.tmpdir"));
    private static final byte[] KEY = {7};

    static Path newDir() {
        try {
            return Files.createTempDirectory(ROOT, "hk-bytes-jcstress");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static PersistentBytesMap open(Path dir, Durability d) {
        try {
            return PersistentBytesMap.builder(dir).durability(d).open();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The value of {@link #KEY} in the closed map of {@code dir} (its first byte, 0 when absent); deletes the directory. */
    static int reopened(Path dir) {
        try (PersistentBytesMap m = open(dir, Durability.NONE)) {
            byte[] v = m.get(KEY);
            return v == null ? 0 : v[0];
        } finally {
            delete(dir);
        }
    }

    static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @JCStressTest
    @Description("put(k, 1) races put(k, 2); the reopened map holds the live value.")
    @Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "put 2, then put 1")
    @Outcome(id = "2, 2", expect = ACCEPTABLE, desc = "put 1, then put 2")
    @Outcome(expect = FORBIDDEN, desc = "the log's order differs from the map's")
    @State
    public static class LogOrder {
        final Path dir = newDir();
        final PersistentBytesMap map = open(dir, Durability.NONE);

        @Actor
        public void one() {
            map.put(KEY, new byte[] {1});
        }

        @Actor
        public void two() {
            map.put(KEY, new byte[] {2});
        }

        @Arbiter
        public void after(II_Result r) {
            r.r1 = map.get(KEY)[0];
            map.close();
            r.r2 = reopened(dir);
        }
    }

    @JCStressTest
    @Description("Group commit: once two BATCH puts are acknowledged, the forced part of the log holds both.")
    @Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "everything written is forced")
    @Outcome(expect = FORBIDDEN, desc = "a put was acknowledged before its record was forced")
    @State
    public static class GroupCommit {
        final Path dir = newDir();
        final PersistentBytesMap map = open(dir, Durability.BATCH);

        @Actor
        public void one() {
            map.put(new byte[] {1}, new byte[] {1});
        }

        @Actor
        public void two() {
            map.put(new byte[] {2}, new byte[] {2});
        }

        @Arbiter
        public void after(II_Result r) {
            try {
                long[] forced = map.durableEnd();
                long size = Files.size(dir.resolve(String.format("%016x.log", forced[0])));
                r.r1 = forced[1] == size ? 1 : 0;
                // Both records are in the forced part: 32-byte header, two 14-byte records.
                r.r2 = forced[1] == PersistentBytesMap.FILE_HEADER + 2L * (PersistentBytesMap.RECORD_HEADER + 2) ? 1 : 0;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                map.close();
                delete(dir);
            }
        }
    }
}
