package io.hashkernel.bytes;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writers, readers and compactions at once on mapped slabs (so a compacted slab is really freed
 * and a reader that still holds a location into it must look again): no reader ever sees a torn
 * value or another key's value, and the final contents are each writer's last writes.
 */
class ConcurrentBytesMapRacesTest {

    /** A value naming its key and version, its length varying with the version. */
    static byte[] value(int key, int version) {
        ByteBuffer b = ByteBuffer.allocate(16 + version % 50);
        b.putInt(key).putInt(version).putInt(b.capacity() - 8, key).putInt(b.capacity() - 4, version);
        return b.array();
    }

    static byte[] key(int key) {
        byte[] k = new byte[4 + key % 13];
        ByteBuffer.wrap(k).putInt(key);
        return k;
    }

    static String problem(int key, byte[] value) {
        if (value == null) {
            return null;
        }
        ByteBuffer b = ByteBuffer.wrap(value);
        int k = b.getInt(0);
        int version = b.getInt(4);
        if (k != key || b.getInt(value.length - 8) != key || b.getInt(value.length - 4) != version
                || value.length != 16 + version % 50) {
            return "key " + key + " read a value of key " + k + " version " + version + ", " + value.length + " bytes";
        }
        return null;
    }

    @Test
    void writersReadersAndCompactionsNeverTearOrLoseAValue() throws Exception {
        for (KeyHash hash : new KeyHash[]{KeyHash.WY, ConcurrentBytesMapTest.FOUR}) {
            try (ConcurrentBytesMap map = ConcurrentBytesMap.builder().hash(hash).slabBytes(4096).compactBelow(0.7).build()) {
                run(map, hash == KeyHash.WY ? 400 : 60);
            }
        }
    }

    private static void run(ConcurrentBytesMap map, int keysPerWriter) throws Exception {
        int writers = 2;
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        List<Map<Integer, byte[]>> models = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        CountDownLatch writersDone = new CountDownLatch(writers);
        for (int w = 0; w < writers; w++) {
            int writer = w;
            Map<Integer, byte[]> model = new HashMap<>();
            models.add(model);
            threads.add(new Thread(() -> {
                try {
                    SplittableRandom r = new SplittableRandom(writer);
                    for (int i = 0; i < 10_000; i++) {
                        int k = writer * keysPerWriter + r.nextInt(keysPerWriter);
                        int op = r.nextInt(10);
                        if (op < 6) {
                            byte[] v = value(k, i);
                            byte[] old = map.put(key(k), v);
                            String p = problem(k, old);
                            if (p != null || (old == null) != (model.get(k) == null)) {
                                problems.add("put: " + p + " / absent " + (old == null));
                            }
                            model.put(k, v);
                        } else if (op < 8) {
                            byte[] old = map.remove(key(k));
                            if (!java.util.Arrays.equals(old, model.remove(k))) {
                                problems.add("remove of " + k + " returned another value");
                            }
                        } else {
                            byte[] v = value(k, i);
                            byte[] current = map.putIfAbsent(key(k), v);
                            if (!java.util.Arrays.equals(current, model.get(k))) {
                                problems.add("putIfAbsent of " + k + " saw another value");
                            }
                            model.putIfAbsent(k, v);
                        }
                    }
                } catch (Throwable t) {
                    problems.add("writer: " + t);
                } finally {
                    writersDone.countDown();
                }
            }));
        }
        threads.add(new Thread(() -> {
            try {
                SplittableRandom r = new SplittableRandom(99);
                byte[][] keys = new byte[32][];
                byte[][] values = new byte[32][];
                int[] ks = new int[32];
                while (!done.get()) {
                    int k = r.nextInt(writers * keysPerWriter);
                    String p = problem(k, map.get(key(k)));
                    if (p != null) {
                        problems.add("get: " + p);
                    }
                    for (int i = 0; i < keys.length; i++) {
                        ks[i] = r.nextInt(writers * keysPerWriter);
                        keys[i] = key(ks[i]);
                    }
                    map.getAll(keys, values);
                    for (int i = 0; i < keys.length; i++) {
                        p = problem(ks[i], values[i]);
                        if (p != null) {
                            problems.add("getAll: " + p);
                        }
                    }
                }
            } catch (Throwable t) {
                problems.add("reader: " + t);
            }
        }));
        threads.add(new Thread(() -> {
            try {
                while (!done.get()) {
                    map.compact();
                    Thread.sleep(2);
                }
            } catch (Throwable t) {
                problems.add("compactor: " + t);
            }
        }));
        threads.forEach(Thread::start);
        writersDone.await();
        done.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), List.copyOf(problems).subList(0, Math.min(10, problems.size())));
        Map<Integer, byte[]> all = new HashMap<>();
        models.forEach(all::putAll);
        for (int k = 0; k < writers * keysPerWriter; k++) {
            assertArrayEquals(all.get(k), map.get(key(k)), "key " + k);
        }
        assertEquals(all.size(), map.size());
        map.compact();
        assertTrue(map.memoryBytes() <= map.liveBytes() + 3 * 4096 + 4096,
                "compacted: " + map.memoryBytes() + " bytes of slabs for " + map.liveBytes() + " live");
    }

    @Test
    void callsRacingACloseOnlyThrowIllegalStateException() throws Exception {
        for (int round = 0; round < 20; round++) {
            ConcurrentBytesMap map = ConcurrentBytesMap.builder().slabBytes(4096).build();
            ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            CountDownLatch started = new CountDownLatch(2);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int seed = t;
                threads.add(new Thread(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    started.countDown();
                    try {
                        for (int i = 0; ; i++) {
                            int k = r.nextInt(300);
                            if (seed == 0) {
                                map.put(key(k), value(k, i));
                            } else {
                                problem(k, map.get(key(k)));
                                if (i % 100 == 0) {
                                    map.compact();
                                }
                            }
                        }
                    } catch (IllegalStateException expected) {
                        // closed
                    } catch (Throwable e) {
                        unexpected.add(e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            started.await();
            Thread.sleep(2);
            map.close();
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(List.of(), List.copyOf(unexpected));
        }
    }
}
