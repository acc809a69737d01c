package io.hashkernel.kernel.processor;

import io.hashkernel.kernel.ContainerId;
import io.hashkernel.kernel.Domain;
import io.hashkernel.kernel.DomainContext;
import io.hashkernel.kernel.DomainProxy;
import io.hashkernel.kernel.DomainSpec;
import io.hashkernel.kernel.FrameSize;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.Quota;
import io.hashkernel.kernel.RestartPolicy;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.XRef;
import io.hashkernel.table.ConcurrentLongLongTable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.UndeclaredThrowableException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The generated proxies at run time: results instead of exceptions, moves, borrows, projections. */
class ProxyTest {
    /** The service: a table in the domain's frames, and what it was handed. */
    static final class StoreService implements Store {
        final ConcurrentLongLongTable table;
        final List<XRef> kept = new ArrayList<>();
        final long[] lastSecret = {-1};

        StoreService(DomainContext ctx) {
            table = ConcurrentLongLongTable.builder().capacity(256).memory(ctx.memory()).build();
        }

        @Override
        public long put(long key, long value) {
            return table.put(key, value);
        }

        @Override
        public long get(long key) {
            return table.get(key);
        }

        @Override
        public void fail(String why) {
            throw new IllegalStateException(why);
        }

        @Override
        public long take(XRef data, int n) {
            kept.add(data);
            long sum = 0;
            for (int i = 0; i < n; i++) {
                sum += data.getLong(8L * i);
            }
            return sum;
        }

        @Override
        public long peek(XRef data) {
            return data.getLong(0);
        }

        @Override
        public void scribble(XRef data) {
            data.setLong(0, -1);
        }

        @Override
        public void keep(XRef data) {
            kept.add(data);
        }

        @Override
        public long measure(Vec v) {
            lastSecret[0] = v.secret;
            v.length = Math.abs(v.x) + Math.abs(v.y);
            v.x = 1000;
            return v.length;
        }

        @Override
        public long declared(boolean fail) throws IOException {
            if (fail) {
                throw new IOException("declared failure");
            }
            return 1;
        }
    }

    private Kernel kernel;
    private ContainerId container;
    private Domain<Store> domain;
    private Domain<Runnable> client;
    private StoreProxy store;

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(8 * FrameSize.HUGE.bytes()).build();
        container = kernel.newContainer(kernel.root(), new Quota(64, 4, 16)).orElseThrow();
        domain = kernel.newDomain(container, new DomainSpec<>("store", Store.class, StoreService::new,
                RestartPolicy.always())).orElseThrow();
        client = kernel.newDomain(container, new DomainSpec<>("client", Runnable.class, ctx -> () -> { },
                RestartPolicy.never())).orElseThrow();
        store = new StoreProxy(domain);
    }

    @AfterEach
    void close() {
        assertEquals(List.of(), kernel.checkInvariants());
        kernel.close();
    }

    @Test
    void callsReturnResultsAndAFailureRestartsTheDomain() {
        assertEquals(0L, store.put(1, 10).orElseThrow());
        assertEquals(10L, store.get(1).orElseThrow());
        Result<Void> failed = store.fail("on purpose");
        Result.Err<?> e = assertInstanceOf(Result.Err.class, failed);
        assertEquals(KernelError.DOMAIN_FAILED, e.error());
        assertEquals("on purpose", e.cause().getMessage());
        assertEquals(0L, store.get(1).orElseThrow(), "the restarted domain starts empty");
        assertEquals(1, domain.restarts());
        assertEquals(1L, store.declared(false).orElseThrow());
        Result.Err<?> checked = assertInstanceOf(Result.Err.class, store.declared(true));
        assertInstanceOf(UndeclaredThrowableException.class, checked.cause());
        assertEquals("declared failure", checked.cause().getCause().getMessage());
        assertTrue(kernel.killDomain(domain).isOk());
        assertEquals(KernelError.DOMAIN_DEAD, store.get(1).error());
    }

    @Test
    void anXRefArgumentMovesIntoTheCallee() {
        XRef data = kernel.allocateShared(client, 24).orElseThrow();
        for (int i = 0; i < 3; i++) {
            data.setLong(8L * i, i + 1);
        }
        assertEquals(6L, store.take(data, 3).orElseThrow());
        assertFalse(data.isValid(), "the caller's handle is stale: the callee owns the object");
        assertThrows(IllegalStateException.class, () -> data.getLong(0));
        assertEquals(KernelError.NO_SUCH_OBJECT, store.take(data, 3).error(), "a stale handle cannot be passed");
        store.fail("drop what it took");
        assertEquals(0, kernel.usage(container).orElseThrow().objects() - 2, "the dead incarnation's object was dropped");
    }

    @Test
    void aBorrowedXRefIsLentReadOnlyForTheCall() {
        XRef data = kernel.allocateShared(client, 8).orElseThrow();
        data.setLong(0, 77);
        assertEquals(77L, store.peek(data).orElseThrow());
        assertTrue(data.isValid(), "lent, not moved");
        data.setLong(0, 78);                                 // writable again after the call
        Result<Void> r = store.scribble(data);
        assertEquals(KernelError.DOMAIN_FAILED, r.error(), "a lent object refuses writes; the callee failed");
        assertEquals(78, data.getLong(0));
        assertTrue(store.keep(data).isOk());
        StoreService live = (StoreService) domain.call(s -> s).orElseThrow();
        XRef kept = live.kept.get(live.kept.size() - 1);
        assertTrue(kept.isLent());
        assertFalse(kept.isValid(), "a lent handle kept past the call is stale");
        assertThrows(IllegalStateException.class, () -> kept.getLong(0));
        assertEquals(KernelError.INVALID_STATE, kept.moveTo(domain).error());
        assertEquals(KernelError.INVALID_STATE, kept.drop().error());
        XRef moved = data.moveTo(domain).orElseThrow();
        assertEquals(KernelError.INVALID_STATE, store.peek(data).error(), "a stale handle cannot be lent");
        assertTrue(moved.isValid());
    }

    @Test
    void aProjectionCopiesInTheReadsAndBackTheWrites() {
        Vec v = new Vec();
        v.x = 3;
        v.y = -4;
        v.secret = 99;
        assertEquals(7L, store.measure(v).orElseThrow());
        assertEquals(7, v.length, "written field copied back");
        assertEquals(3, v.x, "a field the callee changed but does not write is not copied back");
        assertEquals(99, v.secret);
        StoreService live = (StoreService) domain.call(s -> s).orElseThrow();
        assertEquals(0, live.lastSecret[0], "the callee saw only the fields it reads");
    }

    @Test
    void proxiesAreFoundForAnnotatedInterfacesOnly() {
        assertSame(StoreProxy.class, DomainProxy.of(domain).getClass());
        Domain<Store.Admin> admin = kernel.newDomain(container, new DomainSpec<>("admin", Store.Admin.class,
                ctx -> () -> 5, RestartPolicy.never())).orElseThrow();
        Store_AdminProxy proxy = DomainProxy.of(admin);
        assertEquals(5, proxy.restarts().orElseThrow());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DomainProxy.of(client));
        assertTrue(e.getMessage().contains("not annotated @DomainService"), e.getMessage());
    }
}
