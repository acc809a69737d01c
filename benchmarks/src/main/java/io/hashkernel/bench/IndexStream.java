package io.hashkernel.bench;

/**
 * One thread's stream of entry indexes in {@code [0, n)}: uniform, or Zipf-distributed over ranks
 * (rank r is entry r, whose key {@link Keys#key} scrambles over the table). A few cycles a draw.
 */
abstract sealed class IndexStream permits IndexStream.Uniform, IndexStream.Skewed {
    /** The xorshift state, in an array so that the Zipf draw can take several words. */
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

    /** Every index equally likely. */
    static final class Uniform extends IndexStream {
        private final long n;

        Uniform(long n, long seed) {
            super(seed);
            this.n = n;
        }

        @Override
        long next() {
            return Keys.below(word(), n);
        }

        /**
         * The state stays in a register: {@link #next()} keeps it in the array, and stores of
         * other {@code long[]} elements between draws (which the JIT cannot tell apart from it)
         * made every draw wait for the store to be forwarded to the next load.
         */
        @Override
        void fill(long[] into, int count) {
            long s = state[0];
            for (int i = 0; i < count; i++) {
                s = Keys.next(s);
                into[i] = Keys.below(s, n);
            }
            state[0] = s;
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
