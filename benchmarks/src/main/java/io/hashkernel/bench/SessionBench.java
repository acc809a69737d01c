package io.hashkernel.bench;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.LongLongSession;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * HashKernel's asynchronous pipeline (DRAMHiT §3.1): 1024 requests submitted with ids through a
 * {@link LongLongSession}, results polled as they complete. Throughput in requests per microsecond.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JmhMaps.NATIVE_ACCESS, JmhMaps.VECTOR})
public class SessionBench {
    static final int REQUESTS = 1024;

    /** Entries loaded. */
    @Param({"16000000"})
    public long entries;

    /** Batch (prefetch window) of the session. */
    @Param({"64"})
    public int batch;

    private ConcurrentLongLongTable table;
    private LongLongSession session;
    private final long[] ids = new long[REQUESTS];
    private final long[] results = new long[REQUESTS];
    private long state = 42;

    /** Builds and loads the table and opens this thread's session. */
    @Setup(Level.Trial)
    public void setUp() {
        table = ConcurrentLongLongTable.builder().capacity(entries * 4 / 3 + 64).missingValue(Keys.MISSING)
                .batch(batch).build();
        for (long i = 0; i < entries; i++) {
            table.put(Keys.key(i), Keys.value(i));
        }
        session = table.session();
    }

    /** Frees the table. */
    @TearDown(Level.Trial)
    public void tearDown() {
        table.close();
    }

    /** 1024 lookups submitted, flushed and polled. */
    @Benchmark
    @OperationsPerInvocation(REQUESTS)
    public long get() {
        long s = state;
        long sum = 0;
        for (int i = 0; i < REQUESTS; i++) {
            s = Keys.next(s);
            session.get(i, Keys.key(Keys.below(s, entries)));
            if (session.completed() >= 256) {
                sum += drain();
            }
        }
        session.flush();
        state = s;
        return sum + drain();
    }

    /** 1024 requests, 90 % lookups and 10 % puts over present keys, flushed and polled. */
    @Benchmark
    @OperationsPerInvocation(REQUESTS)
    public long mixed() {
        long s = state;
        long sum = 0;
        for (int i = 0; i < REQUESTS; i++) {
            s = Keys.next(s);
            long index = Keys.below(s, entries);
            s = Keys.next(s);
            if (Keys.below(s, 10) < 9) {
                session.get(i, Keys.key(index));
            } else {
                session.put(i, Keys.key(index), Keys.value(index));
            }
            if (session.completed() >= 256) {
                sum += drain();
            }
        }
        session.flush();
        state = s;
        return sum + drain();
    }

    private long drain() {
        long sum = 0;
        for (int n; (n = session.poll(ids, results)) > 0; ) {
            for (int i = 0; i < n; i++) {
                sum += results[i];
            }
        }
        return sum;
    }
}
