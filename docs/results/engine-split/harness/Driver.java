import io.hashkernel.table.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.util.function.DoubleToLongFunction;

/** Loaded once per build: a table of that build and a timed slice of its bulk calls on 2 threads. */
public final class Driver implements DoubleToLongFunction {
    static final long MISSING = Long.MIN_VALUE;
    final LongLongMap map;
    final PartitionedLongLongTable part;
    final long n;
    final String op;
    final ExecutorService pool = Executors.newFixedThreadPool(2);
    long seed = 1;

    static long key(long i) { return (i + 1) * 0x9E3779B97F4A7C15L; }

    public Driver(String kind, long mib, String op) throws Exception {
        long slots = mib * 1024 * 1024 / 16;
        n = slots * 3 / 4;
        this.op = op;
        if (kind.equals("plain")) {
            map = ConcurrentLongLongTable.builder().capacity(slots).missingValue(MISSING).build();
            part = null;
        } else {
            part = PartitionedLongLongTable.builder().capacity(slots).maxCapacity(slots).partitions(2)
                    .ownerThreads(false).missingValue(MISSING).maxProducers(1024).build();
            map = part;
        }
        long[] k = new long[4096], v = new long[4096];
        for (long i = 0; i < n; ) {
            int m = (int) Math.min(4096, n - i);
            for (int j = 0; j < m; j++) { k[j] = key(i + j); v[j] = i + j + 1; }
            map.putAll(k, 0, v, 0, m);
            i += m;
        }
    }

    public long applyAsLong(double seconds) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        Future<Long> a = pool.submit(() -> work(end, 0x1234567L + (seed += 2)));
        Future<Long> b = pool.submit(() -> work(end, 0x7654321L + (seed += 2)));
        try { return a.get() + b.get(); } catch (Exception e) { throw new RuntimeException(e); }
    }

    long work(long end, long x) {
        long[] k = new long[1024], v = new long[1024];
        long ops = 0, sum = 0;
        while (System.nanoTime() < end) {
            for (int r = 0; r < 16; r++) {
                for (int j = 0; j < 1024; j++) {
                    x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
                    long i = Math.unsignedMultiplyHigh(x, n);
                    k[j] = key(i);
                    v[j] = i + 1;
                }
                if (op.equals("find")) {
                    map.getAll(k, 0, v, 0, 1024);
                    sum += v[0];
                } else if (part != null) {
                    part.putAllAsync(k, 0, v, 0, 1024);
                } else {
                    map.putAll(k, 0, v, 0, 1024);
                }
                ops += 1024;
            }
        }
        if (part != null && !op.equals("find")) part.sync();
        if (sum == 42) System.out.print("");
        return ops;
    }
}
