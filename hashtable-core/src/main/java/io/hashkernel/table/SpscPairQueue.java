package io.hashkernel.table;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded single-producer single-consumer queue of 16-byte messages (two {@code long}s), the
 * channel from one producer thread to one owner of a {@link PartitionedLongLongTable}. In the
 * style of JCTools' {@code SpscArrayQueue} and Agrona's ring buffers: a power-of-two ring of
 * 32-byte slots {@code [sequence, first, second, -]}. The producer writes a message's two words,
 * then publishes the slot by a release store of its sequence ({@code position + 1}); the consumer
 * reads a slot when an acquire load shows that sequence, hands the words on, and frees the slot
 * by a release store of 0. Neither side reads a counter the other writes on every message: the
 * consumer looks only at the slot it is about to read, and the producer checks a slot some way
 * ahead and then writes up to it without looking (JCTools' look-ahead). The consumer publishes
 * how far it got once per {@link #drain}, for {@link #consumedPosition()}.
 *
 * <p>Guarantees: messages come out in the order they went in; a message's two words are read
 * whole (they are written before the release of the slot's sequence); the consumer's position is
 * published only after the handler returned (or threw) for every message before it and for
 * {@link Handler#endOfBatch()}, so {@link #consumedPosition()} counts messages <em>handled</em>.
 *
 * <p>Written by hand rather than taken from Agrona or JCTools: on JDK 25 Agrona 2.x needs
 * {@code --add-opens java.base/jdk.internal.misc} and JCTools uses {@code sun.misc.Unsafe}
 * (a warning at start-up unless the user passes a flag), and JCTools' queues carry objects, not
 * pairs of longs; {@code QueueBench} measures the three (see ARCHITECTURE.md).
 */
final class SpscPairQueue {
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int SLOT = 4;                 // longs a slot: sequence, first, second, padding
    /** Longs in 128 bytes: two cache lines, so that the adjacent-line prefetcher shares none. */
    private static final int PAD = 128 / Long.BYTES;
    // The counters, PAD longs apart and PAD from either end: the producer's private ones, then
    // the consumer's published head and its private position.
    private static final int PRODUCER_POSITION = PAD;
    private static final int PRODUCER_LIMIT = PRODUCER_POSITION + 1;
    private static final int HEAD = PRODUCER_POSITION + PAD;
    private static final int CONSUMER_POSITION = HEAD + 1;
    private static final int COUNTERS = HEAD + PAD;

    /** What the consumer does with a message. */
    @FunctionalInterface
    interface Handler {
        /** One message, in order. */
        void onMessage(long first, long second);

        /**
         * Called after the last message of a {@link #drain} and before the drain publishes them
         * as consumed: a handler that collects messages applies them here.
         */
        default void endOfBatch() {
        }
    }

    private final long[] ring;
    private final int mask;
    private final int lookAhead;
    private final long[] counters = new long[COUNTERS];

    /** A queue of {@code capacity} messages, a power of two from 2 to 2^26. */
    public SpscPairQueue(int capacity) {
        if (capacity < 2 || Integer.bitCount(capacity) != 1 || capacity > 1 << 26) {
            throw new IllegalArgumentException("queue capacity must be a power of two from 2 to 2^26 messages, was "
                    + capacity);
        }
        this.ring = new long[SLOT * capacity];
        this.mask = capacity - 1;
        this.lookAhead = Math.max(1, Math.min(capacity / 4, 64));
    }

    /** Messages it holds at most. */
    public int capacity() {
        return mask + 1;
    }

    private int slot(long position) {
        return (int) (position & mask) * SLOT;
    }

    /** Producer: appends a message; false when full. */
    public boolean offer(long first, long second) {
        long[] c = counters;
        long p = c[PRODUCER_POSITION];
        if (p >= c[PRODUCER_LIMIT]) {
            // Is the slot lookAhead messages on free? Then so are all before it (freed in order).
            if (lvSequence(slot(p + lookAhead - 1)) == 0) {
                c[PRODUCER_LIMIT] = p + lookAhead;
            } else if (lvSequence(slot(p)) != 0) {
                return false;
            }
        }
        int at = slot(p);
        ring[at + 1] = first;
        ring[at + 2] = second;
        soSequence(at, p + 1);
        c[PRODUCER_POSITION] = p + 1;
        return true;
    }

    /** Producer: messages offered so far (the position a later {@link #consumedPosition()} must reach). */
    public long producedPosition() {
        return counters[PRODUCER_POSITION];
    }

    /**
     * Consumer: hands up to {@code limit} messages to {@code handler}, oldest first, then calls
     * {@link Handler#endOfBatch()} and publishes them as consumed; returns how many. A message
     * is consumed once it is handed over: if the handler throws, the messages handed over so far
     * still get their {@code endOfBatch()} and are published, the queue stays usable, and the
     * exception propagates (a handler that must not lose messages records its failures itself).
     */
    public int drain(Handler handler, int limit) {
        long[] c = counters;
        long h = c[CONSUMER_POSITION];
        int n = 0;
        try {
            while (n < limit) {
                int at = slot(h + n);
                if (lvSequence(at) != h + n + 1) {
                    break;
                }
                long first = ring[at + 1];
                long second = ring[at + 2];
                soSequence(at, 0L);
                n++;
                handler.onMessage(first, second);
            }
        } finally {
            if (n > 0) {
                try {
                    handler.endOfBatch();
                } finally {
                    c[CONSUMER_POSITION] = h + n;
                    soHead(h + n);
                }
            }
        }
        return n;
    }

    /** Any thread: messages the consumer has handled and published. */
    public long consumedPosition() {
        return lvHead();
    }

    /** Load (acquire) of the consumer's published head. */
    private long lvHead() {
        return (long) LONGS.getAcquire(counters, HEAD);
    }

    /** Store (release) of the consumer's head: every message before it has been handled. */
    private void soHead(long head) {
        LONGS.setRelease(counters, HEAD, head);
    }

    /** Load (acquire) of the sequence word of the slot at {@code at}: 0 free, else position + 1. */
    private long lvSequence(int at) {
        return (long) LONGS.getAcquire(ring, at);
    }

    /** Store (release) of the sequence word of the slot at {@code at}. */
    private void soSequence(int at, long sequence) {
        LONGS.setRelease(ring, at, sequence);
    }

    /** Producer (or a quiescent queue): messages offered and not yet consumed. */
    public long pending() {
        return producedPosition() - consumedPosition();
    }
}
