package io.hashkernel.bench.kernel;

import io.hashkernel.kernel.Domain;
import io.hashkernel.kernel.DomainContext;
import io.hashkernel.kernel.XRef;
import io.hashkernel.table.ConcurrentLongLongTable;

/** {@link Echo} with a table in its domain's frames; objects it is given go back to {@code caller}. */
public final class EchoService implements Echo {
    private final ConcurrentLongLongTable table;
    private final Domain<?> caller;

    /** A service in the domain of {@code ctx}, handing objects back to {@code caller}. */
    public EchoService(DomainContext ctx, Domain<?> caller) {
        this.table = ConcurrentLongLongTable.builder().capacity(1 << 16).missingValue(-1).memory(ctx.memory()).build();
        this.caller = caller;
    }

    @Override
    public long ping(long x) {
        return x;
    }

    @Override
    public long store(long x) {
        long key = (x >>> 32) << 8 | (x & 255);     // 256 keys for each caller (its number in the high half)
        table.put(key, x);
        return table.get(key);
    }

    @Override
    public long first(XRef data) {
        return data.getLong(0);
    }

    @Override
    public XRef bounce(XRef data) {
        return data.moveTo(caller).orElseThrow();
    }

    @Override
    public long measure(Vec v) {
        v.length = Math.abs(v.x) + Math.abs(v.y);
        return v.length;
    }

    @Override
    public void crash() {
        throw new IllegalStateException("crashed on purpose");
    }
}
