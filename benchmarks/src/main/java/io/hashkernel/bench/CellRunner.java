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
import java.util.Arrays;
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
        List<Workload> inserts = spec.workloads().stream().filter(w -> !w.readsLoadedMap()).toList();
        Map<Workload, InsertLane> measuredBeside = new HashMap<>();
        if (!reads.isEmpty()) {
            List<ReadLane> measured = new ArrayList<>();
            long bytes = measureReads(reads, inserts, measured, measuredBeside).bytesWithout(); // the map is unreachable now
            for (ReadLane m : measured) {
                emit(results, sink, m.workload, m.threads, spec.entries(), bytes, m.measured(), m.memory,
                        m.hugePageBytes, m.limit.mops(), null, m.alternatedWith);
            }
        }
        for (Workload w : inserts) {
            InsertLane lane = measuredBeside.get(w);
            if (lane == null) {
                lane = measureInsert(w, null, null);
            }
            // Memory per entry only where the first round filled the map.
            emit(results, sink, w, lane.threads, lane.firstSize,
                    lane.firstSize == spec.entries() ? lane.firstBytes : -1, lane.measured(), lane.firstMemory,
                    lane.firstHugePageBytes, null, lane.build / lane.rounds, lane.beside);
        }
        return results;
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
     * Loads one subject and measures every reading workload on it into {@code measured}, each
     * in {@link #SLICES} slices, each slice after a slice of the limit probe. Where the spec
     * interleaves, the insert workload of a read's distribution (unless measured beside an
     * earlier read) is measured beside it, into {@code beside}: a slice of the read, then a
     * slice of the insert on a map of its own, so that the ratio of the two is free of the
     * machine's drift between minutes. Returns what the subject held, whose heap part is known
     * only once the subject is unreachable, after this method returns.
     */
    private Held measureReads(List<Workload> reads, List<Workload> inserts, List<ReadLane> measured,
                              Map<Workload, InsertLane> beside) throws InterruptedException {
        try (Subject subject = create()) {
            long start = System.nanoTime();
            stop = false;
            int loaders = impl.writerThreads(spec.threads());
            long[] next = new long[loaders];
            Arrays.setAll(next, t -> t);
            parallel(loaders, (t, ignored) -> insertDistinct(subject, t, loaders, next));
            progress("%s: loaded %,d entries in %.1f s%s", impl.id, spec.entries(),
                    (System.nanoTime() - start) / 1e9, loaders == spec.threads() ? "" : " (one writer)");
            Held held = Held.of(subject);
            for (Workload w : reads) {
                Workload with = null;
                if (spec.interleave()) {
                    for (Workload i : inserts) {
                        if (with == null && i.alternatesWith(w) && !beside.containsKey(i)) {
                            with = i;
                        }
                    }
                }
                ReadLane read = new ReadLane(subject, w, with);
                if (with != null) {
                    beside.put(with, measureInsert(with, read, w));
                } else {
                    read.warmUp();
                    for (int s = 0; s < SLICES; s++) {
                        read.slice(spec.seconds() / SLICES);
                    }
                }
                read.limit.report(w);
                read.release();
                measured.add(read);
            }
            return held;
        }
    }

    /**
     * Measures insert workload {@code w} in {@link #SLICES} slices after a warm-up on a map
     * thrown away; where {@code with} is not null, each slice comes after a slice of that read
     * lane (warmed up first and measured alongside), whose workload is {@code beside}.
     */
    private InsertLane measureInsert(Workload w, ReadLane with, Workload beside) throws InterruptedException {
        if (with != null) {
            with.warmUp();
        }
        if (spec.warmupSeconds() > 0) {
            InsertLane warm = new InsertLane(w, null, false); // JIT warm-up, discarded
            try {
                warm.slice(spec.warmupSeconds());
            } finally {
                warm.finish();
            }
        }
        InsertLane lane = new InsertLane(w, beside, true);
        try {
            for (int s = 0; s < SLICES; s++) {
                if (with != null) {
                    with.slice(spec.seconds() / SLICES);
                }
                lane.slice(spec.seconds() / SLICES);
            }
        } finally {
            lane.finish();
        }
        progress("%s: %s: %d rounds; a map built (outside the clock) in %.3f s on average, %s%s", impl.id, w,
                lane.rounds, lane.build / lane.rounds, lane.firstMemory,
                beside == null ? "" : "; in slices alternating with " + beside);
        return lane;
    }

    /**
     * One reading workload on the loaded subject, measured slice by slice, each slice after a
     * slice of the limit probe ({@link PairedLimit}).
     */
    private final class ReadLane {
        final Workload workload;
        final int threads;
        final String memory;
        final long hugePageBytes;
        /** The insert workload measured in slices alternating with this one, or null. */
        final Workload alternatedWith;
        /** The loaded subject, and the work on it, until {@link #release}. */
        private Subject subject;
        private Work work;
        PairedLimit limit;
        private long ops;
        private long wrong;
        private double seconds;

        ReadLane(Subject subject, Workload w, Workload alternatedWith) {
            this.subject = subject;
            this.workload = w;
            this.threads = w.writes() ? impl.writerThreads(spec.threads()) : spec.threads();
            this.memory = subject.memory();
            this.hugePageBytes = subject.hugePageBytes();
            this.alternatedWith = alternatedWith;
            this.work = readWork(subject, w);
        }

        /** The JIT's warm-up, discarded; then the limit probe's own (where it is the first). */
        void warmUp() throws InterruptedException {
            timed(work, threads, spec.warmupSeconds());
            limit = new PairedLimit(subject);
        }

        void slice(double secs) throws InterruptedException {
            limit.probe(secs * PROBE_SHARE);
            Measured m = timed(work, threads, secs);
            ops += m.ops;
            wrong += m.wrong;
            seconds += m.seconds;
        }

        Measured measured() {
            return new Measured(ops, wrong, seconds);
        }

        /** Drops the subject, which the heap measurement needs unreachable once it is closed. */
        void release() {
            subject = null;
            work = null;
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

    /**
     * One insert workload, measured slice by slice into fresh empty maps, each built outside the
     * clock: a uniform insert puts the distinct entries (each thread its share, where it left
     * off in the previous slice) and its round ends when all are in, so that a table small
     * enough to fill in less time is filled again; a skewed insert draws entries (hot ones again
     * and again) in one round for the whole measurement, each thread's draw continued from slice
     * to slice. Memory is measured on the first round only (collections between rounds would
     * take longer than a small table's rounds), and only where {@code measureHeld}.
     */
    private final class InsertLane {
        final Workload workload;
        /** The read workload measured in slices alternating with this one, or null. */
        final Workload beside;
        final int threads;
        private final boolean measureHeld;
        private final boolean uniform;
        /** Uniform: each thread's next index in the current round. */
        private final long[] next;
        /** Skewed: each thread's keys, drawn on from slice to slice. */
        private final IndexStream[] streams;
        private Subject current;
        private Work work;
        long firstSize;
        long firstBytes = -1;
        String firstMemory;
        long firstHugePageBytes = -1;
        int rounds;
        double build;
        private long ops;
        private double seconds;

        InsertLane(Workload w, Workload beside, boolean measureHeld) {
            this.workload = w;
            this.beside = beside;
            this.measureHeld = measureHeld;
            this.threads = impl.writerThreads(spec.threads());
            this.uniform = w.zipfExponent() == 0;
            this.next = new long[threads];
            this.streams = new IndexStream[threads];
            zipf(w.zipfExponent()); // built before the clock starts
        }

        /** Inserts for {@code secs} of measured time, into as many fresh maps as a uniform insert fills. */
        void slice(double secs) throws InterruptedException {
            double left = secs;
            do {
                if (current == null) {
                    open();
                }
                Measured m = timed(work, threads, left);
                ops += m.ops;
                seconds += m.seconds;
                left -= m.seconds;
                if (uniform && roundDone()) {
                    endRound();
                }
            } while (left > 1e-4);
        }

        /** Ends the round in progress, if any (closing its map). */
        void finish() {
            if (current != null) {
                endRound();
            }
        }

        Measured measured() {
            return new Measured(ops, 0, seconds);
        }

        private void open() {
            long start = System.nanoTime();
            Subject s = create();
            build += (System.nanoTime() - start) / 1e9;
            rounds++;
            current = s;
            Arrays.setAll(next, t -> t);
            if (uniform) {
                work = (t, seed) -> insertDistinct(s, t, threads, next);
            } else {
                work = s.batched() ? (t, seed) -> insertDrawnBatched(s, stream(t, seed))
                        : (t, seed) -> insertDrawn(s, stream(t, seed));
            }
        }

        private IndexStream stream(int thread, long seed) {
            if (streams[thread] == null) {
                streams[thread] = CellRunner.this.stream(workload, seed);
            }
            return streams[thread];
        }

        private boolean roundDone() {
            for (long n : next) {
                if (n < spec.entries()) {
                    return false;
                }
            }
            return true;
        }

        private void endRound() {
            Subject s = current;
            current = null;
            work = null;
            if (rounds == 1) {
                firstSize = s.size();
                firstMemory = s.memory();
                firstHugePageBytes = s.hugePageBytes();
                Held held = measureHeld ? Held.of(s) : null;
                s.close();
                s = null; // unreachable from here, for the heap measurement
                firstBytes = held == null ? -1 : held.bytesWithout();
            } else {
                s.close();
            }
        }
    }

    private Subject create() {
        return impl.create(spec.capacity(), spec.entries(), spec.batch(), spec.depth(), spec.owners(), spec.threads(),
                spec.initialCapacity());
    }

    private void emit(List<CellResult> results, Consumer<CellResult> sink, Workload w, int threads, long held,
                      long bytes, Measured m, String memory, long hugePageBytes, Double limitMops,
                      Double buildSeconds, Workload alternatedWith) {
        CellResult r = new CellResult(impl.id, w.op(), w.dist(), threads, spec.threads(), impl.contract.label,
                spec.tableMiB(), held, m.ops / m.seconds / 1e6, held == 0 || bytes < 0 ? null : bytes / (double) held,
                m.ops, m.seconds, m.wrong, memory, hugePageBytes < 0 ? null : hugePageBytes, limitMops,
                impl.id.startsWith("hashkernel") ? io.hashkernel.table.BenchmarkAccess.lineCompare() : null,
                buildSeconds, alternatedWith == null ? null : alternatedWith.toString());
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

    /** This thread's share of the distinct entries, from {@code next[thread]} on (where it is left). */
    private Count insertDistinct(Subject subject, int thread, int threads, long[] next) {
        return subject.batched() ? insertBatched(subject, thread, threads, next)
                : insertSlice(subject, thread, threads, next);
    }

    /**
     * Inserts this thread's share of the entries (indexes thread, thread + T, ...) from {@code
     * next[thread]} until done or stopped; leaves the next index there.
     */
    private Count insertSlice(Subject subject, int thread, int step, long[] next) {
        long n = spec.entries();
        long index = next[thread];
        long ops = 0;
        while (index < n && !stop) {
            long end = Math.min(n, index + (long) CHUNK * step);
            for (; index < end; index += step) {
                subject.put(Keys.key(index), Keys.value(index));
                ops++;
            }
        }
        next[thread] = index;
        subject.sync();
        return new Count(ops, 0);
    }

    /** As {@link #insertSlice}, a chunk of keys per {@link Subject#putAll} call. */
    private Count insertBatched(Subject subject, int thread, int step, long[] next) {
        long n = spec.entries();
        long[] keys = new long[CHUNK];
        long[] values = new long[CHUNK];
        long index = next[thread];
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
        next[thread] = index;
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
