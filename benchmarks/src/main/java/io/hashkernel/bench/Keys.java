package io.hashkernel.bench;

/**
 * The benchmark's keys, values and random numbers, all a few cycles each: no division, no key
 * array (an array of keys would add a cache miss of its own to every operation).
 *
 * <p>Entry {@code i} has key {@link #key(long) key(i)}, a bijective scramble of {@code i}, and
 * value {@code i + 1}; a lookup draws {@code i} uniformly from {@code [0, entries)} and can check
 * the value it gets back.
 */
final class Keys {
    /** What a subject returns for an absent key; no benchmark value ({@code i + 1 >= 1}) equals it. */
    static final long MISSING = Long.MIN_VALUE;

    private Keys() {
    }

    /** A bijection of the index (multiply by odd constants, xor-shifts): distinct and patternless. */
    static long key(long index) {
        long z = index * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 32)) * 0xD6E8FEB86659FD93L;
        return z ^ (z >>> 32);
    }

    /** The value stored for entry {@code index}. */
    static long value(long index) {
        return index + 1;
    }

    /** One xorshift64 step; the state must not be zero. */
    static long next(long state) {
        state ^= state >>> 12;
        state ^= state << 25;
        return state ^ (state >>> 27);
    }

    /** A uniform index in {@code [0, n)} from a random word, by multiply-high instead of division. */
    static long below(long random, long n) {
        return Math.unsignedMultiplyHigh(random * 0x2545F4914F6CDD1DL, n);
    }

    /** A non-zero per-thread starting state. */
    static long seed(long runSeed, int thread) {
        long s = key(runSeed * 31 + thread + 1);
        return s == 0 ? 1 : s;
    }
}
