package io.hashkernel.bytes;

import io.hashkernel.table.spi.MemoryProvider;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

/**
 * Lincheck (stress mode): random concurrent scenarios of the map's operations, compaction and
 * clear included, checked for linearizability against the map run sequentially. Few keys, and
 * a hash under which keys 0 and 4 (and 1 and 5) collide, so chains of two records are changed
 * concurrently; values of 1,000 bytes in 4 KiB slabs, so that slabs fill and compactions move
 * records within a scenario.
 */
class BytesLincheckTest {

    static StressOptions options() {
        return new StressOptions().iterations(10).invocationsPerIteration(300).threads(2).actorsPerThread(4)
                .actorsBefore(3).actorsAfter(1);
    }

    static byte[] key(int k) {
        return new byte[]{(byte) k};
    }

    static byte[] value(int v) {
        byte[] bytes = new byte[1000];
        ByteBuffer.wrap(bytes).putInt(v).putInt(996, v);
        return bytes;
    }

    /** The value's number, -1 for none; a torn value (ends that differ) answers -2. */
    static int number(byte[] value) {
        if (value == null) {
            return -1;
        }
        ByteBuffer b = ByteBuffer.wrap(value);
        return value.length == 1000 && b.getInt(0) == b.getInt(996) ? b.getInt(0) : -2;
    }

    @Param(name = "key", gen = IntGen.class, conf = "0:5")
    @Param(name = "value", gen = IntGen.class, conf = "1:3")
    public static class Ops {
        private final ConcurrentBytesMap map = ConcurrentBytesMap.builder()
                .hash((key, seed) -> key.byteSize() == 0 ? 0 : key.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) & 3)
                .slabBytes(4096).compactBelow(0.9).memory(MemoryProvider.gcManaged()).build();

        @Operation
        public int get(@Param(name = "key") int k) {
            return number(map.get(key(k)));
        }

        @Operation
        public int put(@Param(name = "key") int k, @Param(name = "value") int v) {
            return number(map.put(key(k), value(v)));
        }

        @Operation
        public int putIfAbsent(@Param(name = "key") int k, @Param(name = "value") int v) {
            return number(map.putIfAbsent(key(k), value(v)));
        }

        @Operation
        public int remove(@Param(name = "key") int k) {
            return number(map.remove(key(k)));
        }

        @Operation
        public int getAll(@Param(name = "key") int k) {
            byte[][] values = new byte[1][];
            map.getAll(new byte[][]{key(k)}, values);
            return number(values[0]);
        }

        @Operation
        public void compact() {
            map.compact();
        }

        @Operation
        public void clear() {
            map.clear();
        }
    }

    @Test
    void theMapIsLinearizableWithCollisionsCompactionAndClear() {
        options().check(Ops.class);
    }
}
