package io.hashkernel.prefetch.batch;

import io.hashkernel.prefetch.PrefetchStrategy;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * Double-buffered batches of memory probes, so that the DRAM misses of one batch overlap the work
 * on the previous one. Knows nothing about what is probed: each request is a caller-chosen
 * {@code int} tag (an index into the caller's own arrays) and the byte offset of the cache line it
 * needs next.
 *
 * <p>One round of the caller's loop:
 * <ol>
 *   <li>{@link #add} requests while {@link #hasRoom()}: they join the batch being built, behind the
 *       requests re-queued by the previous round;</li>
 *   <li>{@link #issue()}: one {@link PrefetchStrategy#prefetch} call for the whole built batch
 *       (one downcall, not one per request); the batch issued by the previous round becomes the
 *       batch to probe;</li>
 *   <li>for {@code j < }{@link #probeCount()}: probe {@link #offset(int) offset(j)}, whose line has
 *       had one round to arrive; a probe that must go on into another line calls
 *       {@link #requeue(int, long) requeue(j, nextOffset)}, which prefetches that line in the next
 *       batch instead of waiting for it now;</li>
 *   <li>{@link #endProbe()}: the re-queued requests head the next batch.</li>
 * </ol>
 * Repeat until {@link #isEmpty()} and the caller has nothing more to add.
 *
 * <p>Order: requests are probed in the order they were added, and a re-queued request keeps its
 * place relative to later requests: if request A's probe of a line precedes request B's probe of
 * the same line, A's probe of every later line precedes B's too. A caller whose requests follow
 * the same sequence of lines (the same key) therefore sees them take effect in submission order.
 *
 * <p>At most {@code (depth + 1) * batch} requests are in the pipeline at once: the batches in
 * flight and the batch being built (or probed). Not thread-safe: one
 * pipeline per thread.
 */
public final class BatchPipeline {
    /** The largest batch. */
    public static final int MAX_BATCH = 4096;

    private final PrefetchStrategy strategy;
    private MemorySegment region;
    private final int batch;
    private final int depth;

    // The batch being built: it starts with the requests re-queued by the last round. During a
    // probe (between issue() and endProbe()) it holds the batch being probed instead, and
    // re-queued requests are compacted in place at its front. Its arrays are also kept in fields
    // of their own, which the callers' loops read once a round.
    private Batch build;
    private int[] buildTags;
    private long[] buildOffsets;
    private int[] buildHops;
    private int buildCount;
    // The batches issued (prefetched) by the last `depth` issue() calls, oldest at flightHead:
    // each is probed `depth` rounds after it was issued.
    private final Batch[] flight;
    private int flightHead;
    private int flightCount;
    private int probeCount;
    private int requeued;
    // batch, or 0 during a probe (between issue() and endProbe()): one comparison tells whether
    // add() may append.
    private int addLimit;

    /**
     * A double-buffered pipeline over {@code region} issuing batches of at most {@code batch}
     * requests: a batch is probed one round after it was prefetched.
     *
     * @throws IllegalArgumentException if {@code batch} is not between 1 and {@value #MAX_BATCH}
     */
    public BatchPipeline(PrefetchStrategy strategy, MemorySegment region, int batch) {
        this(strategy, region, batch, 1);
    }

    /**
     * A pipeline over {@code region} issuing batches of at most {@code batch} requests, each probed
     * {@code depth} rounds after it was prefetched ({@code depth} batches in flight).
     *
     * @throws IllegalArgumentException if {@code batch} is not between 1 and {@value #MAX_BATCH}, or
     *                                  {@code depth} not between 1 and {@value #MAX_DEPTH}
     */
    public BatchPipeline(PrefetchStrategy strategy, MemorySegment region, int batch, int depth) {
        this.strategy = Objects.requireNonNull(strategy, "strategy");
        this.region = Objects.requireNonNull(region, "region");
        checkBatch(batch);
        checkDepth(depth);
        this.batch = batch;
        this.depth = depth;
        use(new Batch(batch));
        addLimit = batch;
        flight = new Batch[depth];
        for (int i = 0; i < depth; i++) {
            flight[i] = new Batch(batch);
        }
    }

    /**
     * One batch's requests, swapped whole between building and flight. A final class, so that
     * storing one into the flight array needs no type check. A store into an array of an
     * interface type, such as views in a {@code MemorySegment[]}, is compiled with a guess at the
     * element's class; a guess that misses, as it does when a new thread makes its pipeline,
     * sends the compiled caller into which the pipeline is inlined (the table's bulk loop) back
     * to the interpreter until it is compiled again.
     */
    private static final class Batch {
        final int[] tags;
        final long[] offsets;
        final MemorySegment view; // MemorySegment.ofArray(offsets), made once
        final int[] hops;
        /** The requests of this batch while in flight; set by {@code issue()}, stale otherwise. */
        int count;

        Batch(int size) {
            tags = new int[size];
            offsets = new long[size];
            view = MemorySegment.ofArray(offsets);
            hops = new int[size];
        }
    }

    /** Makes {@code b} the batch being built. */
    private void use(Batch b) {
        build = b;
        buildTags = b.tags;
        buildOffsets = b.offsets;
        buildHops = b.hops;
    }

    /** The depth (batches in flight) this pipeline was made with. */
    public int depth() {
        return depth;
    }

    /** The strategy it prefetches with. */
    public PrefetchStrategy strategy() {
        return strategy;
    }

    /**
     * Points this empty pipeline at another region, so that one pipeline can serve call after
     * call (and table after table) without being allocated again.
     *
     * @throws IllegalStateException if requests are in the pipeline or a probe is under way
     */
    public void retarget(MemorySegment region) {
        if (!isEmpty() || probing()) {
            throw new IllegalStateException("retarget() of a pipeline in use: " + pending() + " requests pending");
        }
        this.region = Objects.requireNonNull(region, "region");
    }

    /** The most batches in flight. */
    public static final int MAX_DEPTH = 8;

    /**
     * Checks a batch size.
     *
     * @return {@code batch}
     * @throws IllegalArgumentException if it is not between 1 and {@value #MAX_BATCH}
     */
    public static int checkBatch(int batch) {
        if (batch < 1 || batch > MAX_BATCH) {
            throw new IllegalArgumentException("batch must be between 1 and " + MAX_BATCH + " requests, was " + batch);
        }
        return batch;
    }

    /**
     * Checks a depth (batches in flight).
     *
     * @return {@code depth}
     * @throws IllegalArgumentException if it is not between 1 and {@value #MAX_DEPTH}
     */
    public static int checkDepth(int depth) {
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("depth must be between 1 and " + MAX_DEPTH + " batches, was " + depth);
        }
        return depth;
    }

    /** The batch size this pipeline was made with. */
    public int batch() {
        return batch;
    }

    /** Whether the batch being built can take another request now. */
    public boolean hasRoom() {
        return buildCount < addLimit;
    }

    /**
     * Adds a request to the batch being built.
     *
     * @param tag    the caller's name for the request, handed back by {@link #tag(int)}
     * @param offset byte offset in the region of the first line the request reads
     * @throws IllegalStateException if the batch is full or a probe is under way ({@link #hasRoom()} is false)
     */
    public void add(int tag, long offset) {
        int n = buildCount;
        if (n >= addLimit) {
            throw new IllegalStateException(probing() ? "add() during a probe: call endProbe() first"
                    : "batch is full (" + batch + " requests): issue() it first");
        }
        buildTags[n] = tag;
        buildOffsets[n] = offset;
        buildCount = n + 1; // buildHops[n] is 0 already: see endProbe()
    }

    /**
     * Requests in the batch being built. With {@link #buildTags()}, {@link #buildOffsets()} and
     * {@link #setBuildCount} a loop can append requests in place, as {@link #add} does one at a time.
     */
    public int buildCount() {
        return buildCount;
    }

    /** The tags of the batch being built: a caller may write elements {@code [buildCount(), batch())}. */
    public int[] buildTags() {
        return buildTags;
    }

    /** The offsets of the batch being built, as {@link #buildTags()}. */
    public long[] buildOffsets() {
        return buildOffsets;
    }

    /**
     * Declares the first {@code count} requests of {@link #buildTags()} and {@link #buildOffsets()}
     * the batch being built (new ones start with no hops).
     *
     * @throws IllegalStateException if a probe is under way, or {@code count} is below the current
     *                               count or above the batch size
     */
    public void setBuildCount(int count) {
        if (count < buildCount || count > addLimit) {
            throw new IllegalStateException(probing() ? "requests added during a probe: call endProbe() first"
                    : "build count " + count + " outside [" + buildCount + ", " + batch + "]");
        }
        buildCount = count;
    }

    /**
     * Prefetches the batch being built (one {@link PrefetchStrategy#prefetch} call) and starts the
     * probe of the batch issued by the previous call, whose lines have had a round to arrive.
     *
     * @throws IllegalStateException if the previous probe was not ended, or the region is closed
     */
    public void issue() {
        issue(false);
    }

    /**
     * As {@link #issue()}; where {@code forWrite}, the lines are prefetched for writing
     * ({@link PrefetchStrategy#prefetchForWrite}): the probes will write them.
     *
     * @throws IllegalStateException if the previous probe was not ended, or the region is closed
     */
    public void issue(boolean forWrite) {
        if (probing()) {
            throw new IllegalStateException("the previous probe was not ended: call endProbe() before issue()");
        }
        Batch issued = build;
        if (buildCount > 0) {
            if (forWrite) {
                strategy.prefetchForWrite(region, issued.offsets, issued.view, buildCount);
            } else {
                strategy.prefetch(region, issued.offsets, issued.view, buildCount);
            }
        }
        int head = flightHead;
        Batch probed = flight[head];
        probeCount = probed.count;
        issued.count = buildCount;
        flight[head] = issued;
        flightCount += buildCount - probeCount;
        flightHead = head + 1 == flight.length ? 0 : head + 1;
        use(probed);
        buildCount = 0;
        requeued = 0;
        addLimit = 0;
    }

    private boolean probing() {
        return addLimit == 0;
    }

    /** Requests in the batch being probed. */
    public int probeCount() {
        return probeCount;
    }

    /**
     * The tags of the batch being probed, for a loop that keeps them in a local: element
     * {@code j < }{@link #probeCount()} is {@link #tag(int) tag(j)}. Valid until {@link #endProbe()};
     * only {@link #requeue} may change it.
     */
    public int[] probeTags() {
        return buildTags;
    }

    /** The offsets of the batch being probed, as {@link #probeTags()}: element {@code j} is {@link #offset(int) offset(j)}. */
    public long[] probeOffsets() {
        return buildOffsets;
    }

    /** The tag of request {@code j} of the batch being probed. */
    public int tag(int j) {
        return buildTags[j];
    }

    /** The line offset request {@code j} reads now (prefetched one round ago). */
    public long offset(int j) {
        return buildOffsets[j];
    }

    /** How many times request {@code j} has been re-queued: the lines it has read before this one. */
    public int hops(int j) {
        return buildHops[j];
    }

    /**
     * Sends request {@code j} of the batch being probed on to the line at {@code nextOffset}: it
     * heads the next batch, is prefetched with it, and is probed the round after. Call at most
     * once per request, in increasing {@code j}.
     */
    public void requeue(int j, long nextOffset) {
        int r = requeued;
        // r <= j, so compacting in place never overwrites a request not yet probed.
        buildTags[r] = buildTags[j];
        buildOffsets[r] = nextOffset;
        buildHops[r] = buildHops[j] + 1;
        requeued = r + 1;
    }

    /** Ends the probe: its re-queued requests head the next batch to build. */
    public void endProbe() {
        // New requests start with no hops: clear the counts behind the re-queued ones here, once
        // per round, rather than in every add().
        Arrays.fill(buildHops, requeued, batch, 0);
        buildCount = requeued;
        probeCount = 0;
        requeued = 0;
        addLimit = batch;
    }

    /** Whether no request is in the pipeline. */
    public boolean isEmpty() {
        return buildCount == 0 && flightCount == 0 && probeCount == 0;
    }

    /** Requests in the pipeline between rounds (built, in flight or re-queued). */
    public int pending() {
        return buildCount + flightCount + probeCount;
    }

    /** Forgets every request, e.g. after a probe failed with an exception. */
    public void clear() {
        buildCount = 0;
        flightCount = 0;
        probeCount = 0;
        requeued = 0;
        addLimit = batch;
        Arrays.fill(buildHops, 0);
        for (Batch b : flight) {
            b.count = 0;
            Arrays.fill(b.hops, 0);
        }
    }
}
