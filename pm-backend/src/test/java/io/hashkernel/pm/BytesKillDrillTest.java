package io.hashkernel.pm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The kill -9 drill of {@link PersistentBytesMap}: a child JVM writes and reports each write
 * before it makes it and each acknowledgement after; the test kills it ({@code SIGKILL}) at a
 * random moment (checkpoints run often, so kills land in them too), reopens the directory and
 * checks every key against the acknowledged writes, allowing only the write in flight. Values
 * name their key and write, so a torn or misplaced value is caught. Every durability mode: a
 * process crash loses nothing acknowledged in any.
 */
class BytesKillDrillTest {

    private static final int KEYS = 2000;

    @Test
    void aKilledWriterLosesNothingAcknowledged(@TempDir Path dir) throws Exception {
        Path d = dir.resolve("m");
        SplittableRandom random = new SplittableRandom(42);
        Map<Integer, Long> model = new HashMap<>(); // key -> serial of its value (absent: no mapping)
        long acknowledged = 0;
        int cycles = 6;
        for (int cycle = 0; cycle < cycles; cycle++) {
            Durability mode = Durability.values()[cycle % 3];
            Path output = dir.resolve("child-" + cycle + ".out");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    BytesKillDrillTest.class.getName(), d.toString(), mode.name(), Long.toString(random.nextLong()))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).redirectOutput(output.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(output, StandardCharsets.US_ASCII).startsWith("READY")) {
                assertTrue(child.isAlive(), "the child died before it was ready: " + Files.readString(output));
                assertTrue(System.nanoTime() < deadline, "the child was not ready in 60 s");
                Thread.sleep(10);
            }
            Thread.sleep(150 + random.nextInt(500));
            child.destroyForcibly();
            assertTrue(child.waitFor(60, TimeUnit.SECONDS));
            // What the child said: writes ("W key serial", serial 0 for a removal), then "A".
            List<long[]> inFlight = new ArrayList<>();
            try (BufferedReader in = Files.newBufferedReader(output, StandardCharsets.US_ASCII)) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("A")) {
                        for (long[] w : inFlight) {
                            if (w[1] == 0) {
                                model.remove((int) w[0]);
                            } else {
                                model.put((int) w[0], w[1]);
                            }
                        }
                        acknowledged += inFlight.size();
                        inFlight.clear();
                    } else if (line.startsWith("W ")) {
                        String[] f = line.split(" ");
                        if (f.length != 3 || f[2].isEmpty()) {
                            break; // the last line, cut by the kill: its write never started
                        }
                        inFlight.add(new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
                    } else if (line.startsWith("ERROR")) {
                        fail("the child failed: " + line);
                    }
                }
            }
            try (PersistentBytesMap m = PersistentBytesMap.builder(d).durability(mode).open()) {
                for (int k = 0; k < KEYS; k++) {
                    byte[] v = m.get(key(k));
                    long serial = v == null ? 0 : serialOf(k, v);
                    Long expected = model.get(k);
                    if (serial == (expected == null ? 0 : expected)) {
                        continue;
                    }
                    boolean running = false;
                    for (long[] w : inFlight) {
                        running |= w[0] == k && w[1] == serial;
                    }
                    if (!running) {
                        fail("cycle " + cycle + " (" + mode + "): key " + k + " holds write " + serial
                                + ", acknowledged " + expected + "; " + m.recovery());
                    }
                    if (serial == 0) {
                        model.remove(k);
                    } else {
                        model.put(k, serial);
                    }
                }
                assertEquals(model.size(), m.size());
            }
        }
        assertTrue(acknowledged > 200, "the children acknowledged " + acknowledged + " writes");
    }

    static byte[] key(int k) {
        return ("key-" + k).getBytes(StandardCharsets.US_ASCII);
    }

    /** A value naming its key and write: key, serial, then serial % 200 filler bytes. */
    static byte[] value(int k, long serial) {
        ByteBuffer b = ByteBuffer.allocate(12 + (int) (serial % 200)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(k).putLong(serial);
        while (b.hasRemaining()) {
            b.put((byte) serial);
        }
        return b.array();
    }

    /** The serial a value names, or -1 if it is not a whole value written for {@code k}. */
    static long serialOf(int k, byte[] v) {
        if (v.length < 12) {
            return -1;
        }
        ByteBuffer b = ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN);
        long serial = b.getLong(4);
        return b.getInt(0) == k && serial > 0 && java.util.Arrays.equals(v, value(k, serial)) ? serial : -1;
    }

    /** The child: {@code dir durability seed}; writes until killed (see the class comment). */
    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false, StandardCharsets.US_ASCII);
        try (PersistentBytesMap m = PersistentBytesMap.builder(Path.of(args[0])).durability(Durability.valueOf(args[1]))
                .checkpointBytes(1 << 16).open()) {
            SplittableRandom random = new SplittableRandom(Long.parseLong(args[2]));
            assertNotNull(m.recovery());
            out.println("READY");
            out.flush();
            long serial = System.nanoTime() & 0x7FFF_FFFFL;
            for (;;) {
                int kind = random.nextInt(10);
                if (kind < 6) {
                    int k = random.nextInt(KEYS);
                    long s = ++serial;
                    out.println("W " + k + " " + s);
                    out.flush();
                    m.put(key(k), value(k, s));
                } else if (kind < 7) {
                    int k = random.nextInt(KEYS);
                    out.println("W " + k + " 0");
                    out.flush();
                    m.remove(key(k));
                } else {
                    int n = 1 + random.nextInt(16);
                    byte[][] keys = new byte[n][];
                    byte[][] values = new byte[n][];
                    for (int i = 0; i < n; i++) {
                        int k = random.nextInt(KEYS);
                        long s = random.nextInt(5) == 0 ? 0 : ++serial;
                        keys[i] = key(k);
                        values[i] = s == 0 ? null : value(k, s);
                        out.println("W " + k + " " + s);
                    }
                    out.flush();
                    m.putAll(keys, values);
                }
                out.println("A");
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            out.println("ERROR " + e);
            out.flush();
            throw e;
        }
    }
}
