package io.hashkernel.prefetch.batch;

import io.hashkernel.prefetch.PrefetchStrategy;
import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.prefetch.TouchPrefetch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchPipelineTest {

    /** Records every prefetched offset, so that tests can see what was issued when. */
    private static final class Recording implements PrefetchStrategy {
        final List<Long> issued = new ArrayList<>();
        int calls;

        @Override
        public void prefetch(MemorySegment region, long[] offsets, int count) {
            calls++;
            for (int i = 0; i < count; i++) {
                issued.add(offsets[i]);
            }
        }

        @Override
        public String name() {
            return "recording";
        }
    }

    private static final MemorySegment REGION = Arena.global().allocate(1 << 16, 64);

    /**
     * Drives a pipeline the way the table does: requests are "walks" of a given number of lines;
     * each probe of a line that is not the last re-queues the request to the next line. Returns
     * the order in which (request, line) probes happened.
     */
    private static List<long[]> drive(BatchPipeline p, int[] lengths) {
        List<long[]> probes = new ArrayList<>();
        int next = 0;
        do {
            while (next < lengths.length && p.hasRoom()) {
                p.add(next, 64L * next);
                next++;
            }
            p.issue();
            for (int j = 0; j < p.probeCount(); j++) {
                int tag = p.tag(j);
                int line = p.hops(j);
                assertEquals(64L * tag + 64L * 1000 * line, p.offset(j), "offset travels with the request");
                probes.add(new long[]{tag, line});
                if (line + 1 < lengths[tag]) {
                    p.requeue(j, 64L * tag + 64L * 1000 * (line + 1));
                }
            }
            p.endProbe();
        } while (next < lengths.length || !p.isEmpty());
        return probes;
    }

    @ParameterizedTest
    @CsvSource({"1,1", "1,3", "3,1", "16,1", "16,2", "7,4", "64,1", "64,8"})
    void everyRequestIsProbedOncePerLineInOrderAndProbesComeOneRoundPerDepthAfterTheirPrefetch(int batch, int depth) {
        SplittableRandom random = new SplittableRandom(batch * 31L + depth);
        for (int n : new int[]{0, 1, batch - 1, batch, batch + 1, 5 * batch + 3, 200}) {
            if (n < 0) {
                continue;
            }
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = 1 + (random.nextInt(4) == 0 ? random.nextInt(5) : 0);
            }
            Recording strategy = new Recording();
            BatchPipeline p = new BatchPipeline(strategy, REGION, batch, depth);
            List<long[]> probes = drive(p, lengths);
            int total = 0;
            int[] seen = new int[n];
            for (long[] probe : probes) {
                int tag = (int) probe[0];
                assertEquals(seen[tag], probe[1], "request " + tag + " probes its lines in order");
                seen[tag]++;
                total++;
            }
            for (int i = 0; i < n; i++) {
                assertEquals(lengths[i], seen[i], "request " + i + " probed each of its lines once");
            }
            assertEquals(total, strategy.issued.size(), "every probed line was prefetched first");
            assertTrue(p.isEmpty());
            assertEquals(0, p.pending());
        }
    }

    @Test
    void aRequeuedRequestStaysAheadOfLaterRequestsOnTheSameLines() {
        // Requests 0..9 all walk 3 lines. A later request must never probe a line number before
        // an earlier one has probed it: that is what keeps same-key operations in order.
        int[] lengths = new int[10];
        java.util.Arrays.fill(lengths, 3);
        List<long[]> probes = drive(new BatchPipeline(new Recording(), REGION, 4, 2), lengths);
        int[] lastTagAtLine = {-1, -1, -1};
        for (long[] probe : probes) {
            int line = (int) probe[1];
            assertTrue(probe[0] > lastTagAtLine[line], "request " + probe[0] + " at line " + line
                    + " after request " + lastTagAtLine[line]);
            lastTagAtLine[line] = (int) probe[0];
        }
    }

    @Test
    void oneDowncallPerBatchAndTheFirstProbeWaitsDepthRounds() {
        Recording strategy = new Recording();
        BatchPipeline p = new BatchPipeline(strategy, REGION, 8, 2);
        for (int i = 0; i < 8; i++) {
            p.add(i, 64L * i);
        }
        assertFalse(p.hasRoom());
        p.issue();
        assertEquals(1, strategy.calls);
        assertEquals(8, strategy.issued.size());
        assertEquals(0, p.probeCount(), "depth 2: nothing to probe after the first issue");
        p.endProbe();
        p.issue();
        assertEquals(0, p.probeCount());
        p.endProbe();
        p.issue();
        assertEquals(8, p.probeCount());
        assertEquals(1, strategy.calls, "empty batches issue no downcall");
    }

    @Test
    void clearForgetsTheRequestsInFlightAndTheirHops() {
        Recording strategy = new Recording();
        BatchPipeline p = new BatchPipeline(strategy, REGION, 4, 2);
        // Fill every batch: one probed and re-queued (so it carries hops), two in flight.
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 4; i++) {
                p.add(100 + 4 * round + i, 64L * i);
            }
            p.issue();
            for (int j = 0; j < p.probeCount(); j++) {
                p.requeue(j, 64L * 1000);
            }
            p.endProbe();
        }
        assertEquals(12, p.pending(), "four re-queued and eight in flight");
        p.clear();
        assertTrue(p.isEmpty());
        assertEquals(0, p.pending());

        // As good as new: only the requests added after the clear come out, each with no hops.
        int[] lengths = {1, 2, 1, 3, 1};
        List<long[]> probes = drive(p, lengths);
        assertEquals(8, probes.size(), "the new requests' lines, and nothing left from before");
        for (long[] probe : probes) {
            assertTrue(probe[0] < lengths.length, "a request from before the clear came out: " + probe[0]);
        }
    }

    @Test
    void misuseIsReported() {
        assertThrows(IllegalArgumentException.class, () -> new BatchPipeline(TouchPrefetch.INSTANCE, REGION, 0));
        assertThrows(IllegalArgumentException.class,
                () -> new BatchPipeline(TouchPrefetch.INSTANCE, REGION, BatchPipeline.MAX_BATCH + 1));
        assertThrows(IllegalArgumentException.class, () -> new BatchPipeline(TouchPrefetch.INSTANCE, REGION, 4, 0));
        BatchPipeline p = new BatchPipeline(TouchPrefetch.INSTANCE, REGION, 1);
        p.add(0, 0);
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> p.add(1, 64));
        assertTrue(full.getMessage().contains("full"), full.getMessage());
        p.issue();
        assertThrows(IllegalStateException.class, () -> p.add(1, 64), "no add during a probe");
        assertThrows(IllegalStateException.class, p::issue, "no issue before endProbe");
        p.endProbe();
        p.clear();
        assertTrue(p.isEmpty());

        // in-place appends: the same as add()
        BatchPipeline q = new BatchPipeline(TouchPrefetch.INSTANCE, REGION, 4);
        q.add(7, 64);
        q.buildTags()[1] = 8;
        q.buildOffsets()[1] = 128;
        q.setBuildCount(2);
        assertEquals(2, q.buildCount());
        assertThrows(IllegalStateException.class, () -> q.setBuildCount(1), "cannot drop requests");
        assertThrows(IllegalStateException.class, () -> q.setBuildCount(5), "beyond the batch");
        q.issue();
        assertThrows(IllegalStateException.class, () -> q.setBuildCount(3), "not during a probe");
        q.endProbe();
        q.issue();
        assertEquals(2, q.probeCount());
        assertEquals(8, q.tag(1));
        assertEquals(128, q.offset(1));
        assertEquals(0, q.hops(1));
    }

    @Test
    void anEmptyPipelineCanBeRetargetedAndABusyOneCannot() {
        Recording strategy = new Recording();
        BatchPipeline p = new BatchPipeline(strategy, REGION, 4, 1);
        assertEquals(1, p.depth());
        assertSame(strategy, p.strategy());
        p.add(0, 64);
        IllegalStateException busy = assertThrows(IllegalStateException.class, () -> p.retarget(REGION));
        assertTrue(busy.getMessage().contains("1 requests pending"), busy.getMessage());
        p.issue();
        assertThrows(IllegalStateException.class, () -> p.retarget(REGION), "not during a probe");
        p.endProbe();
        p.issue();
        assertEquals(1, p.probeCount());
        p.endProbe();
        assertTrue(p.isEmpty());
        p.retarget(MemorySegment.NULL);
        p.retarget(REGION);
        p.add(5, 128);
        p.issue();
        p.endProbe();
        p.issue();
        assertEquals(5, p.tag(0));
        assertEquals(128, p.offset(0));
        assertThrows(NullPointerException.class, () -> new BatchPipeline(strategy, REGION, 4).retarget(null));
    }

    @Test
    void aClosedRegionThrowsOnIssue() {
        Arena arena = Arena.ofShared();
        MemorySegment region = arena.allocate(4096, 64);
        for (PrefetchStrategy s : new PrefetchStrategy[]{TouchPrefetch.INSTANCE, Prefetchers.selected()}) {
            BatchPipeline p = new BatchPipeline(s, region, 4);
            p.add(0, 0);
            if (arena.scope().isAlive()) {
                arena.close();
            }
            assertThrows(IllegalStateException.class, p::issue, s.name());
        }
    }
}
