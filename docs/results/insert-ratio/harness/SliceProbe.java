package io.hashkernel.bench;

import io.hashkernel.table.ConcurrentLongLongTable;
import java.util.concurrent.CyclicBarrier;

/**
 * The zipf:1.09 finds of htbench in the cache, slice by slice: {@code javac -cp htbench.jar -d .
 * SliceProbe.java}, then {@code java --add-modules jdk.incubator.vector
 * --enable-native-access=ALL-UNNAMED -cp htbench.jar:. io.hashkernel.bench.SliceProbe ENTRIES
 * THREADS SLICES} (49152 2 20: the 1 MiB table). Each slice runs, on new threads as htbench's
 * do, 0.4 s of {@code batched} (getAll of 1024 drawn keys), {@code single} (get of each) and
 * {@code draw} (the drawing alone), and prints ns a key for each; a slice much slower than the
 * rest is the JIT recompiling the loop. Two builds compare by putting one's classes first.
 */
public class SliceProbe {
    static volatile boolean stop;
    public static void main(String[] a) throws Exception {
        int entries = Integer.parseInt(a[0]);
        int threads = Integer.parseInt(a[1]);
        int slices = Integer.parseInt(a[2]);
        ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(entries).missingValue(Keys.MISSING)
                .batch(64).depth(1).preTouch(true).build();
        for (long i = 0; i < entries; i++) t.put(Keys.key(i), Keys.value(i));
        Zipf zipf = new Zipf(entries, 1.09);
        String[] modes = {"batched", "single", "draw"};
        IndexStream[] streams = new IndexStream[threads];
        for (int k = 0; k < threads; k++) streams[k] = IndexStream.of(1.09, zipf, entries, 77 + k * 1000003L);
        double[][] sums = new double[3][slices];
        for (int s = 0; s < slices; s++) {
            for (int mi = 0; mi < 3; mi++) {
                String mode = modes[mi];
                long[] ops = new long[threads];
                Thread[] th = new Thread[threads];
                stop = false;
                for (int k = 0; k < threads; k++) {
                    int kk = k;
                    th[k] = new Thread(() -> ops[kk] = run(t, streams[kk], mode));
                    th[k].start();
                }
                long t0 = System.nanoTime();
                Thread.sleep(400);
                stop = true;
                for (Thread x : th) x.join();
                long el = System.nanoTime() - t0;
                long tot = 0; for (long o : ops) tot += o;
                sums[mi][s] = el * (double) threads / tot;
            }
            if (s > 0) System.out.printf("slice %d: batched %.2f single %.2f draw %.2f ns/key%n", s, sums[0][s], sums[1][s], sums[2][s]);
        }
        double[] m = new double[3];
        for (int mi = 0; mi < 3; mi++) { for (int s = 1; s < slices; s++) m[mi] += sums[mi][s]; m[mi] /= slices - 1; }
        System.out.printf("mean: batched %.2f single %.2f draw %.2f; batched-draw %.2f single-draw %.2f%n", m[0], m[1], m[2], m[0]-m[2], m[1]-m[2]);
    }

    static long run(ConcurrentLongLongTable t, IndexStream ix, String mode) {
        final int C = 1024;
        long[] drawn = new long[C], keys = new long[C], values = new long[C];
        long ops = 0, wrong = 0;
        do {
            ix.fill(drawn, C);
            switch (mode) {
                case "batched" -> {
                    for (int i = 0; i < C; i++) keys[i] = Keys.key(drawn[i]);
                    t.getAll(keys, 0, values, 0, C);
                    for (int i = 0; i < C; i++) wrong += values[i] != Keys.value(drawn[i]) ? 1 : 0;
                }
                case "single" -> {
                    for (int i = 0; i < C; i++) wrong += t.get(Keys.key(drawn[i])) != Keys.value(drawn[i]) ? 1 : 0;
                }
                default -> {
                    for (int i = 0; i < C; i++) wrong += Keys.key(drawn[i]) == Keys.value(drawn[i]) ? 1 : 0;
                }
            }
            ops += C;
        } while (!stop);
        if (wrong != 0 && !mode.equals("draw")) throw new AssertionError(mode + " wrong " + wrong);
        return ops;
    }
}
