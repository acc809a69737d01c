package io.hashkernel.kernel.kv;

import io.hashkernel.kernel.FrameSize;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelThread;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.ThreadSpec;
import io.hashkernel.pm.PersistentLongLongTable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The key-value service under load, with the store domain crashed at an interval: client
 * threads (kernel threads of client processes), half of them writing batches of their own keys
 * and half reading the writers' keys back, retrying what a crash caught; after each crash the kernel's invariants are checked; at
 * the end the service is stopped, every frame must be back in the pool, and the store's file,
 * reopened, must hold every acknowledged write.
 */
public final class KvDrill {
    private KvDrill() {
    }

    /**
     * How to run a drill.
     *
     * @param duration     how long the clients run
     * @param crashEvery   the interval between crashes, or null for none
     * @param clients      client threads: the first half (rounded up) write, the others read
     * @param batch        pairs per put and keys per get (at most {@link KvService#MAX_PAIRS})
     * @param keysPerClient each client's keys
     * @param dir          where the store's file goes (a new file per drill)
     * @param seed         of the crash points and the clients' choices
     */
    public record Options(Duration duration, Duration crashEvery, int clients, int batch, int keysPerClient, Path dir,
                          long seed) {
        public Options {
            Objects.requireNonNull(duration, "duration");
            Objects.requireNonNull(dir, "dir");
            if (clients < 1 || clients > 64 || batch < 1 || batch > KvService.MAX_PAIRS || keysPerClient < batch
                    || keysPerClient > 1 << 20) {
                throw new IllegalArgumentException("a drill has 1 to 64 clients, batches of 1 to " + KvService.MAX_PAIRS
                        + " and at least a batch (at most 2^20) of keys per client, was " + clients + ", " + batch
                        + ", " + keysPerClient);
            }
        }
    }

    /**
     * What a drill saw.
     *
     * @param seconds               how long the clients ran
     * @param requests              requests answered (acknowledged or refused)
     * @param acknowledgedWrites    pairs whose put was acknowledged
     * @param reads                 keys read back successfully
     * @param refused               requests that came back with an error (caught by a crash) and were retried
     * @param readMismatches        reads older than the key's acknowledged value when sent, or newer than any written (must be 0)
     * @param lostAcknowledgedWrites acknowledged pairs not in the reopened file (must be 0)
     * @param crashes               crashes injected
     * @param restarts              restarts the supervisor made
     * @param invariantViolations   violations found after the crashes and at the end (must be empty)
     * @param leakedFrames          4 KiB frames still held once the service was stopped (must be 0)
     * @param meanRestartMillis     how long a restart of the store domain took on average (recovery and reload)
     */
    public record Report(double seconds, long requests, long acknowledgedWrites, long reads, long refused,
                         long readMismatches, long lostAcknowledgedWrites, long crashes, long restarts,
                         List<String> invariantViolations, long leakedFrames, double meanRestartMillis) {
        /** This report and {@code other} as one run: counts and times added, restart times weighted by restarts. */
        public Report plus(Report other) {
            List<String> violations = new ArrayList<>(invariantViolations);
            violations.addAll(other.invariantViolations);
            long allRestarts = restarts + other.restarts;
            double restartMillis = allRestarts == 0 ? 0
                    : (meanRestartMillis * restarts + other.meanRestartMillis * other.restarts) / allRestarts;
            return new Report(seconds + other.seconds, requests + other.requests,
                    acknowledgedWrites + other.acknowledgedWrites, reads + other.reads, refused + other.refused,
                    readMismatches + other.readMismatches, lostAcknowledgedWrites + other.lostAcknowledgedWrites,
                    crashes + other.crashes, allRestarts, List.copyOf(violations), leakedFrames + other.leakedFrames,
                    restartMillis);
        }

        /** Acknowledged writes per second. */
        public double writesPerSecond() {
            return acknowledgedWrites / seconds;
        }

        /** Keys read per second. */
        public double readsPerSecond() {
            return reads / seconds;
        }

        /** Writes and reads per second. */
        public double opsPerSecond() {
            return (acknowledgedWrites + reads) / seconds;
        }

        /** Whether nothing acknowledged was lost, nothing leaked and every invariant held. */
        public boolean passed() {
            return lostAcknowledgedWrites == 0 && readMismatches == 0 && leakedFrames == 0 && invariantViolations.isEmpty();
        }
    }

    /** A client thread's counts. */
    private abstract static class Client implements ThreadSpec.Body {
        final KvClient kv;
        final int batch;
        final SplittableRandom random;
        long requests;
        long acknowledged;
        long reads;
        long refused;
        long mismatches;
        volatile boolean stop;
        volatile boolean stopped;

        Client(KvClient kv, int batch, long seed) {
            this.kv = kv;
            this.batch = batch;
            this.random = new SplittableRandom(seed);
        }

        @Override
        public final int doWork() {
            if (stop) {
                stopped = true;
                return 0;
            }
            requests++;
            return work();
        }

        abstract int work();
    }

    /**
     * Writes batches of its own keys, each value the next of its versions (so a key's values only
     * grow), and publishes what was acknowledged; a refused batch is sent again as it was.
     */
    private static final class Writer extends Client {
        final long base;
        final AtomicLongArray acked;
        final long[] pending;
        volatile long version;
        int cursor;
        long[] keys;
        long[] values;

        Writer(KvClient kv, long base, int batch, int keys, long seed) {
            super(kv, batch, seed);
            this.base = base;
            this.acked = new AtomicLongArray(keys);
            this.pending = new long[keys];
            for (int k = 0; k < keys; k++) {
                acked.set(k, KvService.MISSING);
            }
            Arrays.fill(pending, KvService.MISSING);
        }

        @Override
        int work() {
            if (keys == null) {
                keys = new long[batch];
                values = new long[batch];
                for (int i = 0; i < batch; i++) {
                    int k = (cursor + i) % pending.length;
                    keys[i] = base + k;
                    values[i] = ++version;
                    pending[k] = values[i];
                }
            }
            if (!kv.putAll(keys, values).isOk()) {
                refused++;
                return 0;                                    // no work done: the idle strategy backs off before the retry
            }
            for (int i = 0; i < batch; i++) {
                int k = (int) (keys[i] - base);
                acked.setRelease(k, values[i]);
                pending[k] = KvService.MISSING;
            }
            acknowledged += batch;
            cursor = (cursor + batch) % pending.length;
            keys = null;
            return 1;
        }
    }

    /**
     * Reads batches of a writer's keys: each value must be at least what the writer had
     * acknowledged before the read was sent, and no newer than its latest version.
     */
    private static final class Reader extends Client {
        final List<Writer> writers;

        Reader(KvClient kv, List<Writer> writers, int batch, long seed) {
            super(kv, batch, seed);
            this.writers = writers;
        }

        @Override
        int work() {
            Writer w = writers.get(random.nextInt(writers.size()));
            int from = random.nextInt(w.pending.length);
            long[] keys = new long[batch];
            long[] floor = new long[batch];
            for (int i = 0; i < batch; i++) {
                int k = (from + i) % w.pending.length;
                keys[i] = w.base + k;
                floor[i] = w.acked.getAcquire(k);
            }
            Result<long[]> r = kv.getAll(keys);
            if (!r.isOk()) {
                refused++;
                return 0;                                    // no work done: the idle strategy backs off before the retry
            }
            long newest = w.version;
            long[] got = r.orElseThrow();
            for (int i = 0; i < batch; i++) {
                boolean ok = got[i] == KvService.MISSING ? floor[i] == KvService.MISSING
                        : got[i] >= floor[i] && got[i] <= newest;
                if (!ok) {
                    mismatches++;
                }
            }
            reads += batch;
            return 1;
        }
    }

    /** Runs a drill. */
    public static Report run(Options o) {
        Path file = o.dir().resolve("kv-" + System.nanoTime() + ".hkt");
        long capacity = Long.highestOneBit((long) o.clients() * o.keysPerClient() * 2 - 1) * 2;
        KvService.Config config = KvService.Config.of(file).capacity(Math.max(1024, capacity));
        long tableBytes = config.capacity() * 20;
        long pool = (Math.ceilDiv(tableBytes, FrameSize.HUGE.bytes()) + 8) * FrameSize.HUGE.bytes();
        List<String> violations = new ArrayList<>();
        List<Client> clients = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(o.seed());
        long crashes;
        long restarts;
        double meanRestartMillis;
        long leaked;
        double seconds;
        try (Kernel kernel = Kernel.builder().memoryBytes(pool).build()) {
            KvService service = KvService.start(kernel, kernel.root(), config).orElseThrow();
            List<KernelThread> threads = new ArrayList<>();
            for (int i = 0; i < o.clients(); i++) {
                KvClient kv = service.connect("client-" + i).orElseThrow();
                Client c = i < writerCount(o) ? new Writer(kv, (long) i << 32, o.batch(), o.keysPerClient(), random.nextLong())
                        : new Reader(kv, writers(clients), o.batch(), random.nextLong());
                clients.add(c);
                threads.add(kernel.newThread(kv.process(), ThreadSpec.of("client-" + i, c)).orElseThrow());
            }
            long start = System.nanoTime();
            long end = start + o.duration().toNanos();
            long fired = 0;
            CrashSwitch.Point[] points = CrashSwitch.Point.values();
            while (System.nanoTime() < end) {
                long wait = o.crashEvery() == null ? end - System.nanoTime()
                        : Math.min(end - System.nanoTime(), o.crashEvery().toNanos());
                sleep(wait);
                if (o.crashEvery() != null && System.nanoTime() < end) {
                    service.crashes().arm(points[random.nextInt(points.length)]);
                    if (service.crashes().fired() > fired) {
                        fired = service.crashes().fired();
                        addAll(violations, kernel.checkInvariants());
                    }
                }
            }
            seconds = (System.nanoTime() - start) / 1e9;
            for (Client c : clients) {
                c.stop = true;
            }
            for (Client c : clients) {
                while (!c.stopped) {
                    sleep(1_000_000);
                }
            }
            crashes = service.crashes().fired();
            service.crashes().disarm();
            restarts = service.restarts();
            meanRestartMillis = service.meanRestartMillis();
            addAll(violations, kernel.checkInvariants());
            service.close();
            for (KernelThread t : threads) {
                join(t);
            }
            addAll(violations, kernel.checkInvariants());
            leaked = kernel.totalFrames() - kernel.freeFrames();
        }
        long lost = 0;
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).createIfMissing(false).open()) {
            for (Writer w : writers(clients)) {
                for (int k = 0; k < w.pending.length; k++) {
                    long v = t.get(w.base + k);
                    if (w.acked.get(k) != KvService.MISSING && v != w.acked.get(k) && v != w.pending[k]) {
                        lost++;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reopening the store's file " + file, e);
        } finally {
            delete(file);
        }
        long requests = 0;
        long acknowledged = 0;
        long reads = 0;
        long refused = 0;
        long mismatches = 0;
        for (Client c : clients) {
            requests += c.requests;
            acknowledged += c.acknowledged;
            reads += c.reads;
            refused += c.refused;
            mismatches += c.mismatches;
        }
        return new Report(seconds, requests, acknowledged, reads, refused, mismatches, lost, crashes, restarts,
                List.copyOf(violations), leaked, meanRestartMillis);
    }

    /** The first half of the clients (rounded up) write; the rest read what they wrote. */
    private static int writerCount(Options o) {
        return (o.clients() + 1) / 2;
    }

    private static List<Writer> writers(List<Client> clients) {
        List<Writer> writers = new ArrayList<>();
        for (Client c : clients) {
            if (c instanceof Writer w) {
                writers.add(w);
            }
        }
        return writers;
    }

    private static void addAll(List<String> violations, List<String> found) {
        if (violations.size() < 100) {
            violations.addAll(found);
        }
    }

    private static void sleep(long nanos) {
        try {
            Thread.sleep(Duration.ofNanos(Math.max(0, nanos)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("the drill was interrupted", e);
        }
    }

    private static void join(KernelThread t) {
        try {
            if (!t.join(Duration.ofSeconds(10))) {
                throw new IllegalStateException(t + " did not stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("the drill was interrupted", e);
        }
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".log"));
        } catch (IOException e) {
            // Left behind in the drill's directory.
        }
    }

}
