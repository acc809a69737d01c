package io.hashkernel.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Zipf sampler draws each rank with its exact probability. */
class ZipfTest {

    /** Pearson's chi-square of observed counts against the sampler's exact probabilities, all ranks. */
    private static double chiSquare(Zipf zipf, long[] counts, long draws) {
        double total = zipf.total();
        double chi = 0;
        for (int r = 0; r < counts.length; r++) {
            double expected = draws * Math.pow(r + 1, -zipf.s()) / total;
            double d = counts[r] - expected;
            chi += d * d / expected;
        }
        return chi;
    }

    private static long[] draw(Zipf zipf, long draws, long seed) {
        long[] counts = new long[(int) zipf.n()];
        long[] state = {seed};
        for (long i = 0; i < draws; i++) {
            long r = zipf.next(state);
            counts[(int) r]++;
        }
        return counts;
    }

    /** A bound that a correct sampler exceeds with probability below 1e-6 (normal approximation). */
    private static double bound(int degrees) {
        return degrees + 5 * Math.sqrt(2.0 * degrees);
    }

    @ParameterizedTest(name = "n={0} s={1} head={2}")
    @CsvSource({
        "1000, 1.09, 16",     // mostly buckets
        "1000, 1.09, 2048",   // all single ranks
        "1000, 0.5, 2",       // buckets only, flat
        "300, 2.0, 4",        // steep
        "1, 1.09, 16",        // one rank
        "5000, 1.0, 64",      // s = 1 (logarithmic sums)
    })
    void everyRankAtItsExactFrequency(long n, double s, int head) {
        Zipf zipf = new Zipf(n, s, head);
        long draws = 4_000_000;
        long[] counts = draw(zipf, draws, 0x9E3779B97F4A7C15L);
        long sum = 0;
        for (long c : counts) {
            sum += c;
        }
        assertEquals(draws, sum);
        if (n > 1) {
            double chi = chiSquare(zipf, counts, draws);
            assertTrue(chi < bound((int) n - 1), "chi-square " + chi + " over " + (n - 1) + " degrees of freedom");
        }
    }

    @Test
    void largeTableHeadAndBucketsMatch() {
        // The benchmark's shape: 10^7 ranks, s = 1.09; check the first ranks one by one and every
        // power-of-two group of ranks as a whole.
        long n = 10_000_000;
        Zipf zipf = new Zipf(n, 1.09);
        long draws = 8_000_000;
        long[] state = {42};
        int groups = 64 - Long.numberOfLeadingZeros(n);
        long[] byGroup = new long[groups];           // group g: 1-based ranks [2^g, 2^(g+1))
        long[] first = new long[10];
        for (long i = 0; i < draws; i++) {
            long r = zipf.next(state);
            assertTrue(r >= 0 && r < n, "rank " + r);
            byGroup[63 - Long.numberOfLeadingZeros(r + 1)]++;
            if (r < first.length) {
                first[(int) r]++;
            }
        }
        double total = zipf.total();
        double chi = 0;
        for (int r = 0; r < first.length; r++) {
            double p = Math.pow(r + 1, -1.09) / total;
            double d = first[r] - draws * p;
            chi += d * d / (draws * p);
        }
        for (int g = 0; g < groups; g++) {
            long a = 1L << g;
            double p = Zipf.sum(a, Math.min(n + 1, 2 * a), 1.09) / total;
            double d = byGroup[g] - draws * p;
            chi += d * d / (draws * p);
        }
        // Overlapping cells (ranks 1..10 are also in groups 0..3): a loose bound on 10 + 24 cells.
        assertTrue(chi < 2 * bound(first.length + groups), "chi-square " + chi);
    }

    @Test
    void bucketSumsByEulerMaclaurinMatchTermByTerm() {
        for (double s : new double[] {0.3, 1.0, 1.09, 2.5}) {
            long a = 1L << 17;
            long b = (1L << 18) + 12345;
            double direct = 0;
            for (long k = b - 1; k >= a; k--) {
                direct += Math.pow(k, -s);
            }
            double em = Zipf.sum(a, b, s);
            assertEquals(direct, em, direct * 1e-12, "s=" + s);
        }
    }

    @Test
    void probabilitiesSumToOne() {
        Zipf zipf = new Zipf(100_000, 1.09, 16);
        double p = 0;
        for (long r = 0; r < zipf.n(); r++) {
            p += zipf.probability(r);
        }
        assertEquals(1.0, p, 1e-9);
    }

    @Test
    void badArgumentsSayWhatIsAllowed() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Zipf(0, 1.0))
                .getMessage().contains("at least one rank"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Zipf(10, 0))
                .getMessage().contains("positive"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Zipf(10, Double.NaN))
                .getMessage().contains("positive"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Zipf(10, 1, 3))
                .getMessage().contains("power of two"));
    }
}
