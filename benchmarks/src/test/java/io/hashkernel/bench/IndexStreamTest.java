package io.hashkernel.bench;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark's index streams draw the same indexes however they are asked. */
class IndexStreamTest {

    /** A chunk drawn at once is the same indexes, in the same order, as draws one by one. */
    @Test
    void fillDrawsWhatNextWould() {
        for (double s : new double[] {0, 0.99}) {
            Zipf zipf = s == 0 ? null : new Zipf(1_000_000, s, 64);
            IndexStream one = IndexStream.of(s, zipf, 1_000_000, 12345);
            IndexStream chunk = IndexStream.of(s, zipf, 1_000_000, 12345);
            for (int round = 0; round < 3; round++) {
                long[] expected = new long[1000];
                for (int i = 0; i < expected.length; i++) {
                    expected[i] = one.next();
                }
                long[] got = new long[1000];
                chunk.fill(got, 997);
                got[997] = chunk.next();
                chunk.fill(got, 0);
                long[] tail = new long[2];
                chunk.fill(tail, 2);
                got[998] = tail[0];
                got[999] = tail[1];
                assertArrayEquals(expected, got, "exponent " + s + ", round " + round);
                for (long index : got) {
                    assertTrue(index >= 0 && index < 1_000_000, "index " + index + " out of range");
                }
            }
        }
    }

    /** The uniform stream's lanes are distinct streams, and its indexes fall evenly. */
    @Test
    void uniformLanesAreIndependentAndEven() {
        IndexStream wide = IndexStream.of(0, null, 1L << 40, 7);
        Set<Long> seen = new HashSet<>();
        long[] chunk = new long[4000];
        wide.fill(chunk, chunk.length);
        for (long index : chunk) {
            seen.add(index);
        }
        // Lanes that repeated one another would repeat indexes; 4000 draws over 2^40 do not.
        assertEquals(chunk.length, seen.size(), "repeated indexes among the first draws");

        int buckets = 16;
        long[] counts = new long[buckets];
        IndexStream uniform = IndexStream.of(0, null, buckets * 1000L, 11);
        long[] draws = new long[1 << 20];
        uniform.fill(draws, draws.length);
        for (long index : draws) {
            counts[(int) (index / 1000)]++;
        }
        double expected = draws.length / (double) buckets;
        for (int b = 0; b < buckets; b++) {
            assertTrue(Math.abs(counts[b] - expected) < 0.02 * expected, "bucket " + b + ": " + counts[b]);
        }
    }
}
