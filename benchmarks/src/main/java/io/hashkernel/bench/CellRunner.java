package io.hashkernel.bench;

import io.hashkernel.numa.Memory;
import io.hashkernel.numa.Region;
import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.table.ConcurrentLongLongTable;

import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Runs one {@link CellSpec} in this JVM: for the workloads that read, builds the subject and loads
 * it once, then measures each; for each insert workload, a fresh empty subject. Reports throughput
 * and memory per entry per workload, and, where the spec names the limit probe's shape, the memory
 * limit measured beside each read workload: its measurement is cut into {@value #SLICES} slices,
 * each after a slice of the probe (inserts have no limit beside them: the limit is of random
 * reads). On a shared machine whose memory bandwidth moves by half between minutes, a percentage
 * of a limit measured minutes earlier says more about the neighbours than the table.
 */
final class CellRunner {
    private static final int CHUNK = 1024;
    /** Slices of a read workload's measurement, each after a slice of the limit probe. */
    static final int SLICES = 6;
    /** The paired limit probe's time, as a share of the workload's measured time. */
    static final double PROBE_SHARE = 0.5;

    private final CellSpec spec;
    private final Impl impl;
    private final Map<Double, Zipf> zipfs = new HashMap<>();
    private volatile boolean stop;
    /** The paired limit probe's own region, for maps without one of their own; made when first needed. */
    private Region probeRegion;
    private boolean probeWarm;

    CellRunner(CellSpec spec) {
        this.spec = spec;
        this.impl = Impl.parse(spec.impl());
    }

    /** Runs every workload; progress goes to stderr, each result to {@code sink} as soon as it is known. */
    List<CellResult> run(Consumer<CellResult> sink) throws InterruptedException {
        try {
            return runAll(sink);
        } finally {
            if (probeRegion != null) {
                probeRegion.close();
                probeRegion = null;
            }
        }
    }

    private List<CellResult> runAll(Consumer<CellResult> sink) throws InterruptedException {
        List<CellResult> results = new ArrayList<>();
        List<Workload> reads = spec.workloads().stream().filter(Workload::readsLoadedMap).toList();
        if (!reads.isEmpty()) {
            List<Read> measured = new ArrayList<>();
            long bytes = measureReads(reads, measured).bytesWithout(); // the map is unreachable now
            for (Read m : measured) {
                emit(results, sink, m.workload, m.threads, spec.entries(), bytes, m.measured, m.memory, m.hugePageBytes,
                        m.limit, null);
            }
        }
        for (Workload w : spec.workloads()) {
            if (!w.readsLoadedMap()) {
                if (spec.warmupSeconds() > 0) {
                    insertRounds(w, spec.warmupSeconds(), false); // JIT warm-up, discarded
                }
                Rounds r = insertRounds(w, spec.seconds(), true);
                // Memory per entry only where the first round filled the map.
                emit(results, sink, w, r.threads, r.held, r.held == spec.entries() ? r.bytes : -1, r.measured, r.memory,
                        r.hugePageBytes, null, r.buildSeconds);
            }
        }
        return results;
    }

    /** One reading workload's measurement, reported once the memory its map held is known. */
    private record Read(Workload workload, int threads, Measured measured, String memory, long hugePageBytes,
                        Double limit) {
    }

    /**
     * The memory limit measured in slices beside one read workload: lines read over seconds,
     * summed; does nothing where the spec names no probe shape. It reads random lines of the
     * map's own memory where the map has one region (HashKernel's table: the same pages, the same
     * huge-page backing, and no second region competing for memory), else of a region as large
     * as the table, written again right before.
     */
    private final class PairedLimit {
        private final MemorySegment region;
        private final boolean ownMemory;
        private double lines;
        private double seconds;
        private final List<String> slices = new ArrayList<>();

        PairedLimit(Subject subject) throws InterruptedException {
            if (spec.limitShape() == null) {
                region = null;
                ownMemory = false;
                return;
            }
            MemorySegment own = subject.limitRegion();
            ownMemory = own != null;
            if (ownMemory) {
                region = own;
            } else {
                if (probeRegion == null) {
                    probeRegion = Memory.allocate(Math.max(1, spec.tableMiB()) << 20, Memory.HUGE_PAGE_SIZE);
                }
                // Written right before: on this VM a region left idle while the map was loaded
                // lost its host pages (the first slices after a 2 GiB load read 0.4 to 3 M
                // lines/s, faulting them back in).
                MemoryLimitProbe.prepare(probeRegion.segment());
                region = probeRegion.segment();
            }
            if (!probeWarm) {
                probeWarm = true;
                probe(Math.max(0.2, spec.warmupSeconds()));   // JIT warm-up of the probe
                lines = 0;
                seconds = 0;
                slices.clear();
            }
        }

        void probe(double secs) throws InterruptedException {
            if (region == null || !(secs > 0)) {
                return;
            }
            MemoryLimitProbe.Result r = MemoryLimitProbe.measure(region, spec.threads(), spec.limitBatch(), secs,
                    MemoryLimitProbe.Shape.valueOf(spec.limitShape()), Prefetchers.selected());
            lines += r.mops() * 1e6 * r.seconds();
            seconds += r.seconds();
            slices.add(String.format(Locale.ROOT, "%.1f", r.mops()));
        }

        boolean active() {
            return region != null;
        }

        /** Prints the slices to stderr, for the reader who wants to see how much the machine moved. */
        void report(Workload w) {
            if (!slices.isEmpty()) {
                progress("%s: %s: limit beside it %.1f M lines/s over %s (slices %s)", impl.id, w, mops(),
                        ownMemory ? "its own memory" : "a region of its size",
                        String.join(", ", slices));
            }
        }

        /** M lines/s, or null where nothing was probed. */
        Double mops() {
            return seconds > 0 ? lines / seconds / 1e6 : null;
        }
    }

    /**
     * Measures {@code work} for {@code seconds}: in one piece without a probe region, else in
     * {@link #SLICES} slices each after a slice of the limit probe, into {@code limit}.
     */
    private Measured measuredBeside(Work work, int threads, double seconds, PairedLimit limit)
            throws InterruptedException {
        if (!limit.active()) {
            return timed(work, threads, seconds);
        }
        long ops = 0;
        long wrong = 0;
        double elapsed = 0;
        for (int i = 0; i < SLICES; i++) {
            limit.probe(seconds * PROBE_SHARE / SLICES);
            Measured m = timed(work, threads, seconds / SLICES);
            ops += m.ops;
            wrong += m.wrong;
            elapsed += m.seconds;
        }
        return new Measured(ops, wrong, elapsed);
    }

    /**
     * Loads one subject and measures every reading workload on it into {@code measured}; returns
     * what the subject held, whose heap part is known only once the subject is unreachable, after
     * this method returns.
     */
    private Held measureReads(List<Workload> reads, List<Read> measured) throws InterruptedException {
        try (Subject subject = create()) {
            long start = System.nanoTime();
            stop = false;
            int loaders = impl.writerThreads(spec.threads());
            parallel(loaders, (t, ignored) -> insertDistinct(subject, t, loaders));
            progress("%s: loaded %,d entries in %.1f s%s", impl.id, spec.entries(),
                    (System.nanoTime() - start) / 1e9, loaders == spec.threads() ? "" : " (one writer)");
            Held held = Held.of(subject);
            long huge = subject.hugePageBytes();
            String memory = subject.memory();
            for (Workload w : reads) {
                int threads = w.writes() ? impl.writerThreads(spec.threads()) : spec.threads();
                Work work = readWork(subject, w);
                timed(work, threads, spec.warmupSeconds()); // JIT warm-up, discarded
                PairedLimit limit = new PairedLimit(subject);
                Measured m = measuredBeside(work, threads, spec.seconds(), limit);
                limit.report(w);
                measured.add(new Read(w, threads, m, memory, huge, limit.mops()));
            }
            return held;
        }
    }

    /**
     * The memory a subject holds: its off-heap bytes where it reports them, else the heap in use
     * (after a collection) while it is reachable, from which {@link #bytesWithout()} subtracts the
     * heap in use once it is not. The difference of two measurements taken seconds apart, both
     * after full collections, is the map's retained size; a difference measured before the map
     * was built would also count whatever else changed meanwhile.
     */
    private record Held(long offHeap, long heapWith) {
        static Held of(Subject subject) {
            long off = subject.offHeapBytes();
            return new Held(off, off >= 0 ? 0 : usedHeapAfterGc());
        }

        /** Call once the subject is unreachable; -1 where the heap measurement came out empty. */
        long bytesWithout() {
            if (offHeap >= 0) {
                return offHeap;
            }
            long bytes = heapWith - usedHeapAfterGc();
            return bytes > 0 ? bytes : -1;
        }
    }

    /** What a series of insert rounds measured, the first round's map, and the mean time to build a map. */
    private record Rounds(Measured measured, int threads, long held, long bytes, String memory, long hugePageBytes,
                          double buildSeconds) {
    }

    /**
     * Inserts into fresh empty maps (each built outside the clock) until {@code seconds} of
     * inserting have passed: a uniform insert puts the distinct entries and its round ends when all
     * are in, so that a table small enough to fill in less time is filled again; a skewed insert
     * draws entries (hot ones again and again) for the whole time in one round.
     */
    private Rounds insertRounds(Workload w, double seconds, boolean measureHeld) throws InterruptedException {
        int threads = impl.writerThreads(spec.threads());
        // Memory is measured on the first round only (collections between rounds would take
        // longer than a small table's rounds).
        Round first = insertRound(w, threads, seconds, measureHeld);
        long bytes = first.held == null ? -1 : first.held.bytesWithout(); // its map is unreachable now
        long ops = first.measured.ops;
        double elapsed = first.measured.seconds;
        double build = first.buildSeconds;
        int rounds = 1;
        while (elapsed < seconds) {
            Round next = insertRound(w, threads, seconds - elapsed, false);
            ops += next.measured.ops;
            elapsed += next.measured.seconds;
            build += next.buildSeconds;
            rounds++;
        }
        if (measureHeld) {
            progress("%s: %s: %d rounds; a map built (outside the clock) in %.3f s on average, %s", impl.id, w,
                    rounds, build / rounds, first.memory);
        }
        return new Rounds(new Measured(ops, 0, elapsed), threads, first.size, bytes, first.memory,
                first.hugePageBytes, build / rounds);
    }

    /** One insert round on a fresh subject; what it held only where {@code measureHeld}. */
    private record Round(Measured measured, long size, Held held, String memory, long hugePageBytes,
                         double buildSeconds) {
    }

    private Round insertRound(Workload w, int threads, double seconds, boolean measureHeld)
            throws InterruptedException {
        long start = System.nanoTime();
        try (Subject subject = create()) {
            double build = (System.nanoTime() - start) / 1e9;
            Measured m = timed(insertWork(subject, w, threads), threads, seconds);
            return new Round(m, subject.size(), measureHeld ? Held.of(subject) : null, subject.memory(),
                    subject.hugePageBytes(), build);
        }
    }

    private Subject create() {
        return impl.create(spec.capacity(), spec.entries(), spec.batch(), spec.depth(), spec.owners(), spec.threads(),
                spec.initialCapacity());
    }

    private void emit(List<CellResult> results, Consumer<CellResult> sink, Workload w, int threads, long held,
                      long bytes, Measured m, String memory, long hugePageBytes, Double limitMops,
                      Double buildSeconds) {
        CellResult r = new CellResult(impl.id, w.op(), w.dist(), threads, spec.threads(), impl.contract.label,
                spec.tableMiB(), held, m.ops / m.seconds / 1e6, held == 0 || bytes < 0 ? null : bytes / (double) held,
                m.ops, m.seconds, m.wrong, memory, hugePageBytes < 0 ? null : hugePageBytes, limitMops,
                impl.id.startsWith("hashkernel") ? io.hashkernel.table.BenchmarkAccess.lineCompare() : null,
                buildSeconds);
        results.add(r);
        sink.accept(r);
    }

    private static void progress(String format, Object... args) {
        System.err.println(String.format(Locale.ROOT, format, args));
    }

    /**
     * The heap in use right after a full collection, as the collector recorded it. Not
     * {@code totalMemory() - freeMemory()}: that also counts every allocation buffer another
     * thread took since the collection (a whole TLAB each), megabytes that made small maps'
     * figures come out negative.
     */
    private static long usedHeapAfterGc() {
        for (int i = 0; i < 2; i++) {
            System.gc();
        }
        long used = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage afterGc = pool.getType() == MemoryType.HEAP ? pool.getCollectionUsage() : null;
            used += afterGc == null ? 0 : afterGc.getUsed();
        }
        return used;
    }

    /** What one worker did: operations and wrong answers. */
    private record Count(long ops, long wrong) {
    }

    private record Measured(long ops, long wrong, double seconds) {
    }

    @FunctionalInterface
    private interface Work {
        Count run(int thread, long seed);
    }

    private Zipf zipf(double s) {
        return s == 0 ? null : zipfs.computeIfAbsent(s, e -> new Zipf(spec.entries(), e));
    }

    private IndexStream stream(Workload w, long seed) {
        return IndexStream.of(w.zipfExponent(), zipf(w.zipfExponent()), spec.entries(), seed);
    }

    private Work readWork(Subject subject, Workload w) {
        zipf(w.zipfExponent()); // built before the clock starts
        int finds = w.findPercent();
        if (finds == 100) {
            return subject.batched() ? (t, seed) -> findBatched(subject, stream(w, seed))
                    : (t, seed) -> find(subject, stream(w, seed));
        }
        return subject.batched() ? (t, seed) -> mixedBatched(subject, stream(w, seed), finds)
                : (t, seed) -> mixed(subject, stream(w, seed), finds);
    }

    private Work insertWork(Subject subject, Workload w, int threads) {
        if (w.zipfExponent() == 0) {
            return (t, seed) -> insertDistinct(subject, t, threads);
        }
        zipf(w.zipfExponent());
        return subject.batched() ? (t, seed) -> insertDrawnBatched(subject, stream(w, seed))
                : (t, seed) -> insertDrawn(subject, stream(w, seed));
    }

    private Count insertDistinct(Subject subject, int thread, int threads) {
        return subject.batched() ? insertBatched(subject, thread, threads) : insertSlice(subject, thread, threads);
    }

    /** Inserts this thread's share of the entries (indexes thread, thread + T, ...) until done or stopped. */
    private Count insertSlice(Subject subject, int thread, int step) {
        long n = spec.entries();
        long index = thread;
        long ops = 0;
        while (index < n && !stop) {
            long end = Math.min(n, index + (long) CHUNK * step);
            for (; index < end; index += step) {
                subject.put(Keys.key(index), Keys.value(index));
                ops++;
            }
        }
        subject.sync();
        return new Count(ops, 0);
    }

    /** As {@link #insertSlice}, a chunk of keys per {@link Subject#putAll} call. */
    private Count insertBatched(Subject subject, int thread, int step) {
        long n = spec.entries();
        long[] keys = new long[CHUNK];
        long[] values = new long[CHUNK];
        long index = thread;
        long ops = 0;
        while (index < n && !stop) {
            int k = 0;
            for (; k < CHUNK && index < n; k++, index += step) {
                keys[k] = Keys.key(index);
                values[k] = Keys.value(index);
            }
            subject.putAll(keys, values, k);
            ops += k;
        }
        subject.sync();
        return new Count(ops, 0);
    }

    /** Puts of drawn entries (a skewed insert: hot keys are written again and again) until stopped. */
    private Count insertDrawn(Subject subject, IndexStream indexes) {
        long[] drawn = new long[CHUNK];
        long ops = 0;
        do {
            indexes.fill(drawn, CHUNK);
            for (int i = 0; i < CHUNK; i++) {
                long index = drawn[i];
                subject.put(Keys.key(index), Keys.value(index));
            }
            ops += CHUNK;
        } while (!stop);
        subject.sync();
        return new Count(ops, 0);
    }

    /** As {@link #insertDrawn}, a chunk per {@link Subject#putAll} call. */
    private Count insertDrawnBatched(Subject subject, IndexStream indexes) {
        long[] keys = new long[CHUNK];
        long[] values = new long[CHUNK];
        long[] drawn = new long[CHUNK];
        long ops = 0;
        do {
            indexes.fill(drawn, CHUNK);
            for (int i = 0; i < CHUNK; i++) {
                long index = drawn[i];
                keys[i] = Keys.key(index);
                values[i] = Keys.value(index);
            }
            subject.putAll(keys, values, CHUNK);
            ops += CHUNK;
        } while (!stop);
        subject.sync();
        return new Count(ops, 0);
    }

    /** Lookups of present keys until stopped; counts answers that are not the stored value. */
    private Count find(Subject subject, IndexStream indexes) {
        long[] drawn = new long[CHUNK];
        long ops = 0;
        long wrong = 0;
        do {
            indexes.fill(drawn, CHUNK);
            for (int i = 0; i < CHUNK; i++) {
                long index = drawn[i];
                wrong += subject.get(Keys.key(index)) != Keys.value(index) ? 1 : 0;
            }
            ops += CHUNK;
        } while (!stop);
        return new Count(ops, wrong);
    }

    /** As {@link #find}, a chunk of keys per {@link Subject#getAll} call. */
    private Count findBatched(Subject subject, IndexStream indexes) {
        long[] keys = new long[CHUNK];
        long[] values = new long[CHUNK];
        long[] drawn = new long[CHUNK];
        long ops = 0;
        long wrong = 0;
        do {
            indexes.fill(drawn, CHUNK);
            for (int i = 0; i < CHUNK; i++) {
                keys[i] = Keys.key(drawn[i]);
            }
            subject.getAll(keys, values, CHUNK);
            for (int i = 0; i < CHUNK; i++) {
                wrong += values[i] != Keys.value(drawn[i]) ? 1 : 0;
            }
            ops += CHUNK;
        } while (!stop);
        return new Count(ops, wrong);
    }

    /**
     * {@code finds} % lookups, the rest puts of the drawn entry's own value (so every lookup can
     * still be checked), until stopped.
     */
    private Count mixed(Subject subject, IndexStream indexes, int finds) {
        long ops = 0;
        long wrong = 0;
        do {
            for (int i = 0; i < CHUNK; i++) {
                long index = indexes.next();
                if (Keys.below(indexes.word(), 100) < finds) {
                    wrong += subject.get(Keys.key(index)) != Keys.value(index) ? 1 : 0;
                } else {
                    subject.put(Keys.key(index), Keys.value(index));
                }
            }
            ops += CHUNK;
        } while (!stop);
        subject.sync();
        return new Count(ops, wrong);
    }

    /** As {@link #mixed}: each chunk's lookups in one {@code getAll}, its puts in one {@code putAll}. */
    private Count mixedBatched(Subject subject, IndexStream indexes, int finds) {
        long[] getKeys = new long[CHUNK];
        long[] values = new long[CHUNK];
        long[] drawn = new long[CHUNK];
        long[] putKeys = new long[CHUNK];
        long[] putValues = new long[CHUNK];
        long ops = 0;
        long wrong = 0;
        do {
            int g = 0;
            int p = 0;
            for (int i = 0; i < CHUNK; i++) {
                long index = indexes.next();
                if (Keys.below(indexes.word(), 100) < finds) {
                    drawn[g] = index;
                    getKeys[g++] = Keys.key(index);
                } else {
                    putKeys[p] = Keys.key(index);
                    putValues[p++] = Keys.value(index);
                }
            }
            subject.getAll(getKeys, values, g);
            subject.putAll(putKeys, putValues, p);
            for (int i = 0; i < g; i++) {
                wrong += values[i] != Keys.value(drawn[i]) ? 1 : 0;
            }
            ops += CHUNK;
        } while (!stop);
        subject.sync();
        return new Count(ops, wrong);
    }

    /** Runs the work on {@code threads} threads for {@code seconds} (or until all finish) and times it. */
    private Measured timed(Work work, int threads, double seconds) throws InterruptedException {
        stop = false;
        Thread timer = Thread.ofPlatform().daemon().start(() -> {
            try {
                Thread.sleep((long) (seconds * 1000));
            } catch (InterruptedException e) {
                return;
            }
            stop = true;
        });
        long start = System.nanoTime();
        Count total = parallel(threads, work);
        double elapsed = (System.nanoTime() - start) / 1e9;
        timer.interrupt();
        return new Measured(total.ops, total.wrong, elapsed);
    }

    /** Runs the work on {@code threads} platform threads released together; sums their counts. */
    private Count parallel(int threads, Work work) throws InterruptedException {
        CyclicBarrier start = new CyclicBarrier(threads);
        Count[] counts = new Count[threads];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] workers = new Thread[threads];
        // The JVM may hold a finished thread's object (and so its task) a while after join()
        // returns; the task reaches the work through this box, emptied after the join, so that a
        // map measured right after is not kept alive by a thread that has already ended.
        AtomicReference<Work> box = new AtomicReference<>(work);
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers[t] = Thread.ofPlatform().name("htbench-" + t).start(() -> {
                try {
                    start.await();
                    counts[id] = box.get().run(id, Keys.seed(spec.seed(), id));
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    stop = true;
                }
            });
        }
        for (Thread w : workers) {
            w.join();
        }
        box.set(null);
        if (failure.get() != null) {
            Throwable e = failure.get();
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e.toString(), e);
        }
        long ops = 0;
        long wrong = 0;
        for (Count c : counts) {
            ops += c.ops;
            wrong += c.wrong;
        }
        return new Count(ops, wrong);
    }
}
