package io.hashkernel.bench;

/**
 * One thread's stream of entry indexes in {@code [0, n)}: uniform, or Zipf-distributed over ranks
 * (rank r is entry r, whose key {@link Keys#key} scrambles over the table). A few cycles a draw.
 */
abstract sealed class IndexStream permits IndexStream.Uniform, IndexStream.Skewed {
    /**
     * The xorshift state of {@link #word()} and the Zipf draw, in an array so that the Zipf draw
     * can take several words.
     */
    final long[] state;

    IndexStream(long seed) {
        this.state = new long[] {seed};
    }

    /** The next index. */
    abstract long next();

    /**
     * The next {@code count} indexes into {@code into[0, count)}, as {@code count} calls of
     * {@link #next()} would draw them.
     */
    void fill(long[] into, int count) {
        for (int i = 0; i < count; i++) {
            into[i] = next();
        }
    }

    /** The next random word, for decisions besides the index (mixed workloads). */
    final long word() {
        return state[0] = Keys.next(state[0]);
    }

    /** The stream for a distribution over {@code n} entries ({@code zipf} shared by all threads, or null). */
    static IndexStream of(double zipfExponent, Zipf zipf, long n, long seed) {
        return zipfExponent == 0 ? new Uniform(n, seed) : new Skewed(zipf, seed);
    }

    /**
     * Every index equally likely. Four xorshift streams drawn in turn: one xorshift step is a
     * chain of six dependent operations, so a single stream held a chunk's drawing to six cycles
     * a key; four independent chains let the CPU overlap them (1.9 against 1.1 ns a key with the
     * key's mixing, stand-alone, one thread).
     */
    static final class Uniform extends IndexStream {
        private static final int LANES = 4;
        private final long n;
        private final long[] lanes = new long[LANES];
        private int turn;

        Uniform(long n, long seed) {
            super(seed);
            this.n = n;
            for (int i = 0; i < LANES; i++) {
                // Non-zero, and unrelated to one another and to word()'s stream, which starts at
                // the seed itself (a lane starting there too would tie the mixed workloads'
                // decisions to the indexes drawn a few operations before).
                lanes[i] = Keys.key(seed + i + 1) | 1L;
            }
        }

        @Override
        long next() {
            int t = turn;
            long s = lanes[t] = Keys.next(lanes[t]);
            turn = (t + 1) & (LANES - 1);
            return Keys.below(s, n);
        }

        /**
         * The lanes' states stay in registers: {@link #next()} keeps them in the array, and stores
         * of other {@code long[]} elements between draws (which the JIT cannot tell apart from
         * it) made every draw wait for the store to be forwarded to the next load.
         */
        @Override
        void fill(long[] into, int count) {
            int i = 0;
            for (; i < count && turn != 0; i++) {
                into[i] = next();
            }
            long a = lanes[0];
            long b = lanes[1];
            long c = lanes[2];
            long d = lanes[3];
            for (; i + LANES <= count; i += LANES) {
                a = Keys.next(a);
                b = Keys.next(b);
                c = Keys.next(c);
                d = Keys.next(d);
                into[i] = Keys.below(a, n);
                into[i + 1] = Keys.below(b, n);
                into[i + 2] = Keys.below(c, n);
                into[i + 3] = Keys.below(d, n);
            }
            lanes[0] = a;
            lanes[1] = b;
            lanes[2] = c;
            lanes[3] = d;
            for (; i < count; i++) {
                into[i] = next();
            }
        }
    }

    /** Index r with probability proportional to {@code (r+1)^-s}. */
    static final class Skewed extends IndexStream {
        private final Zipf zipf;

        Skewed(Zipf zipf, long seed) {
            super(seed);
            this.zipf = zipf;
        }

        @Override
        long next() {
            return zipf.next(state);
        }
    }
}
