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
