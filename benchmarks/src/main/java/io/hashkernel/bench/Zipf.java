package io.hashkernel.bench;

import java.util.Arrays;

/**
 * An exact Zipf sampler over ranks {@code 0 .. n-1}: rank {@code r} is drawn with probability
 * {@code (r+1)^-s / H(n, s)}, for any exponent {@code s > 0}, in a few nanoseconds a draw with no
 * branch that mispredicts often and no {@code Math.pow} on the common path.
 *
 * <p>How: the ranks below {@link #DEFAULT_HEAD} are entries of their own in a Walker alias table;
 * the rest are grouped into buckets {@code [2^j, 2^(j+1))} (1-based ranks), each cut into
 * {@value #PARTS} equal parts, one alias entry a part, weighted by the part's exact mass. A draw
 * that lands in a part picks a rank {@code k} uniformly in it and accepts it with probability
 * {@code (a/k)^s} ({@code a} the part's first rank), which is exactly the shape of the
 * distribution inside the part; since a part is at most 1/{@value #PARTS} of its first rank
 * wide, that probability is at least about 0.98, and a precomputed bound (the probability at the
 * part's last rank) accepts all but the rarest draws without {@code Math.pow}. A draw takes three
 * random words from the caller ({@link #draw}): one picks the entry, the other two the rank in a
 * part and its accept test; a single rank and a part rank are both computed and one selected, so
 * the split between the two costs no branch. A rejected draw (about one in a hundred part draws)
 * retries within its part ({@link #retry}): a retry from the alias table would weight the parts
 * by their acceptance rates.
 * Bucket masses are summed term by term up to {@code 2^16} ranks wide and by Euler–Maclaurin
 * (error far below a double's precision) beyond.
 *
 * <p>A {@code Zipf} is immutable and shared; draws take their random words from the caller (the
 * benchmark's per-thread xorshift streams).
 */
final class Zipf {
    /** Ranks (1-based) below this have their own alias entry; a power of two. */
    static final int DEFAULT_HEAD = 2048;
    /** Parts a bucket is cut into (fewer where the bucket has fewer ranks). */
    static final int PARTS = 64;
    private static final int EXACT_SUM_LIMIT = 1 << 16;
    private static final double TWO_POW_MINUS_52 = 0x1.0p-52;
    private static final long MIX = 0x2545F4914F6CDD1DL;

    private final long n;
    private final double s;
    private final int head;
    /** Alias table: entry {@code i} keeps itself when the coin is below {@code keep[i]}, else takes {@code alias[i]}. */
    private final double[] keep;
    private final int[] alias;
    private final int entryBits;
    /**
     * Per entry, three adjacent words (one cache line for the draw's second look): the part's
     * first 1-based rank (0 for a single rank), its width, and the bits of its accept bound.
     */
    private final long[] parts;
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
        int partCount = 0;
        for (long a = head; a <= n; a <<= 1) {
            long b = Math.min(n + 1, 2 * a);
            long width = a / Math.min(PARTS, a);
            partCount += (int) ((b - a + width - 1) / width);
        }
        // The alias table has a power-of-two size (empty entries padded) so that its index is the
        // top bits of a random word and its coin the 52 low bits: independent, hence exact.
        int entries = Integer.highestOneBit(Math.max(1, singles + partCount) * 2 - 1);
        entryBits = Integer.numberOfTrailingZeros(entries);
        double[] mass = new double[entries];
        for (int i = 0; i < singles; i++) {
            mass[i] = Math.pow(i + 1, -s);
        }
        parts = new long[3 * entries];
        for (int i = 0; i < entries; i++) {
            // Single ranks (and padding) always pass the accept test: one compare, no branch on the kind.
            parts[3 * i + 2] = Double.doubleToRawLongBits(2.0);
        }
        int e = singles;
        for (long a = head; a <= n; a <<= 1) {
            long b = Math.min(n + 1, 2 * a);                      // exclusive
            long width = a / Math.min(PARTS, a);
            for (long start = a; start < b; start += width, e++) {
                long end = Math.min(b, start + width);
                parts[3 * e] = start;
                parts[3 * e + 1] = end - start;
                // (start/k)^s at the part's last rank: the smallest accept probability in it.
                parts[3 * e + 2] = Double.doubleToRawLongBits(Math.nextDown(Math.pow(start / (double) (end - 1), s)));
                mass[e] = sum(start, end, s);
            }
        }
        keep = new double[entries];
        alias = new int[entries];
        buildAlias(mass, keep, alias);
        total = computeTotal();
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
     * from which the draw takes its three words and, if it is rejected, its retries' words.
     */
    long next(long[] state) {
        long u = state[0] = Keys.next(state[0]);
        long v = state[0] = Keys.next(state[0]);
        long w = state[0] = Keys.next(state[0]);
        long r = draw(u, v, w);
        return r >= 0 ? r : retry(r, state);
    }

    /**
     * One draw from three independent random words: a 0-based rank, or a negative number that
     * {@link #retry} completes (the part's accept test refused the rank).
     */
    long draw(long u, long v, long w) {
        long mixed = u * MIX;
        int entry = entryBits == 0 ? 0 : (int) (mixed >>> (64 - entryBits));
        double coin = (mixed & ((1L << 52) - 1)) * TWO_POW_MINUS_52;
        int other = alias[entry]; // loaded either way, so that the choice is a conditional move
        return attempt(coin < keep[entry] ? entry : other, v, w);
    }

    /**
     * One try at a rank of {@code entry} from two random words: the 0-based rank, or {@code -1 -
     * entry} where the part's accept test refused it.
     */
    private long attempt(int entry, long v, long w) {
        int at = 3 * entry;
        long start = parts[at];
        long k = start + Math.unsignedMultiplyHigh(v * MIX, parts[at + 1]);
        double accept = ((w * MIX) >>> 12) * TWO_POW_MINUS_52;
        // A single rank's 1-based rank is entry + 1; its bound (2) passes every accept test, so
        // which of the two kinds was drawn is never a branch (it would mispredict often).
        long rank = start == 0 ? entry : k - 1;
        if (accept < Double.longBitsToDouble(parts[at + 2])) {
            return rank;
        }
        return accept < Math.pow(start / (double) k, s) ? k - 1 : -1 - entry;
    }

    /**
     * Completes a rejected {@link #draw} ({@code rejected} is what it returned): tries again in
     * the same part, with words from {@code state}.
     */
    long retry(long rejected, long[] state) {
        int entry = (int) (-1 - rejected);
        while (true) {
            long v = state[0] = Keys.next(state[0]);
            long w = state[0] = Keys.next(state[0]);
            long r = attempt(entry, v, w);
            if (r >= 0) {
                return r;
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
