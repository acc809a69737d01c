package io.hashkernel.table;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.jctools.queues.SpscArrayQueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Control;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * The partitioned table's channel: one producer sends 16-byte messages (key, value) to one
 * consumer, through Agrona's {@code OneToOneRingBuffer} (zero-copy claim/commit), JCTools'
 * {@code SpscArrayQueue} (a small object per message) or HashKernel's {@link SpscPairQueue}
 * (two longs per slot). Each group is one producer and one consumer thread; the producer's score
 * is messages sent per microsecond (it waits while the queue is full, until JMH ends the
 * iteration), the consumer's is drain calls. Queues of 1024 messages.
 */
@State(Scope.Group)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--sun-misc-unsafe-memory-access=allow", "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
        "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"})
public class QueueBench {
    static final int MESSAGES = 1024;

    private RingBuffer agrona;
    private SpscArrayQueue<Message> jctools;
    private SpscPairQueue pairs;
    private long next;
    private long sink;

    /** A JCTools message. */
    record Message(long key, long value) {
    }

    /** Builds the three queues. */
    @Setup(Level.Trial)
    public void setUp() {
        int bytes = MESSAGES * 32 + RingBufferDescriptor.TRAILER_LENGTH;
        agrona = new OneToOneRingBuffer(new UnsafeBuffer(ByteBuffer.allocateDirect(bytes)));
        jctools = new SpscArrayQueue<>(MESSAGES);
        pairs = new SpscPairQueue(MESSAGES);
    }

    /** Agrona: claim 16 bytes, write the pair, commit. */
    @Benchmark
    @Group("agrona")
    @GroupThreads(1)
    public void agronaSend(Control control) {
        long k = next++;
        int at;
        while ((at = agrona.tryClaim(1, 16)) < 0) {
            if (control.stopMeasurement) {
                return;             // the consumer may have stopped: do not wait for it
            }
            Thread.onSpinWait();
        }
        agrona.buffer().putLong(at, k);
        agrona.buffer().putLong(at + 8, ~k);
        agrona.commit(at);
    }

    /** Agrona: read up to 64 messages. */
    @Benchmark
    @Group("agrona")
    @GroupThreads(1)
    public int agronaReceive() {
        return agrona.read((type, buffer, index, length) -> sink += buffer.getLong(index) ^ buffer.getLong(index + 8),
                64);
    }

    /** JCTools: offer a new message object. */
    @Benchmark
    @Group("jctools")
    @GroupThreads(1)
    public void jctoolsSend(Control control) {
        long k = next++;
        Message m = new Message(k, ~k);
        while (!jctools.offer(m) && !control.stopMeasurement) {
            Thread.onSpinWait();
        }
    }

    /** JCTools: drain up to 64 messages. */
    @Benchmark
    @Group("jctools")
    @GroupThreads(1)
    public int jctoolsReceive() {
        return jctools.drain(m -> sink += m.key() ^ m.value(), 64);
    }

    /** HashKernel: offer the pair. */
    @Benchmark
    @Group("pairs")
    @GroupThreads(1)
    public void pairsSend(Control control) {
        long k = next++;
        while (!pairs.offer(k, ~k) && !control.stopMeasurement) {
            Thread.onSpinWait();
        }
    }

    /** HashKernel: drain up to 64 pairs. */
    @Benchmark
    @Group("pairs")
    @GroupThreads(1)
    public int pairsReceive() {
        return pairs.drain((a, b) -> sink += a ^ b, 64);
    }
}
