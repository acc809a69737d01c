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

    /**
     * Index r with probability proportional to {@code (r+1)^-s}. A draw takes three words
     * ({@link Zipf#draw}) from six xorshift streams taken three at a time, so that two draws'
     * chains overlap, as {@link Uniform}'s four do; a rejected draw's retries take theirs from
     * {@link #state}.
     */
    static final class Skewed extends IndexStream {
        private static final int LANES = 6;
        private final Zipf zipf;
        private final long[] lanes = new long[LANES];
        private int turn;

        Skewed(Zipf zipf, long seed) {
            super(seed);
            this.zipf = zipf;
            for (int i = 0; i < LANES; i++) {
                lanes[i] = Keys.key(seed + i + 1) | 1L; // non-zero, unrelated to word()'s stream
            }
        }

        @Override
        long next() {
            int t = turn;
            long u = lanes[t] = Keys.next(lanes[t]);
            long v = lanes[t + 1] = Keys.next(lanes[t + 1]);
            long w = lanes[t + 2] = Keys.next(lanes[t + 2]);
            turn = t == 0 ? 3 : 0;
            long r = zipf.draw(u, v, w);
            return r >= 0 ? r : zipf.retry(r, state);
        }

        /** As {@link Uniform#fill}: the lanes stay in registers, two draws a step. */
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
            long e = lanes[4];
            long f = lanes[5];
            for (; i + 2 <= count; i += 2) {
                a = Keys.next(a);
                b = Keys.next(b);
                c = Keys.next(c);
                d = Keys.next(d);
                e = Keys.next(e);
                f = Keys.next(f);
                long r0 = zipf.draw(a, b, c);
                long r1 = zipf.draw(d, e, f);
                into[i] = r0 >= 0 ? r0 : zipf.retry(r0, state);
                into[i + 1] = r1 >= 0 ? r1 : zipf.retry(r1, state);
            }
            lanes[0] = a;
            lanes[1] = b;
            lanes[2] = c;
            lanes[3] = d;
            lanes[4] = e;
            lanes[5] = f;
            for (; i < count; i++) {
                into[i] = next();
            }
        }
    }
}
