package io.hashkernel.bench;

import io.hashkernel.numa.Memory;
import io.hashkernel.numa.Region;
import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.prefetch.Prefetchers;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * What the memory gives a read, a write and a put's locked instructions: random 64-byte lines a
 * second over a region on huge pages, 2 threads, batches of 64 prefetched one round ahead (the
 * table's pipeline). {@code javac -cp htbench.jar -d . WriteProbe.java}, then {@code java
 * --enable-native-access=ALL-UNNAMED -cp htbench.jar:. io.hashkernel.bench.WriteProbe MIB
 * ROUNDS SECONDS}. Each round runs the modes one after another for SECONDS each: {@code
 * read} (PREFETCHT0, one load a line,
 * as a find), {@code write} (PREFETCHW, one plain store: the line is read for ownership and later
 * written back), {@code xchg} (PREFETCHW, one atomic exchange: a put of a present key), {@code
 * claim} (PREFETCHW, a compare-and-exchange and an exchange: a put of a new key).
 */
public class WriteProbe {
    static final VarHandle WORD = ValueLayout.JAVA_LONG.varHandle();
    static volatile long sink;

    public static void main(String[] a) throws Exception {
        long mib = Long.parseLong(a[0]);
        int rounds = Integer.parseInt(a[1]);
        double secs = Double.parseDouble(a[2]);
        int threads = 2;
        PrefetchStrategy pf = Prefetchers.selected();
        try (Region r = Memory.allocate(mib << 20, Memory.HUGE_PAGE_SIZE)) {
            MemorySegment m = r.segment();
            for (long o = 0; o < m.byteSize(); o += 8) m.set(ValueLayout.JAVA_LONG, o, o);
            System.out.printf("region %d MiB, huge %d MiB, prefetch %s%n", mib, r.hugePageBytes() >> 20, pf.name());
            String[] modes = {"read", "write", "xchg", "claim"};
            for (int round = 0; round < rounds; round++) {
                StringBuilder sb = new StringBuilder("round " + round + ":");
                for (String mode : modes) {
                    long[] counts = new long[threads];
                    Thread[] th = new Thread[threads];
                    long deadline = System.nanoTime() + (long) (secs * 1e9);
                    long t0 = System.nanoTime();
                    for (int t = 0; t < threads; t++) {
                        int tt = t; int rr = round;
                        th[t] = new Thread(() -> counts[tt] = run(m, mode, pf, deadline, 0x9E3779B97F4A7C15L * (tt + 1 + 17 * rr)));
                        th[t].start();
                    }
                    for (Thread x : th) x.join();
                    double el = (System.nanoTime() - t0) / 1e9;
                    long tot = counts[0] + counts[1];
                    sb.append(String.format(" %s %.1f", mode, tot / el / 1e6));
                }
                System.out.println(sb + " M lines/s");
            }
        }
    }

    static long run(MemorySegment m, String mode, PrefetchStrategy pf, long deadline, long state) {
        final int batch = 64;
        long lines = m.byteSize() >>> 6;
        long[] cur = new long[batch], next = new long[batch];
        MemorySegment cv = MemorySegment.ofArray(cur), nv = MemorySegment.ofArray(next);
        boolean w = !mode.equals("read");
        int kind = mode.equals("read") ? 0 : mode.equals("write") ? 1 : mode.equals("xchg") ? 2 : 3;
        state = fill(cur, lines, state);
        long n = 0, sum = 0;
        do {
            for (int round = 0; round < 64; round++) {
                state = fill(next, lines, state);
                if (w) pf.prefetchForWrite(m, next, nv, batch); else pf.prefetch(m, next, nv, batch);
                if (kind == 0) {
                    for (int i = 0; i < batch; i++) sum += m.get(ValueLayout.JAVA_LONG, cur[i]);
                } else if (kind == 1) {
                    for (int i = 0; i < batch; i++) m.set(ValueLayout.JAVA_LONG, cur[i] + 8, state + i);
                } else if (kind == 2) {
                    for (int i = 0; i < batch; i++) sum += (long) WORD.getAndSet(m, cur[i] + 8, state + i);
                } else {
                    for (int i = 0; i < batch; i++) {
                        sum += (long) WORD.compareAndExchange(m, cur[i], 0L, 1L);
                        sum += (long) WORD.getAndSet(m, cur[i] + 8, state + i);
                    }
                }
                long[] s = cur; cur = next; next = s;
                MemorySegment sv = cv; cv = nv; nv = sv;
            }
            n += 64L * batch;
        } while (System.nanoTime() < deadline);
        sink = sum;
        return n;
    }

    static long fill(long[] offsets, long lines, long state) {
        return MemoryLimitProbe.fill(offsets, lines, state);
    }
}
