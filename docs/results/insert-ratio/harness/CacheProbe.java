import io.hashkernel.table.ConcurrentLongLongTable;
import org.agrona.collections.Long2LongHashMap;
import org.eclipse.collections.impl.map.mutable.primitive.LongLongHashMap;

/**
 * One thread's cost a key in a small table, in the cache: {@code java -cp htbench.jar:. CacheProbe
 * SLOTS MODE SECONDS}, printing ns a key every half second. The table holds 0.75 of SLOTS
 * entries; the same keys go into Eclipse's and Agrona's maps. MODE: {@code batched} (getAll of
 * 1024 present keys), {@code single} (get of each), {@code eclipse}, {@code agrona}, {@code put}
 * (putAll of 1024 keys drawn with a skew, so that the call combines), {@code keys} (drawing the
 * keys alone: subtract it from the others). Two builds compare by putting one's classes first:
 * {@code -cp classes:htbench.jar:.}
 */
public class CacheProbe {
    private static long next(long x) {
        x ^= x << 13;
        x ^= x >>> 7;
        return x ^ x << 17;
    }

    public static void main(String[] args) {
        int slots = Integer.parseInt(args[0]);
        String mode = args[1];
        int seconds = Integer.parseInt(args[2]);
        int entries = slots / 4 * 3;
        LongLongHashMap eclipse = new LongLongHashMap(entries);
        Long2LongHashMap agrona = new Long2LongHashMap(Long.MIN_VALUE);
        ConcurrentLongLongTable table = ConcurrentLongLongTable.builder().capacity(entries)
                .missingValue(Long.MIN_VALUE).build();
        long[] present = new long[entries];
        long s = 0x1234567L;
        for (int i = 0; i < entries; i++) {
            s = next(s);
            present[i] = s | 1;
            table.put(present[i], i);
            eclipse.put(present[i], i);
            agrona.put(present[i], i);
        }
        int mask = Integer.highestOneBit(entries) - 1;
        long[] keys = new long[1024];
        long[] values = new long[1024];
        for (int round = 0; round < seconds * 2; round++) {
            long start = System.nanoTime();
            long n = 0;
            long sum = 0;
            while (System.nanoTime() - start < 500_000_000L) {
                for (int i = 0; i < 1024; i++) {
                    s = next(s);
                    // For puts, a skew: the index shifted right by 0 to 15 bits, so small ones repeat.
                    keys[i] = present[(int) (mode.equals("put") ? (s & mask) >>> (s >>> 58 & 15) : s & mask)];
                    values[i] = i;
                }
                switch (mode) {
                    case "batched" -> {
                        table.getAll(keys, 0, values, 0, 1024);
                        for (long v : values) {
                            sum += v;
                        }
                    }
                    case "single" -> {
                        for (long k : keys) {
                            sum += table.get(k);
                        }
                    }
                    case "put" -> sum += table.putAll(keys, 0, values, 0, 1024);
                    case "eclipse" -> {
                        for (long k : keys) {
                            sum += eclipse.get(k);
                        }
                    }
                    case "agrona" -> {
                        for (long k : keys) {
                            sum += agrona.get(k);
                        }
                    }
                    case "keys" -> {
                        for (long k : keys) {
                            sum += k;
                        }
                    }
                    default -> throw new IllegalArgumentException("MODE is batched, single, put, eclipse, agrona or keys; was " + mode);
                }
                n += 1024;
            }
            System.out.printf("%s %d slots: %.2f ns a key (%d)%n", mode, slots, (System.nanoTime() - start) / (double) n, sum & 1);
        }
    }
}
