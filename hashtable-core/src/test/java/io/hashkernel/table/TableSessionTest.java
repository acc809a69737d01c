package io.hashkernel.table;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static io.hashkernel.table.BatchedApiTest.MISSING;
import static io.hashkernel.table.BatchedApiTest.table;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The asynchronous session against a sequential model: one thread submits random finds, puts and
 * removes (duplicate keys, absent keys, the key 0, a table full enough that probes cross lines),
 * polling at random moments; every id must come back exactly once, with the result the single
 * call would have given at the point of submission.
 */
@Tag("lines")
class TableSessionTest {

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> configurations() {
        return BatchedApiTest.configurations();
    }

    @ParameterizedTest(name = "{0} batch {1} depth {2}")
    @MethodSource("configurations")
    void resultsEqualTheSequentialModelAndEveryIdComesBackOnce(String strategy, int batch, int depth) {
        SplittableRandom r = new SplittableRandom(batch * 104729L + depth);
        try (ConcurrentLongLongTable t = table(strategy, 128, batch, depth, r.nextLong())) {
            TableSession s = (TableSession) t.session();
            Map<Long, Long> model = new HashMap<>();
            Map<Long, Long> expected = new HashMap<>();
            Map<Long, Long> got = new HashMap<>();
            long[] pool = BatchedApiTest.keyPool(r, 110); // fill up to 110 / 128: lines fill up and probes cross
            long[] ids = new long[r.nextInt(1, 40)];
            long[] results = new long[ids.length];
            int submitted = 0;
            for (int op = 0; op < 3000; op++) {
                long id = r.nextLong(); // ids are the caller's: any long, in any order
                while (expected.containsKey(id)) {
                    id = r.nextLong();
                }
                int kind = r.nextInt(3);
                // puts only of pool keys (a removed key keeps its slot; fresh keys would fill the table)
                long key = kind != 1 && r.nextInt(8) == 0 ? r.nextLong() : pool[r.nextInt(pool.length)];
                Long before;
                if (kind == 0) {
                    s.get(id, key);
                    before = model.get(key);
                } else if (kind == 1) {
                    long value = r.nextLong();
                    if (value == MISSING) {
                        value = 1;
                    }
                    s.put(id, key, value);
                    before = model.put(key, value);
                } else {
                    s.remove(id, key);
                    before = model.remove(key);
                }
                expected.put(id, before == null ? MISSING : before);
                submitted++;
                if (r.nextInt(10) == 0) {
                    drain(s, ids, results, expected, got);
                }
                assertTrue(s.pending() <= (depth + 1) * batch, "at most (depth + 1) * batch pending");
            }
            s.flush();
            assertEquals(0, s.pending(), "flush leaves nothing pending");
            assertEquals(submitted - got.size(), s.completed());
            drain(s, ids, results, expected, got);
            assertEquals(0, s.completed());
            assertEquals(expected, got, "every id once, with the sequential result");
            Map<Long, Long> contents = BatchedApiTest.contents(t);
            assertEquals(model, contents, "the table holds what the model holds");
            s.flush();
            assertEquals(0, s.poll(ids, results), "nothing more comes back");
        }
    }

    private static void drain(TableSession s, long[] ids, long[] results, Map<Long, Long> expected, Map<Long, Long> got) {
        int n;
        while ((n = s.poll(ids, results)) > 0) {
            for (int i = 0; i < n; i++) {
                if (!expected.containsKey(ids[i])) {
                    fail("id " + ids[i] + " was never submitted");
                }
                if (got.put(ids[i], results[i]) != null) {
                    fail("id " + ids[i] + " came back twice");
                }
            }
        }
    }

    @Test
    void completionsWaitInMemoryUntilPolled() {
        try (ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(1 << 16).missingValue(MISSING).build()) {
            TableSession s = (TableSession) t.session();
            for (long i = 0; i < 20_000; i++) {
                s.put(i, i * 31, i);
            }
            s.flush();
            assertEquals(20_000, s.completed());
            long[] ids = new long[7];
            long[] results = new long[7];
            Set<Long> seen = new HashSet<>();
            int n;
            while ((n = s.poll(ids, results)) > 0) {
                for (int i = 0; i < n; i++) {
                    assertEquals(MISSING, results[i], "every put was of a new key");
                    assertTrue(seen.add(ids[i]));
                }
            }
            assertEquals(20_000, seen.size());
            assertEquals(20_000, t.size());
            assertEquals(0, s.poll(new long[0], new long[5]), "a zero-length buffer takes nothing");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void aPutThatFindsNoSlotIsReportedWithItsIdAndTheOthersComplete(String strategy) {
        try (ConcurrentLongLongTable t = table(strategy, 8, 4, 1, 11)) {
            TableSession s = (TableSession) t.session();
            TableFullException e = assertThrows(TableFullException.class, () -> {
                for (long i = 1; i <= 12; i++) {
                    s.put(100 + i, i, i);
                }
                s.flush();
            });
            assertTrue(e.getMessage().contains("put with id 1"), e.getMessage());
            // whatever was not yet processed when the exception came still completes
            while (true) {
                try {
                    s.flush();
                    break;
                } catch (TableFullException more) {
                    assertTrue(more.getMessage().contains("put with id"), more.getMessage());
                }
            }
            assertEquals(0, s.pending());
            assertEquals(8, t.size());
            assertEquals(8, s.poll(new long[16], new long[16]), "the eight puts that found a slot come back");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"native", "touch"})
    void everyIdComesBackOrIsCountedAsNotPutEvenWhenASubmitThrows(String strategy) {
        try (ConcurrentLongLongTable t = table(strategy, 8, 4, 1, 11)) {
            for (long k = 1; k <= 8; k++) {
                t.put(k, k);                          // full: every slot holds a key
            }
            TableSession s = (TableSession) t.session();
            long notPut = 0;
            int submitted = 0;
            for (long i = 0; i < 200; i++) {
                try {
                    if (i % 2 == 0) {
                        s.get(i, 1 + i % 8);          // present
                    } else {
                        s.put(i, 1000 + i, 5);        // new: no room
                    }
                } catch (TableFullException e) {
                    notPut += e.notPut();
                }
                submitted++;
            }
            try {
                s.flush();
            } catch (TableFullException e) {
                notPut += e.notPut();
            }
            assertEquals(0, s.pending(), "flush completed everything, the failed puts reported");
            long[] ids = new long[256];
            long[] results = new long[256];
            int polled = s.poll(ids, results);
            assertEquals(100, notPut, "each put without room reported once");
            assertEquals(submitted - notPut, polled, "the other requests, the submitting ones included, came back");
            for (int j = 0; j < polled; j++) {
                assertEquals(0, ids[j] % 2, "only the gets complete");
                assertEquals(1 + ids[j] % 8, results[j]);
            }
        }
    }

    @Test
    void badInputAndAClosedTable() {
        ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(64).missingValue(MISSING).build();
        TableSession s = (TableSession) t.session();
        assertThrows(IllegalArgumentException.class, () -> s.put(1, 2, MISSING));
        assertEquals(0, s.pending(), "a refused put is not submitted");
        s.put(1, 2, 3);
        t.close();
        assertThrows(IllegalStateException.class, () -> s.get(2, 2));
        assertThrows(IllegalStateException.class, s::flush);
    }
}
