package io.hashkernel.bench.kernel;

import io.hashkernel.kernel.Borrowed;
import io.hashkernel.kernel.DomainService;
import io.hashkernel.kernel.Projected;
import io.hashkernel.kernel.XRef;

/** The service the kernel benchmarks call across domains; its proxy, EchoProxy, is generated. */
@DomainService
public interface Echo {
    /** An empty call: returns its argument. */
    long ping(long x);

    /**
     * Stores {@code x} in the domain's table and reads it back: a call that touches domain memory.
     * The high half of {@code x} names the caller (below 64), whose 256 keys no other caller writes.
     */
    long store(long x);

    /** Reads the first long of a lent object. */
    long first(@Borrowed XRef data);

    /** Takes an object and hands it back to the caller's domain. */
    XRef bounce(XRef data);

    /** Sets {@code v.length} from {@code v.x} and {@code v.y}. */
    long measure(@Projected(reads = {"x", "y"}, writes = {"length"}) Vec v);

    /** Fails: throws in the middle of the call. */
    void crash();
}
