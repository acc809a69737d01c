package io.hashkernel.table;

import java.security.SecureRandom;

/**
 * A seeded 64-bit mixer: the murmur3 finaliser with the key first whitened by one secret word and
 * the first multiplier replaced by a secret odd word. A few cycles per key, every output bit
 * depends on every input bit, and without the seed an adversary cannot choose keys that collide.
 * It is not a cryptographic PRF: it resists patterned and blindly chosen keys, not an attacker
 * who can observe the table's layout.
 */
final class KeyHasher {
    private static final SecureRandom SEEDS = new SecureRandom();

    private final long whitening;
    private final long multiplier;

    private KeyHasher(long whitening, long multiplier) {
        this.whitening = whitening;
        this.multiplier = multiplier | 1L;
    }

    /** A hasher with secret random seeds. */
    static KeyHasher random() {
        return new KeyHasher(SEEDS.nextLong(), SEEDS.nextLong());
    }

    /** A reproducible hasher (tests, benchmarks that want identical layouts). */
    static KeyHasher seeded(long seed) {
        long a = mixSeed(seed);
        return new KeyHasher(a, mixSeed(a ^ 0x9E3779B97F4A7C15L));
    }

    private static long mixSeed(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The finaliser's second multiplier (murmur3's), the same for every table. */
    static final long SECOND_MULTIPLIER = 0xC4CEB9FE1A85EC53L;
    /** The finaliser's shift. */
    static final int SHIFT = 33;

    long hash(long key) {
        long h = key ^ whitening;
        h = (h ^ (h >>> SHIFT)) * multiplier;
        h = (h ^ (h >>> SHIFT)) * SECOND_MULTIPLIER;
        return h ^ (h >>> SHIFT);
    }

    /** The secret word the key is first xored with (for {@link VectorLines#homeLines}). */
    long whitening() {
        return whitening;
    }

    /** The secret first multiplier (for {@link VectorLines#homeLines}). */
    long multiplier() {
        return multiplier;
    }
}
