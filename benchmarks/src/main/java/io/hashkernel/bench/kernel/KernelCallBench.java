package io.hashkernel.bench.kernel;

import io.hashkernel.kernel.ContainerId;
import io.hashkernel.kernel.Domain;
import io.hashkernel.kernel.DomainSpec;
import io.hashkernel.kernel.Frame;
import io.hashkernel.kernel.FrameSize;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.Quota;
import io.hashkernel.kernel.RestartPolicy;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.XRef;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Cross-domain calls through a generated proxy beside a plain interface call, and frame
 * allocation: nanoseconds per operation, one thread. The proxy's calls: empty, with one
 * exchange-heap object lent ({@code @Borrowed}), with one moved in and back (two moves), and
 * with a projected argument.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class KernelCallBench {
    private Kernel kernel;
    private ContainerId container;
    private Echo plain;
    private EchoProxy proxy;
    private XRef object;
    private final Vec vec = new Vec();
    private long x;

    /** Boots a kernel with a caller domain and an echo domain. */
    @Setup(Level.Trial)
    public void setUp() {
        kernel = Kernel.builder().memoryBytes(64L << 20).build();
        container = kernel.newContainer(kernel.root(), new Quota(4096, 8, 64)).orElseThrow();
        Domain<Runnable> caller = kernel.newDomain(container, new DomainSpec<>("caller", Runnable.class,
                ctx -> () -> { }, RestartPolicy.never())).orElseThrow();
        Domain<Echo> echo = kernel.newDomain(container, new DomainSpec<>("echo", Echo.class,
                ctx -> new EchoService(ctx, caller), RestartPolicy.always())).orElseThrow();
        plain = echo.call(s -> s).orElseThrow();
        proxy = new EchoProxy(echo);
        object = kernel.allocateShared(caller, 64).orElseThrow();
        object.setLong(0, 7);
        vec.x = 3;
        vec.y = 4;
    }

    /** Closes the kernel. */
    @TearDown(Level.Trial)
    public void tearDown() {
        kernel.close();
    }

    /** A plain interface call on the same service object, for comparison. */
    @Benchmark
    public long plainCall() {
        return plain.ping(x++);
    }

    /** An empty call through the proxy. */
    @Benchmark
    public Result<Long> proxyCall() {
        return proxy.ping(x++);
    }

    /** A call lending one exchange-heap object, read by the callee. */
    @Benchmark
    public Result<Long> proxyCallBorrowedObject() {
        return proxy.first(object);
    }

    /** A call moving one exchange-heap object in and back (two moves, each a kernel call). */
    @Benchmark
    public XRef proxyCallMovedObject() {
        object = proxy.bounce(object).orElseThrow();
        return object;
    }

    /** A call with a projected argument (two fields in, one back). */
    @Benchmark
    public Result<Long> proxyCallProjection() {
        vec.x = x++;
        return proxy.measure(vec);
    }

    /** One 4 KiB frame allocated and freed. */
    @Benchmark
    public Result<Void> frameAllocateFree() {
        Frame f = kernel.allocateFrame(container, FrameSize.SMALL).orElseThrow();
        return kernel.freeFrame(container, f);
    }
}
