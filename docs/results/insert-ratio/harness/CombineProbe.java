package io.hashkernel.table;

/**
 * The cost a key of a skewed {@code putAll}'s combining pass alone ({@code LineTable.combine},
 * package-private, hence this package): {@code javac -cp htbench.jar -d . CombineProbe.java},
 * then {@code java -cp htbench.jar:. io.hashkernel.table.CombineProbe MODE}, printing ns a key
 * every half second for 3 s. MODE: {@code skew} (1024 keys drawn from 65,536 with the index
 * shifted right by 0 to 15 bits, so small ones repeat: about half of a call is superseded),
 * {@code uniform} (the whole pool, one repeat at the head so that the pass runs), {@code same}
 * (one key); with a second argument the keys are drawn but not combined (subtract it). Two
 * builds compare by putting one's classes first: {@code -cp classes:htbench.jar:.}
 */
public class CombineProbe {
    private static long next(long x) {
        x ^= x << 13;
        x ^= x >>> 7;
        return x ^ x << 17;
    }

    public static void main(String[] args) {
        String mode = args[0];
        boolean combine = args.length == 1;
        long[] pool = new long[1 << 16];
        long s = 99;
        for (int i = 0; i < pool.length; i++) {
            s = next(s);
            pool[i] = s | 1;
        }
        long[] keys = new long[1024];
        long sink = 0;
        for (int round = 0; round < 6; round++) {
            long start = System.nanoTime();
            long n = 0;
            while (System.nanoTime() - start < 500_000_000L) {
                for (int i = 0; i < keys.length; i++) {
                    s = next(s);
                    keys[i] = switch (mode) {
                        case "same" -> pool[7];
                        case "uniform" -> i == 1 ? keys[0] : pool[(int) (s & 0xffff)];
                        default -> pool[(int) ((s & 0xffff) >>> (s >>> 58 & 15))];
                    };
                }
                long[] superseded = combine ? LineTable.combine(keys, 0, keys.length) : null;
                sink += superseded == null ? keys[5] : superseded[3];
                n += keys.length;
            }
            System.out.printf("%s%s %.2f ns a key (%d)%n", mode, combine ? "" : " (drawing only)",
                    (System.nanoTime() - start) / (double) n, sink & 1);
        }
    }
}
