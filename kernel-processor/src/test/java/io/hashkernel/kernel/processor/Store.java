package io.hashkernel.kernel.processor;

import io.hashkernel.kernel.Borrowed;
import io.hashkernel.kernel.DomainService;
import io.hashkernel.kernel.Projected;
import io.hashkernel.kernel.XRef;

import java.io.IOException;

/** A domain service exercising every kind of argument the proxy generator handles. */
@DomainService
public interface Store {
    long put(long key, long value);

    long get(long key);

    void fail(String why);

    /** Takes the object (moved in): sums its first {@code n} longs and keeps it. */
    long take(XRef data, int n);

    /** Reads a lent object. */
    long peek(@Borrowed XRef data);

    /** Tries to write a lent object (refused). */
    void scribble(@Borrowed XRef data);

    /** Keeps the lent handle beyond the call. */
    void keep(@Borrowed XRef data);

    /** Sets v.length from x and y; also changes x, which is not copied back; sees secret as 0. */
    long measure(@Projected(reads = {"x", "y"}, writes = {"length"}) Vec v);

    long declared(boolean fail) throws IOException;

    default long twice(long key) {
        return 2 * get(key);
    }

    /** A nested service: its proxy is Store_AdminProxy. */
    @DomainService
    interface Admin {
        int restarts();
    }
}
