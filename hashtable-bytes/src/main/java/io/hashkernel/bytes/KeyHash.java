package io.hashkernel.bytes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The index's hash of a key: 64 bits from a key's bytes and a seed. The default is
 * {@link #WY}, a wyhash-style mix (two words a multiply, the 128-bit product folded), little
 * endian on every platform so that a durable map's hashes mean the same thing everywhere. Tests
 * supply a weak one to force collisions.
 */
@FunctionalInterface
interface KeyHash {

    /** The hash of {@code key}'s bytes under {@code seed}. */
    long hash(MemorySegment key, long seed);

    /** The default: a wyhash-style mix of 16 bytes per step. */
    KeyHash WY = KeyHash::wyhash;

    ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    long P0 = 0xa0761d6478bd642fL;
    long P1 = 0xe7037ed1a0b428dbL;
    long P2 = 0x8ebc6af09c88c6e3L;

    /** The 128-bit product of {@code a} and {@code b}, its halves xored. */
    static long mum(long a, long b) {
        return a * b ^ Math.multiplyHigh(a, b);
    }

    private static long wyhash(MemorySegment key, long seed) {
        long n = key.byteSize();
        long h = seed ^ mum(seed ^ P0, P1);
        long a;
        long b;
        if (n <= 16) {
            if (n >= 8) {
                a = key.get(LONG, 0);
                b = key.get(LONG, n - 8);
            } else if (n >= 4) {
                a = key.get(INT, 0) & 0xffffffffL;
                b = key.get(INT, n - 4) & 0xffffffffL;
            } else if (n > 0) {
                a = (key.get(ValueLayout.JAVA_BYTE, 0) & 0xffL) << 16
                        | (key.get(ValueLayout.JAVA_BYTE, n >> 1) & 0xffL) << 8
                        | key.get(ValueLayout.JAVA_BYTE, n - 1) & 0xffL;
                b = 0;
            } else {
                a = 0;
                b = 0;
            }
        } else {
            long i = 0;
            for (; n - i > 16; i += 16) {
                h = mum(key.get(LONG, i) ^ P1, key.get(LONG, i + 8) ^ h);
            }
            // The last 16 bytes, overlapping the block before where n is not a multiple of 16.
            a = key.get(LONG, n - 16);
            b = key.get(LONG, n - 8);
        }
        return mum(P1 ^ n, mum(a ^ P1, b ^ h ^ P2));
    }
}
