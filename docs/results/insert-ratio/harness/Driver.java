package io.hashkernel.bench;
import io.hashkernel.table.*;
import java.util.concurrent.*;
import java.util.function.DoubleUnaryOperator;

/** Loaded once per build: a table of that build and a timed slice of its bulk calls on 2 threads; returns M ops/s. */
public final class Driver implements DoubleUnaryOperator {
    static final long MISSING = Long.MIN_VALUE;
    ConcurrentLongLongTable map;
    final long slots, n;
    final String op;
    final ExecutorService pool = Executors.newFixedThreadPool(2);
    long seed = 1;
    long next; // insert: entries [0, next) are in
    int zslices; // insertz: slices on this table
    Zipf zipf;
    public double touchSeconds;
    static final int THREADS = Integer.getInteger("abh.threads", 2);
    final int batch = Integer.getInteger("abh.batch", 64), depth = Integer.getInteger("abh.depth", 1);
    final boolean touch = !Boolean.getBoolean("abh.notouch");

    static long key(long i) {
        long z = i * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 32)) * 0xD6E8FEB86659FD93L;
        return z ^ (z >>> 32);
    }

    public Driver(String kind, long mib, String op) throws Exception {
        slots = mib * 1024 * 1024 / 16;
        n = slots * 3 / 4;
        this.op = op;
        if (op.equals("findempty")) build();
        if (!op.startsWith("insert") && !op.equals("findempty")) {
            build();
            long[] k = new long[4096], v = new long[4096];
            for (long i = 0; i < n; ) {
                int m = (int) Math.min(4096, n - i);
                for (int j = 0; j < m; j++) { k[j] = key(i + j); v[j] = i + j + 1; }
                map.putAll(k, 0, v, 0, m);
                i += m;
            }
        }
    }

    void build() {
        long t = System.nanoTime();
        map = ConcurrentLongLongTable.builder().capacity(slots).missingValue(MISSING).preTouch(touch).batch(batch).depth(depth).build();
        touchSeconds = (System.nanoTime() - t) / 1e9;
        if (Boolean.getBoolean("abh.verbose")) System.out.printf("built %s: touch %.3f s, huge %d MiB, %s%n", op, touchSeconds, map.hugePageBytes() >> 20, map.memoryDescription());
    }

    public double applyAsDouble(double seconds) {
        if (op.startsWith("insert") && map == null) { build(); next = 0; zslices = 0; }
        if (op.endsWith("z") && zipf == null) zipf = new Zipf(n, 1.09);
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long base = next;
        Future<Long> a = pool.submit(() -> work(end, 0x1234567L + (seed += 2), 0, base));
        Future<Long> b = THREADS == 1 ? null : pool.submit(() -> work(end, 0x7654321L + (seed += 2), 1, base));
        long ops;
        try { ops = a.get() + (b == null ? 0 : b.get()); } catch (Exception e) { throw new RuntimeException(e); }
        double el = (System.nanoTime() - start) / 1e9;
        if (op.equals("insert")) {
            next = base + ops;
            if (next >= n) { map.close(); map = null; }
        }
        if (op.equals("insertz") && ++zslices >= 6) { map.close(); map = null; }
        return ops / el / 1e6;
    }

    long work(long end, long x, int t, long base) {
        long[] k = new long[1024], v = new long[1024];
        long ops = 0, sum = 0;
        if (op.equals("insert")) {
            // entries base + t, base + t + 2, ... in chunks of 1024
            long i = base + t;
            while (i < n && System.nanoTime() < end) {
                for (int r = 0; r < 16 && i < n; r++) {
                    int m = 0;
                    for (; m < 1024 && i < n; m++, i += THREADS) { k[m] = key(i); v[m] = i + 1; }
                    map.putAll(k, 0, v, 0, m);
                    ops += m;
                }
            }
            return ops;
        }
        IndexStream zs = op.endsWith("z") ? IndexStream.of(1.09, zipf, n, x | 1) : null;
        long[] drawn = new long[1024];
        while (System.nanoTime() < end) {
            for (int r = 0; r < 16; r++) {
                if (zs != null) {
                    zs.fill(drawn, 1024);
                    for (int j = 0; j < 1024; j++) { k[j] = key(drawn[j]); v[j] = drawn[j] + 1; }
                } else
                for (int j = 0; j < 1024; j++) {
                    x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
                    long i = Math.unsignedMultiplyHigh(x, n);
                    k[j] = key(i);
                    v[j] = i + 1;
                }
                if (op.startsWith("find")) {
                    map.getAll(k, 0, v, 0, 1024);
                    sum += v[0];
                } else {
                    map.putAll(k, 0, v, 0, 1024);
                }
                ops += 1024;
            }
        }
        if (sum == 42) System.out.print("");
        return ops;
    }
}
