package io.hashkernel.bench;

import java.util.Arrays;

/**
 * An exact Zipf sampler over ranks {@code 0 .. n-1}: rank {@code r} is drawn with probability
 * {@code (r+1)^-s / H(n, s)}, for any exponent {@code s > 0}, at a few cycles per draw with no
 * {@code Math.pow} on the common path.
 *
 * <p>How: the ranks below {@link #DEFAULT_HEAD} are entries of their own in a Walker alias table;
 * the rest are grouped into buckets {@code [2^j, 2^(j+1))} (1-based ranks), one alias entry each,
 * weighted by the bucket's exact mass. A draw that lands in a bucket picks a rank uniformly in it
 * and accepts it with probability {@code (a/k)^s} ({@code a} the bucket's first rank, {@code k}
 * the drawn one), which is exactly the shape of the distribution inside the bucket. The accept
 * test is squeezed between precomputed bounds over 1024 sub-intervals of the bucket, so
 * {@code Math.pow} runs only for the rare draw between the bounds (about 0.1 % of bucket draws).
 * Bucket masses are summed term by term up to {@code 2^16} ranks wide and by Euler–Maclaurin
 * (error far below a double's precision) beyond.
 *
 * <p>Draws take random words from the caller (a xorshift state in the benchmark) and are thread
 * confined only through that state: a {@code Zipf} itself is immutable and shared.
 */
final class Zipf {
    /** Ranks (1-based) below this have their own alias entry; a power of two. */
    static final int DEFAULT_HEAD = 2048;
    private static final int SQUEEZE_BITS = 10;
    private static final int EXACT_SUM_LIMIT = 1 << 16;
    private static final double TWO_POW_MINUS_52 = 0x1.0p-52;

    private final long n;
    private final double s;
    private final int head;
    /** Alias table: entry {@code i} keeps itself when the coin is below {@code keep[i]}, else takes {@code alias[i]}. */
    private final double[] keep;
    private final int[] alias;
    private final int entryBits;
    /** For bucket entries: the bucket's first 1-based rank (0 for a single rank), its width and its log2. */
    private final long[] bucketStart;
    private final long[] bucketWidth;
    private final int[] bucketLog;
    /** Accept-test bounds per sub-interval: accept below {@code lower}, reject at or above {@code upper}. */
    private final double[] lower;
    private final double[] upper;
    private final double total;

    /** A sampler over {@code n} ranks with exponent {@code s}. */
    Zipf(long n, double s) {
        this(n, s, DEFAULT_HEAD);
    }

    /** As {@link #Zipf(long, double)} with {@code head} ranks of their own (tests use a small head to exercise buckets). */
    Zipf(long n, double s, int head) {
        if (n < 1) {
            throw new IllegalArgumentException("a Zipf distribution needs at least one rank, was " + n);
        }
        if (!(s > 0) || Double.isInfinite(s)) {
            throw new IllegalArgumentException("the Zipf exponent must be positive and finite, was " + s);
        }
        if (head < 2 || Integer.bitCount(head) != 1) {
            throw new IllegalArgumentException("head must be a power of two of at least 2, was " + head);
        }
        this.n = n;
        this.s = s;
        this.head = head;
        int singles = (int) Math.min(n, head - 1);               // 1-based ranks 1 .. head-1
        int buckets = 0;
        for (long a = head; a <= n; a <<= 1) {
            buckets++;
        }
        // The alias table has a power-of-two size (empty entries padded) so that its index is the
        // top bits of a random word and its coin the 52 low bits: independent, hence exact.
        int entries = Integer.highestOneBit(Math.max(1, singles + buckets) * 2 - 1);
        entryBits = Integer.numberOfTrailingZeros(entries);
        double[] mass = new double[entries];
        for (int i = 0; i < singles; i++) {
            mass[i] = Math.pow(i + 1, -s);
        }
        bucketStart = new long[entries];
        bucketWidth = new long[entries];
        bucketLog = new int[entries];
        int e = singles;
        for (long a = head; a <= n; a <<= 1, e++) {
            long b = Math.min(n + 1, 2 * a);                      // exclusive
            bucketStart[e] = a;
            bucketWidth[e] = b - a;
            bucketLog[e] = Long.numberOfTrailingZeros(a);
            mass[e] = sum(a, b, s);
        }
        keep = new double[entries];
        alias = new int[entries];
        buildAlias(mass, keep, alias);
        total = computeTotal();
        int parts = 1 << SQUEEZE_BITS;
        lower = new double[parts];
        upper = new double[parts];
        for (int i = 0; i < parts; i++) {
            // (a/k)^s for k/a in [1 + i/parts, 1 + (i+1)/parts): largest at the left end.
            upper[i] = Math.nextUp(Math.pow(1 + i / (double) parts, -s));
            lower[i] = Math.nextDown(Math.pow(1 + (i + 1) / (double) parts, -s));
        }
    }

    /** Number of ranks. */
    long n() {
        return n;
    }

    /** The exponent. */
    double s() {
        return s;
    }

    /** The exact probability of (0-based) rank {@code r}, for tests and reports. */
    double probability(long r) {
        return Math.pow(r + 1, -s) / total();
    }

    /** {@code H(n, s)}: the sum of {@code k^-s} over the 1-based ranks. */
    double total() {
        return total;
    }

    private double computeTotal() {
        double t = 0;
        for (int i = 0; i < Math.min(n, head - 1); i++) {
            t += Math.pow(i + 1, -s);
        }
        for (long a = head; a <= n; a <<= 1) {
            t += sum(a, Math.min(n + 1, 2 * a), s);
        }
        return t;
    }

    /**
     * A 0-based rank. {@code state} is a xorshift64 state array of length 1 (updated in place),
     * so that a draw may take as many random words as its accept test needs.
     */
    long next(long[] state) {
        long u = state[0] = Keys.next(state[0]);
        long mixed = u * 0x2545F4914F6CDD1DL;
        int entry = entryBits == 0 ? 0 : (int) (mixed >>> (64 - entryBits));
        double coin = (mixed & ((1L << 52) - 1)) * TWO_POW_MINUS_52;
        if (coin >= keep[entry]) {
            entry = alias[entry];
        }
        long a = bucketStart[entry];
        if (a == 0) {
            return entry;                                         // a single rank: 1-based entry + 1
        }
        // Inside the bucket: rejection from the uniform, retried within the same bucket (a retry
        // from the alias table would weight buckets by their acceptance rates).
        long width = bucketWidth[entry];
        int log = bucketLog[entry];
        while (true) {
            long v = state[0] = Keys.next(state[0]);
            long off = Math.unsignedMultiplyHigh(v * 0x2545F4914F6CDD1DL, width);
            int part = (int) ((off << SQUEEZE_BITS) >>> log);     // floor((k - a) / a * 1024)
            long x = state[0] = Keys.next(state[0]);
            double accept = ((x * 0x2545F4914F6CDD1DL) >>> 12) * TWO_POW_MINUS_52;
            if (accept < lower[part] || accept < upper[part] && accept < Math.pow(a / (double) (a + off), s)) {
                return a + off - 1;
            }
        }
    }

    /** The exact sum of {@code k^-s} for {@code a <= k < b}. */
    static double sum(long a, long b, double s) {
        if (b - a <= EXACT_SUM_LIMIT) {
            double t = 0;
            for (long k = b - 1; k >= a; k--) {                   // smallest terms first
                t += Math.pow(k, -s);
            }
            return t;
        }
        // Euler–Maclaurin: sum_{a}^{b-1} f = integral_a^b f + (f(a) - f(b))/2 + (f'(b) - f'(a))/12
        //                                   - (f'''(b) - f'''(a))/720 + ...; the next term is ~a^(-s-5).
        double integral = s == 1 ? Math.log((double) b / a)
                : Math.pow(a, 1 - s) * Math.expm1((1 - s) * Math.log((double) b / a)) / (1 - s);
        double fa = Math.pow(a, -s);
        double fb = Math.pow(b, -s);
        double d1a = -s * fa / a;
        double d1b = -s * fb / b;
        double d3a = -s * (s + 1) * (s + 2) * fa / ((double) a * a * a);
        double d3b = -s * (s + 1) * (s + 2) * fb / ((double) b * b * b);
        return integral + (fa - fb) / 2 + (d1b - d1a) / 12 - (d3b - d3a) / 720;
    }

    /** Vose's alias method: {@code keep[i]} is the probability that entry i keeps itself. */
    private static void buildAlias(double[] mass, double[] keep, int[] alias) {
        int m = mass.length;
        double total = 0;
        for (double x : mass) {
            total += x;
        }
        double[] scaled = new double[m];
        int[] small = new int[m];
        int[] large = new int[m];
        int ns = 0;
        int nl = 0;
        for (int i = 0; i < m; i++) {
            scaled[i] = mass[i] * m / total;
            if (scaled[i] < 1) {
                small[ns++] = i;
            } else {
                large[nl++] = i;
            }
        }
        Arrays.fill(keep, 1.0);
        for (int i = 0; i < m; i++) {
            alias[i] = i;
        }
        while (ns > 0 && nl > 0) {
            int l = small[--ns];
            int g = large[--nl];
            keep[l] = scaled[l];
            alias[l] = g;
            scaled[g] = (scaled[g] + scaled[l]) - 1;
            if (scaled[g] < 1) {
                small[ns++] = g;
            } else {
                large[nl++] = g;
            }
        }
        // Whatever is left is 1 up to rounding: keeps itself (keep = 1).
    }

    @Override
    public String toString() {
        return "zipf(n=" + n + ", s=" + s + ")";
    }
}
