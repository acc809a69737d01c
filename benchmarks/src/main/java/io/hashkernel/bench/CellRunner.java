package io.hashkernel.bench;

import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs one {@link CellSpec} in this JVM: builds the subject, loads it (for finds), measures with
 * the requested threads for the requested time, and reports throughput and memory per entry.
 */
final class CellRunner {
    private static final int CHUNK = 1024;

    private final CellSpec spec;
    private volatile boolean stop;

    CellRunner(CellSpec spec) {
        this.spec = spec;
    }

    /** Runs the cell; progress goes to stderr. */
    CellResult run() throws InterruptedException {
        Impl impl = Impl.parse(spec.impl());
        long heapBefore = usedHeapAfterGc();
        try (Subject subject = impl.create(spec.capacity(), spec.entries(), spec.batch(), spec.depth())) {
            Measured measured;
            long held;
            if (spec.op().equals("find")) {
                long start = System.nanoTime();
                stop = false;
                parallel((t, ignored) -> insert(subject, t));
                progress("%s: loaded %,d entries in %.1f s", impl.id, spec.entries(), (System.nanoTime() - start) / 1e9);
                held = spec.entries();
                Work find = subject.batched() ? (t, state) -> findBatched(subject, state) : (t, state) -> find(subject, state);
                timed(find, spec.warmupSeconds()); // JIT warm-up, discarded
                measured = timed(find, spec.seconds());
            } else {
                measured = timed((t, ignored) -> insert(subject, t), spec.seconds());
                held = measured.ops;
            }
            long bytes = subject.offHeapBytes() >= 0 ? subject.offHeapBytes() : usedHeapAfterGc() - heapBefore;
            return new CellResult(impl.id, spec.op(), spec.dist(), spec.threads(), spec.tableMiB(), held,
                    measured.ops / measured.seconds / 1e6, held == 0 ? 0 : bytes / (double) held,
                    measured.ops, measured.seconds, measured.wrong, subject.memory());
        }
    }

    private static void progress(String format, Object... args) {
        System.err.println(String.format(Locale.ROOT, format, args));
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 2; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    /** What one worker did: operations and wrong answers. */
    private record Count(long ops, long wrong) {
    }

    private record Measured(long ops, long wrong, double seconds) {
    }

    @FunctionalInterface
    private interface Work {
        Count run(int thread, long randomState);
    }

    private Count insert(Subject subject, int thread) {
        return subject.batched() ? insertBatched(subject, thread) : insertSlice(subject, thread);
    }

    /** Inserts this thread's share of the entries (indexes thread, thread + T, ...) until done or stopped. */
    private Count insertSlice(Subject subject, int thread) {
        long n = spec.entries();
        int step = spec.threads();
        long index = thread;
        long ops = 0;
        while (index < n && !stop) {
            long end = Math.min(n, index + (long) CHUNK * step);
            for (; index < end; index += step) {
                subject.put(Keys.key(index), Keys.value(index));
                ops++;
            }
        }
        return new Count(ops, 0);
    }

    /** As {@link #insertSlice}, a chunk of keys per {@link Subject#putAll} call. */
    private Count insertBatched(Subject subject, int thread) {
        long n = spec.entries();
        int step = spec.threads();
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
        return new Count(ops, 0);
    }

    /** As {@link #find}, a chunk of keys per {@link Subject#getAll} call. */
    private Count findBatched(Subject subject, long state) {
        long n = spec.entries();
        long[] keys = new long[CHUNK];
        long[] values = new long[CHUNK];
        long[] indexes = new long[CHUNK];
        long ops = 0;
        long wrong = 0;
        do {
            for (int i = 0; i < CHUNK; i++) {
                state = Keys.next(state);
                long index = Keys.below(state, n);
                indexes[i] = index;
                keys[i] = Keys.key(index);
            }
            subject.getAll(keys, values, CHUNK);
            for (int i = 0; i < CHUNK; i++) {
                wrong += values[i] != Keys.value(indexes[i]) ? 1 : 0;
            }
            ops += CHUNK;
        } while (!stop);
        return new Count(ops, wrong);
    }

    /** Uniform random lookups of present keys until stopped; counts answers that are not the stored value. */
    private Count find(Subject subject, long state) {
        long n = spec.entries();
        long ops = 0;
        long wrong = 0;
        do {
            for (int i = 0; i < CHUNK; i++) {
                state = Keys.next(state);
                long index = Keys.below(state, n);
                wrong += subject.get(Keys.key(index)) != Keys.value(index) ? 1 : 0;
            }
            ops += CHUNK;
        } while (!stop);
        return new Count(ops, wrong);
    }

    /** Runs the work on every thread for {@code seconds} (or until all finish) and times it. */
    private Measured timed(Work work, double seconds) throws InterruptedException {
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
        Count total = parallel(work);
        double elapsed = (System.nanoTime() - start) / 1e9;
        timer.interrupt();
        return new Measured(total.ops, total.wrong, elapsed);
    }

    /** Runs the work on {@code threads} platform threads released together; sums their counts. */
    private Count parallel(Work work) throws InterruptedException {
        int threads = spec.threads();
        CyclicBarrier start = new CyclicBarrier(threads);
        Count[] counts = new Count[threads];
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread[] workers = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            int id = t;
            workers[t] = Thread.ofPlatform().name("htbench-" + t).start(() -> {
                try {
                    start.await();
                    counts[id] = work.run(id, Keys.seed(spec.seed(), id));
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    stop = true;
                }
            });
        }
        for (Thread w : workers) {
            w.join();
        }
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
