package io.hashkernel.bytes;

import io.hashkernel.table.spi.MemoryProvider;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import org.openjdk.jcstress.infra.results.IIII_Result;
import org.openjdk.jcstress.infra.results.II_Result;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The byte map's record publication: a record's bytes are written with plain stores and published
 * by the CAS of its key's index entry; chains of colliding keys change only by a CAS of their
 * first record; compaction moves records by the same CAS. Readers racing any of these see each key
 * absent or with exactly one of the values put for it, complete.
 *
 * <p>In package {@code io.hashkernel.bytes} to reach the map's test hook for colliding hashes.
 * Run just these: {@code java -jar stress/target/jcstress.jar -t BytesMapPublicationTest}
 */
public final class BytesMapPublicationTest {

    private BytesMapPublicationTest() {
    }

    /** Every key collides with every other. */
    static final KeyHash ONE_HASH = (key, seed) -> 42;

    static ConcurrentBytesMap.Builder map() {
        return ConcurrentBytesMap.builder().memory(MemoryProvider.gcManaged()).slabBytes(4096).compactBelow(0);
    }

    static byte[] key(int k) {
        return new byte[]{(byte) k, 7};
    }

    /** A 100-byte value whose first and last words are {@code v}. */
    static byte[] value(int v) {
        byte[] bytes = new byte[100];
        ByteBuffer.wrap(bytes).putInt(0, v).putInt(96, v);
        return bytes;
    }

    /** 0 for absent, the value's number, or -1 for a torn or foreign value. */
    static int seen(byte[] value) {
        if (value == null) {
            return 0;
        }
        ByteBuffer b = ByteBuffer.wrap(value);
        return value.length == 100 && b.getInt(0) == b.getInt(96) ? b.getInt(0) : -1;
    }

    @JCStressTest
    @Description("A put of a new key races a get of it.")
    @Outcome(id = {"0", "1"}, expect = ACCEPTABLE, desc = "absent, or the whole value")
    @Outcome(expect = FORBIDDEN, desc = "a torn or foreign value")
    @State
    public static class NewRecord {
        final ConcurrentBytesMap map = map().build();

        @Actor
        public void writer() {
            map.put(key(1), value(1));
        }

        @Actor
        public void reader(org.openjdk.jcstress.infra.results.I_Result r) {
            r.r1 = seen(map.get(key(1)));
        }
    }

    @JCStressTest
    @Description("Two new keys with the same hash are put at once (both link into one chain); each writer then reads the other's key.")
    @Outcome(id = {"0, 1, 1, 2", "2, 0, 1, 2", "2, 1, 1, 2"}, expect = ACCEPTABLE,
            desc = "both kept; each writer saw the other key absent or whole")
    @Outcome(expect = FORBIDDEN, desc = "a lost key, a torn value, another key's value, or neither saw the other"
            + " (both CAS the one chain's first record, so the second CAS reads the first's record)")
    @State
    public static class CollidingInserts {
        final ConcurrentBytesMap map = map().hash(ONE_HASH).build();

        @Actor
        public void writer1(IIII_Result r) {
            map.put(key(1), value(1));
            r.r1 = seen(map.get(key(2)));
        }

        @Actor
        public void writer2(IIII_Result r) {
            map.put(key(2), value(2));
            r.r2 = seen(map.get(key(1)));
        }

        @Arbiter
        public void after(IIII_Result r) {
            r.r3 = seen(map.get(key(1)));
            r.r4 = seen(map.get(key(2)));
        }
    }

    @JCStressTest
    @Description("In a chain of three colliding keys, the middle one is removed while the last one is replaced.")
    @Outcome(id = "0, 1, 13", expect = ACCEPTABLE, desc = "both writes kept; the first key untouched")
    @Outcome(expect = FORBIDDEN, desc = "a write lost, or a key resurrected")
    @State
    public static class ChainRemoveAndReplace {
        final ConcurrentBytesMap map = map().hash(ONE_HASH).build();

        {
            map.put(key(3), value(3));
            map.put(key(2), value(2));
            map.put(key(1), value(1)); // chain: 1 -> 2 -> 3
        }

        @Actor
        public void remover() {
            map.remove(key(2));
        }

        @Actor
        public void replacer() {
            map.put(key(3), value(13));
        }

        @Arbiter
        public void after(III_Result r) {
            r.r1 = seen(map.get(key(2)));
            r.r2 = seen(map.get(key(1)));
            r.r3 = seen(map.get(key(3)));
        }
    }

    @JCStressTest
    @Description("A compaction moves a record while it is read and then replaced.")
    @Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "the read saw the value; the replacement stays")
    @Outcome(expect = FORBIDDEN, desc = "the read saw it absent or torn, the replacement lost to the move, or a moved record lost")
    @State
    public static class MoveRacesReplace {
        final ConcurrentBytesMap map = map().build();

        {
            // Key 1's record and 40 others fill the first slab; replacing the others leaves it
            // sparse, so the compaction moves key 1's record.
            map.put(key(1), value(1));
            for (int k = 10; k < 50; k++) {
                map.put(key(k), value(k));
            }
            for (int k = 10; k < 50; k++) {
                map.put(key(k), value(k));
            }
        }

        @Actor
        public void compactor() {
            map.compact();
        }

        @Actor
        public void writer(II_Result r) {
            r.r1 = seen(map.get(key(1)));
            map.put(key(1), value(2));
        }

        @Arbiter
        public void after(II_Result r) {
            r.r2 = seen(map.get(key(1)));
            for (int k = 10; k < 50; k++) {
                if (seen(map.get(MemorySegment.ofArray(key(k)))) != k) {
                    r.r2 = -2;
                }
            }
        }
    }
}
