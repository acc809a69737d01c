package io.hashkernel.pm;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * The kill -9 drill: a child JVM writes to a {@link PersistentLongLongTable} and reports on its
 * standard output each write it is about to make and each acknowledgement; the parent kills it
 * ({@code SIGKILL}) at a random moment, opens the file itself (recovery) and checks that every
 * acknowledged write is there and that no value is torn, then starts the next child on the same
 * file. Cycle {@code i} uses persistence {@code i % 2} ({@link Persistence#IN_PLACE},
 * {@link Persistence#REDO_LOG}) and durability {@code (i / 2) % 3} ({@link Durability#EACH},
 * {@link Durability#BATCH}, {@link Durability#NONE}: a process crash loses nothing in any mode).
 *
 * <p>The child is this class's {@link #main}, started with this JVM's {@code java} and class path.
 */
public final class KillDrill {

    /**
     * What a drill found.
     *
     * @param cycles           children killed and recovered from
     * @param acknowledged     writes the children acknowledged
     * @param lost             acknowledged writes missing after recovery
     * @param torn             values never written for their key
     * @param recoveryFailures reopens that threw
     * @param recoveryMillis   the recovery time of each cycle, in milliseconds
     * @param failures         the first few failures, described
     */
    public record Report(int cycles, long acknowledged, long lost, long torn, long recoveryFailures,
                         List<Double> recoveryMillis, List<String> failures) {
        /** Whether nothing was lost or torn and every recovery succeeded. */
        public boolean passed() {
            return lost == 0 && torn == 0 && recoveryFailures == 0;
        }
    }

    private static final int KEYS = 1 << 16;
    private static final int CAPACITY = 1 << 17;
    private static final int BATCH = 64;
    private static final Persistence[] WAYS = {Persistence.IN_PLACE, Persistence.REDO_LOG};
    private static final Durability[] MODES = {Durability.EACH, Durability.BATCH, Durability.NONE};

    private KillDrill() {
    }

    /**
     * Runs {@code cycles} kills on a table file in {@code dir} (created there, removed at the
     * end), each child living a random 100 to {@code maxLifeMillis} ms after it is ready.
     *
     * @throws IllegalArgumentException if {@code cycles} is negative or {@code maxLifeMillis} under 100
     */
    public static Report run(Path dir, int cycles, long maxLifeMillis, long seed, IntConsumer progress)
            throws IOException, InterruptedException {
        if (cycles < 0 || maxLifeMillis < 100) {
            throw new IllegalArgumentException("cycles must be at least 0 and maxLifeMillis at least 100, were "
                    + cycles + " and " + maxLifeMillis);
        }
        Objects.requireNonNull(progress, "progress");
        Path file = Files.createTempFile(Files.createDirectories(dir), "kill-drill", ".hkt");
        Files.delete(file);
        SplittableRandom random = new SplittableRandom(seed);
        Map<Long, Long> model = new HashMap<>();
        long acknowledged = 0;
        long lost = 0;
        long torn = 0;
        long failed = 0;
        List<Double> millis = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        try {
            for (int cycle = 0; cycle < cycles; cycle++) {
                Persistence way = WAYS[cycle % 2];
                Durability mode = MODES[(cycle / 2) % 3];
                Child child = Child.start(file, way, mode, random.nextLong());
                child.awaitReady();
                Thread.sleep(100 + random.nextLong(maxLifeMillis - 99));
                child.kill();
                acknowledged += child.acknowledged;
                for (Map.Entry<Long, Long> e : child.acked.entrySet()) {
                    model.put(e.getKey(), e.getValue());
                }
                try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).persistence(way).durability(mode)
                        .createIfMissing(false).open()) {
                    millis.add(t.recovery().millis());
                    for (Map.Entry<Long, Long> e : model.entrySet()) {
                        long k = e.getKey();
                        long v = t.get(k);
                        if (v == e.getValue() || child.running(k, v)) {
                            continue;
                        }
                        if (v != 0 && (v & 0xFFFF_FFFFL) != k) {
                            torn++;
                            note(failures, "cycle " + cycle + " " + way + "/" + mode + ": key " + k + " holds " + v);
                        } else {
                            lost++;
                            note(failures, "cycle " + cycle + " " + way + "/" + mode + ": key " + k + " holds " + v
                                    + ", acknowledged " + e.getValue());
                        }
                    }
                    // What the table holds now is the next cycle's starting point.
                    for (long k : child.touched) {
                        model.put(k, t.get(k));
                    }
                } catch (IOException | RuntimeException e) {
                    failed++;
                    note(failures, "cycle " + cycle + " " + way + "/" + mode + ": reopening failed: " + e);
                    break;
                }
                progress.accept(cycle + 1);
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".log"));
        }
        return new Report(cycles, acknowledged, lost, torn, failed, List.copyOf(millis), List.copyOf(failures));
    }

    private static void note(List<String> failures, String what) {
        if (failures.size() < 10) {
            failures.add(what);
        }
    }

    /** A running child and what it reported. */
    private static final class Child {
        private final Process process;
        private final Path output;
        /** Last acknowledged value per key (0: removed). */
        final Map<Long, Long> acked = new HashMap<>();
        /** Keys written by this child. */
        final List<Long> touched = new ArrayList<>();
        /** Writes announced after the last acknowledgement: key, value pairs. */
        private final List<long[]> announced = new ArrayList<>();
        long acknowledged;

        private Child(Process process, Path output) {
            this.process = process;
            this.output = output;
        }

        /**
         * Starts a child whose standard output goes to a file, not a pipe: what it wrote before
         * the kill is all there afterwards (a pipe's unread bytes can be lost as the process ends).
         */
        static Child start(Path file, Persistence way, Durability mode, long seed) throws IOException {
            String java = ProcessHandle.current().info().command().orElse("java");
            Path output = file.resolveSibling(file.getFileName() + ".child");
            ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    "--enable-native-access=ALL-UNNAMED", KillDrill.class.getName(), file.toString(), way.name(),
                    mode.name(), Long.toString(seed));
            pb.redirectError(ProcessBuilder.Redirect.INHERIT).redirectOutput(output.toFile());
            return new Child(pb.start(), output);
        }

        void awaitReady() throws InterruptedException, IOException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && process.isAlive()) {
                if (Files.size(output) >= 6 && Files.readString(output, StandardCharsets.US_ASCII).startsWith("READY")) {
                    return;
                }
                Thread.sleep(20);
            }
            process.destroyForcibly();
            throw new IOException("the drill's child did not start: " + (process.isAlive() ? "no READY in 60 s"
                    : "exit " + process.exitValue() + ", output " + Files.readString(output, StandardCharsets.US_ASCII)));
        }

        /** Kills the child with SIGKILL and reads what it reported. */
        void kill() throws InterruptedException, IOException {
            process.destroyForcibly();
            process.waitFor();
            try (BufferedReader in = Files.newBufferedReader(output, StandardCharsets.US_ASCII)) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.equals("A")) {
                        for (long[] w : announced) {
                            acked.put(w[0], w[1]);
                            touched.add(w[0]);
                        }
                        acknowledged += announced.size();
                        announced.clear();
                    } else if (line.startsWith("W ")) {
                        int space = line.indexOf(' ', 2);
                        if (space < 0) {
                            break; // the last line, cut by the kill: its write never started
                        }
                        try {
                            announced.add(new long[]{Long.parseLong(line, 2, space, 10),
                                    Long.parseLong(line, space + 1, line.length(), 10)});
                        } catch (NumberFormatException cut) {
                            break;
                        }
                    }
                }
            } finally {
                Files.deleteIfExists(output);
            }
            for (long[] w : announced) {
                touched.add(w[0]);
            }
        }

        /** Whether {@code v} is what a write announced but not acknowledged left at {@code key}. */
        boolean running(long key, long v) {
            for (long[] w : announced) {
                if (w[0] == key && w[1] == v) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * The child: {@code file persistence durability seed}. Opens the table, prints {@code READY},
     * then writes until killed: before each call it prints {@code W key value} for each write
     * ({@code value} 0 for a removal), after the call returns {@code A}.
     */
    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(new BufferedOutputStream(System.out, 1 << 16), false, StandardCharsets.US_ASCII);
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(Path.of(args[0])).capacity(CAPACITY)
                .persistence(Persistence.valueOf(args[1])).durability(Durability.valueOf(args[2])).open()) {
            SplittableRandom random = new SplittableRandom(Long.parseLong(args[3]));
            out.println("READY");
            out.flush();
            long serial = System.nanoTime() & 0x7FFF_FFFFL;
            long[] keys = new long[BATCH];
            long[] values = new long[BATCH];
            for (;;) {
                int kind = random.nextInt(10);
                if (kind < 5) {
                    long k = 1 + random.nextInt(KEYS);
                    long v = ++serial << 32 | k;
                    out.println("W " + k + " " + v);
                    out.flush();
                    t.put(k, v);
                } else if (kind < 6) {
                    long k = 1 + random.nextInt(KEYS);
                    out.println("W " + k + " 0");
                    out.flush();
                    t.remove(k);
                } else {
                    for (int i = 0; i < BATCH; i++) {
                        keys[i] = 1 + random.nextInt(KEYS);
                        values[i] = ++serial << 32 | keys[i];
                        out.println("W " + keys[i] + " " + values[i]);
                    }
                    out.flush();
                    t.putAll(keys, values);
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
