package io.hashkernel.kernel;

import io.hashkernel.numa.Affinity;
import io.hashkernel.numa.Topology;
import io.hashkernel.table.GrowingLongLongTable;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The kernel's process half: processes and their page tables, kernel threads, endpoints and
 * capabilities. {@link Kernel} is the facade; this class holds the logic and works on the
 * kernel's state under the kernel's lock, except for the lock-free path of plain messages.
 */
final class Processes {

    /*
     * Implementation notes.
     *
     * Capabilities. A process's capability table is a HashKernel table: slot -> rights << 61 |
     * object id (ids stay below 2^61: ObjectSlots retires a slot at its last generation). Slots
     * count up and are never reused, so a deleted slot stays invalid. A capability does not keep
     * its object alive: once the object dies the slot is stale, and every use says so.
     *
     * Plain messages take no lock. A send reads the capability (the table is concurrent), peeks
     * the endpoint in the object array (ObjectSlots.peek: a racy read, checked against the
     * endpoint's own final id and its volatile `dead`) and offers to its queue (JCTools MPMC).
     * The capability table entry was written after the endpoint was stored in the array, so a
     * reader that sees the entry sees the endpoint. A send racing the endpoint's death may land in
     * its queue after the drain: the message is then dropped with the endpoint, as if it had been
     * sent just before the death.
     *
     * Messages that carry a page or a capability take the lock at both ends. The send closes the
     * sender's mapping of the page (its arena: the sender's segment throws from then on), offers
     * the message with the mapping's id, and leaves the mapping "in flight" (no process; the
     * frame still held by the sender's container, frameMapping still naming it). The receive
     * polls without the lock, then installs under it: it looks the mapping up by id (ids are never
     * reused, so a mapping freed meanwhile, by the sender's container's death or the endpoint's,
     * is simply gone), charges the frame to the receiver's container, and maps it at the first
     * free page from the receiver's receive cursor. So a frame is in one process, or in flight,
     * never in two.
     *
     * Threads are stopped by a flag, not an interrupt: an interrupt would close any FileChannel
     * the thread is using (a domain's storage, say). The flag is read at each duty cycle and in
     * each turn of a blocking call, whose idle strategy parks for at most a millisecond.
     */

    static final int RIGHTS_SHIFT = 61;
    static final long ID_MASK = (1L << RIGHTS_SHIFT) - 1;
    /** The kernel thread running on this platform thread, if any. */
    static final ThreadLocal<KernelThread> CURRENT = new ThreadLocal<>();
    private static final Result<Void> SENT = Result.ok(null);
    // Constant, so that a spinning tryReceive or trySend allocates nothing.
    private static final Result<Message> EMPTY = Result.err(KernelError.WOULD_BLOCK,
            "the endpoint is empty (receive waits for a message, tryReceive does not)");
    private static final Result<Void> FULL = Result.err(KernelError.WOULD_BLOCK,
            "the endpoint is full (send waits for room, trySend does not)");
    private static final int MAX_ENDPOINT_CAPACITY = 1 << 20;
    private static final Message PROBE = Message.of();

    private final Kernel k;

    Processes(Kernel k) {
        this.k = k;
    }

    // ------------------------------------------------------------------------------- processes

    Result<KernelProcess> newProcess(ContainerId container, String name) {
        if (container == null || name == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "newProcess needs a container and a name, was "
                    + container + ", " + name);
        }
        k.lock.lock();
        try {
            Result<Container> r = k.liveContainer(container.id());
            if (!(r instanceof Result.Ok<Container>(Container c))) {
                return Kernel.cast(r);
            }
            if (c.freeObjects() < 1) {
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " has no free object in its quota " + c.quota
                        + " for process " + name);
            }
            GrowingLongLongTable caps = GrowingLongLongTable.builder().capacity(64).build();
            GrowingLongLongTable pages;
            try {
                pages = GrowingLongLongTable.builder().capacity(64).build();
            } catch (RuntimeException e) {
                caps.close();
                throw e;
            }
            long id = k.objects.add(i -> new KernelProcess(k, i, c.id, name, caps, pages));
            c.objects++;
            k.objectContainer.put(id, c.id);
            return Result.ok((KernelProcess) k.objects.get(id));
        } finally {
            k.lock.unlock();
        }
    }

    Result<Void> kill(KernelProcess p) {
        k.lock.lock();
        try {
            Result<KernelProcess> r = live(p);
            if (r.isOk()) {
                end(p);
                return SENT;
            }
            return Kernel.cast(r);
        } finally {
            k.lock.unlock();
        }
    }

    /** Under the lock: {@code p} dies with its threads, endpoints and pages, and is uncharged. */
    void end(KernelProcess p) {
        p.dead = true;
        List<Long> owned = new ArrayList<>();
        k.objectProcess.forEach((object, process) -> {
            if (process == p.id) {
                owned.add(object);
            }
        });
        for (long object : owned) {
            Object o = k.objects.get(object);
            if (o instanceof KernelThread t) {
                endThread(t, null);
            } else if (o instanceof Endpoint e) {
                destroy(e);
            }
        }
        List<Long> mapped = new ArrayList<>();
        p.pages.forEach((vpn, mapping) -> mapped.add(mapping));
        for (long id : mapped) {
            freeMapping(k.mappings.get(id));
        }
        p.capabilities.close();                          // lock-free readers now get IllegalStateException
        p.pages.close();
        uncharge(p.id, p.container);
    }

    private void uncharge(long object, long container) {
        ((Container) k.objects.get(container)).objects--;
        k.objectContainer.remove(object);
        k.objectProcess.remove(object);
        k.objects.remove(object);
    }

    /** The live process, or why not (checked without the lock: {@code dead} is volatile). */
    private Result<KernelProcess> live(KernelProcess p) {
        if (p == null || p.kernel != k) {
            return Result.err(KernelError.INVALID_ARGUMENT, "no process of this kernel: " + p);
        }
        if (k.isClosed()) {
            return Kernel.closedError();
        }
        if (p.dead) {
            return Result.err(KernelError.NO_SUCH_OBJECT, p + " was killed");
        }
        return Result.ok(p);
    }

    // --------------------------------------------------------------------------------- threads

    Result<KernelThread> newThread(KernelProcess p, ThreadSpec spec) {
        if (spec == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "newThread needs a spec, was null");
        }
        if (spec.cpu() != ThreadSpec.ANY_CPU) {
            if (!Affinity.available()) {
                return Result.err(KernelError.INVALID_STATE, "thread " + spec.name() + " asks for CPU " + spec.cpu()
                        + ", but pinning needs Linux and native access for the numa module");
            }
            var online = Topology.read().onlineCpus();
            if (!online.contains(spec.cpu())) {
                return Result.err(KernelError.INVALID_ARGUMENT, "thread " + spec.name() + " asks for CPU " + spec.cpu()
                        + ", which is not online; online CPUs: " + online);
            }
        }
        k.lock.lock();
        try {
            Result<Container> room = roomForObject(p, "thread " + spec.name());
            if (!(room instanceof Result.Ok<Container>(Container c))) {
                return Kernel.cast(room);
            }
            long id = k.objects.add(i -> new KernelThread(i, p, spec));
            KernelThread t = (KernelThread) k.objects.get(id);
            chargeObject(id, c, p);
            t.runner = new AgentRunner(idle(spec.idle()), e -> { }, null, new ThreadAgent(t));
            AgentRunner.startOnThread(t.runner, runnable -> {
                Thread thread = new Thread(runnable, "kernel-" + spec.name());
                thread.setDaemon(true);
                t.platform = thread;
                return thread;
            });
            return Result.ok(t);
        } finally {
            k.lock.unlock();
        }
    }

    /** Under the lock: {@code p}'s container if {@code p} lives and the container has room for one more object. */
    private Result<Container> roomForObject(KernelProcess p, String what) {
        Result<KernelProcess> r = live(p);
        if (!r.isOk()) {
            return Kernel.cast(r);
        }
        Container c = (Container) k.objects.get(p.container);
        if (c.freeObjects() < 1) {
            return Result.err(KernelError.QUOTA_EXCEEDED, c + " has no free object in its quota " + c.quota + " for " + what);
        }
        return Result.ok(c);
    }

    /** Under the lock: object {@code id} charged to {@code c} and owned by {@code p}. */
    private void chargeObject(long id, Container c, KernelProcess p) {
        c.objects++;
        k.objectContainer.put(id, c.id);
        k.objectProcess.put(id, p.id);
    }

    private static IdleStrategy idle(ThreadSpec.Idle idle) {
        return switch (idle) {
            case BUSY_SPIN -> new BusySpinIdleStrategy();
            case YIELD -> new YieldingIdleStrategy();
            case BACKOFF -> backoff();
        };
    }

    private static IdleStrategy backoff() {
        return new BackoffIdleStrategy(100, 10, 1_000, 1_000_000);
    }

    Result<Void> kill(KernelThread t) {
        if (t == null || t.process.kernel != k) {
            return Result.err(KernelError.INVALID_ARGUMENT, "no thread of this kernel: " + t);
        }
        k.lock.lock();
        try {
            if (k.isClosed()) {
                return Kernel.closedError();
            }
            if (k.objects.get(t.id) != t) {
                return Result.err(KernelError.NO_SUCH_OBJECT, t + " has ended");
            }
            endThread(t, null);
            return SENT;
        } finally {
            k.lock.unlock();
        }
    }

    /** Under the lock: {@code t} stops at its next duty cycle or blocking turn, and is uncharged. */
    private void endThread(KernelThread t, Throwable failure) {
        if (failure != null) {
            t.failure = failure;
        }
        t.killed = true;
        t.state = ThreadState.DEAD;
        uncharge(t.id, t.process.container);
    }

    /** From a thread whose body threw or whose start failed. */
    private void failed(KernelThread t, Throwable failure) {
        k.lock.lock();
        try {
            if (!k.isClosed() && k.objects.get(t.id) == t) {
                endThread(t, failure);
            } else {
                t.failure = failure;
                t.state = ThreadState.DEAD;
            }
        } finally {
            k.lock.unlock();
        }
    }

    /** A kernel thread's body as an Agrona agent: its state kept, its kill and its failure observed. */
    private final class ThreadAgent implements Agent {
        private final KernelThread t;

        ThreadAgent(KernelThread t) {
            this.t = t;
        }

        @Override
        public void onStart() {
            CURRENT.set(t);
            if (t.spec.cpu() != ThreadSpec.ANY_CPU) {
                try {
                    Affinity.pin(t.spec.cpu());
                } catch (RuntimeException e) {
                    failed(t, e);
                }
            }
        }

        @Override
        public int doWork() {
            if (t.killed) {
                throw new AgentTerminationException();
            }
            t.state = ThreadState.RUNNING;
            try {
                return t.spec.body().doWork();
            } catch (Throwable e) {
                failed(t, e);
                throw new AgentTerminationException(e);
            } finally {
                if (!t.killed) {
                    t.state = ThreadState.SCHEDULED;
                }
            }
        }

        @Override
        public void onClose() {
            CURRENT.remove();
            t.state = ThreadState.DEAD;
        }

        @Override
        public String roleName() {
            return t.spec.name();
        }
    }

    // ------------------------------------------------------------------------------- endpoints

    Result<Integer> newEndpoint(KernelProcess p, int capacity) {
        if (capacity < 1 || capacity > MAX_ENDPOINT_CAPACITY) {
            return Result.err(KernelError.INVALID_ARGUMENT, "an endpoint holds 1 to " + MAX_ENDPOINT_CAPACITY
                    + " messages, was " + capacity);
        }
        k.lock.lock();
        try {
            Result<Container> room = roomForObject(p, "an endpoint");
            if (!(room instanceof Result.Ok<Container>(Container c))) {
                return Kernel.cast(room);
            }
            long id = k.objects.add(i -> new Endpoint(i, p, Math.max(2, capacity)));
            chargeObject(id, c, p);
            return install(p, id, Rights.ALL);
        } finally {
            k.lock.unlock();
        }
    }

    Result<Void> destroyEndpoint(KernelProcess p, int slot) {
        k.lock.lock();
        try {
            Result<Endpoint> r = endpoint(p, slot, Rights.ALL.bits());
            if (!(r instanceof Result.Ok<Endpoint>(Endpoint e))) {
                return Kernel.cast(r);
            }
            destroy(e);
            return SENT;
        } finally {
            k.lock.unlock();
        }
    }

    /** Under the lock: {@code e} dies; the pages of the messages left in it are freed. */
    private void destroy(Endpoint e) {
        e.dead = true;
        e.queue.drain(m -> {
            Mapping page = m.transit != 0 ? k.mappings.get(m.transit) : null;
            if (page != null) {                          // null: freed already, with its container
                freeMapping(page);
            }
        });
        uncharge(e.id, e.owner.container);
    }

    // ---------------------------------------------------------------------------- capabilities

    /** Under the lock: a new slot of {@code p} for {@code object} with {@code rights}. */
    private Result<Integer> install(KernelProcess p, long object, Rights rights) {
        if (p.nextSlot == Integer.MAX_VALUE) {
            return Result.err(KernelError.QUOTA_EXCEEDED, p + " has used all 2^31 capability slots");
        }
        int slot = p.nextSlot++;
        p.capabilities.put(slot, (long) rights.bits() << RIGHTS_SHIFT | object);
        return Result.ok(slot);
    }

    /**
     * {@code p}'s capability in {@code slot}, or 0 if none; -1 if the process died under us (no
     * capability packs to -1: that would need an id of 2^61 - 1).
     */
    private static long capability(KernelProcess p, int slot) {
        if (slot < 0) {
            return 0;
        }
        try {
            return p.capabilities.get(slot);
        } catch (IllegalStateException closed) {
            return -1;
        }
    }

    /**
     * The live endpoint {@code p}'s {@code slot} names with at least the {@code rights} bits, or
     * null: the fast path of {@link #endpoint}, which allocates nothing. Takes no lock.
     */
    private Endpoint endpointOrNull(KernelProcess p, int slot, int rights) {
        if (p == null || p.kernel != k || p.dead || k.isClosed()) {
            return null;
        }
        long cap = capability(p, slot);
        if (cap == 0 || cap == -1 || ((int) (cap >>> RIGHTS_SHIFT) & rights) != rights) {
            return null;
        }
        long id = cap & ID_MASK;
        return k.objects.peek(id) instanceof Endpoint e && e.id == id && !e.dead ? e : null;
    }

    /**
     * The live endpoint {@code p}'s {@code slot} names with at least the {@code rights} bits, or
     * why not. Takes no lock.
     */
    private Result<Endpoint> endpoint(KernelProcess p, int slot, int rights) {
        Result<KernelProcess> r = live(p);
        if (!r.isOk()) {
            return Kernel.cast(r);
        }
        long cap = capability(p, slot);
        if (cap == -1) {
            return Result.err(KernelError.NO_SUCH_OBJECT, p + " was killed");
        }
        if (cap == 0) {
            return Result.err(KernelError.NO_SUCH_CAPABILITY, p + " has no capability in slot " + slot);
        }
        int held = (int) (cap >>> RIGHTS_SHIFT);
        if ((held & rights) != rights) {
            return Result.err(KernelError.NO_RIGHTS, "capability " + slot + " of " + p + " has rights "
                    + new Rights(held) + "; the call needs " + new Rights(rights));
        }
        long id = cap & ID_MASK;
        if (!(k.objects.peek(id) instanceof Endpoint e) || e.id != id || e.dead) {
            return Result.err(KernelError.STALE_CAPABILITY, "capability " + slot + " of " + p
                    + " names endpoint " + id + ", which was destroyed");
        }
        return Result.ok(e);
    }

    Result<Integer> grant(KernelProcess from, int slot, KernelProcess to, Rights rights) {
        if (rights == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "grant needs rights, was null");
        }
        k.lock.lock();
        try {
            Result<KernelProcess> target = live(to);
            if (!target.isOk()) {
                return Kernel.cast(target);
            }
            Result<Endpoint> r = endpoint(from, slot, Rights.GRANT_BIT | rights.bits());
            if (!(r instanceof Result.Ok<Endpoint>(Endpoint e))) {
                return Kernel.cast(r);
            }
            return install(to, e.id, rights);
        } finally {
            k.lock.unlock();
        }
    }

    Result<Rights> rights(KernelProcess p, int slot) {
        Result<KernelProcess> r = live(p);
        if (!r.isOk()) {
            return Kernel.cast(r);
        }
        long cap = capability(p, slot);
        if (cap == 0 || cap == -1) {
            return Result.err(cap == 0 ? KernelError.NO_SUCH_CAPABILITY : KernelError.NO_SUCH_OBJECT,
                    cap == 0 ? p + " has no capability in slot " + slot : p + " was killed");
        }
        return Result.ok(new Rights((int) (cap >>> RIGHTS_SHIFT)));
    }

    Result<Void> deleteCapability(KernelProcess p, int slot) {
        k.lock.lock();
        try {
            Result<KernelProcess> r = live(p);
            if (!r.isOk()) {
                return Kernel.cast(r);
            }
            if (slot < 0 || p.capabilities.remove(slot) == 0) {
                return Result.err(KernelError.NO_SUCH_CAPABILITY, p + " has no capability in slot " + slot);
            }
            return SENT;
        } finally {
            k.lock.unlock();
        }
    }

    // ---------------------------------------------------------------------------------- memory

    Result<Void> map(KernelProcess p, long va, int pages) {
        String problem = range(va, pages);
        if (problem != null) {
            return Result.err(KernelError.INVALID_ARGUMENT, problem);
        }
        k.lock.lock();
        try {
            Result<KernelProcess> r = live(p);
            if (!r.isOk()) {
                return Kernel.cast(r);
            }
            Container c = (Container) k.objects.get(p.container);
            if (c.freeSmall() < pages) {                 // first: it bounds the look for pages in use
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " has " + c.freeSmall()
                        + " free 4 KiB frames of its quota " + c.quota + "; mapping " + pages + " pages needs as many");
            }
            k.retryQuarantine();
            if (k.pool.freeSmallFrames() < pages) {
                return Result.err(KernelError.OUT_OF_MEMORY, "the pool has " + k.pool.freeSmallFrames()
                        + " free 4 KiB frames; mapping " + pages + " pages needs as many");
            }
            long vpn = va / Kernel.PAGE;
            for (int i = 0; i < pages; i++) {
                if (p.pages.containsKey(vpn + i)) {
                    return Result.err(KernelError.VA_IN_USE, "0x" + Long.toHexString((vpn + i) * Kernel.PAGE)
                            + " is already mapped in " + p);
                }
            }
            for (int i = 0; i < pages; i++) {
                Result<Long> f = k.take(c, FrameSize.SMALL, 1);
                if (!(f instanceof Result.Ok<Long>(Long frame))) {
                    for (int j = 0; j < i; j++) {
                        freeMapping(k.mappings.get(p.pages.get(vpn + j)));
                    }
                    return Kernel.cast(f);
                }
                k.pool.bytes(frame, Kernel.PAGE).fill((byte) 0);
                long id = k.mappings.add(m -> new Mapping(m, frame, c.id));
                mapPage(k.mappings.get(id), p, vpn + i);
            }
            return SENT;
        } finally {
            k.lock.unlock();
        }
    }

    private static String range(long va, long pages) {
        if (va < 0 || va % Kernel.PAGE != 0 || pages < 1 || pages > (Kernel.VA_LIMIT - va) / Kernel.PAGE) {
            return "a mapping is 1 or more 4 KiB pages at a 4 KiB-aligned virtual address below 2^47, was "
                    + pages + " pages at 0x" + Long.toHexString(va);
        }
        return null;
    }

    Result<Void> unmap(KernelProcess p, long va, int pages) {
        String problem = range(va, pages);
        if (problem != null) {
            return Result.err(KernelError.INVALID_ARGUMENT, problem);
        }
        k.lock.lock();
        try {
            Result<KernelProcess> r = live(p);
            if (!r.isOk()) {
                return Kernel.cast(r);
            }
            long vpn = va / Kernel.PAGE;
            for (int i = 0; i < pages; i++) {
                if (!p.pages.containsKey(vpn + i)) {
                    return Result.err(KernelError.NOT_MAPPED, "no page is mapped at 0x"
                            + Long.toHexString((vpn + i) * Kernel.PAGE) + " in " + p);
                }
            }
            for (int i = 0; i < pages; i++) {
                freeMapping(k.mappings.get(p.pages.get(vpn + i)));
            }
            return SENT;
        } finally {
            k.lock.unlock();
        }
    }

    Result<MemorySegment> page(KernelProcess p, long va) {
        if (va < 0 || va >= Kernel.VA_LIMIT) {
            return Result.err(KernelError.INVALID_ARGUMENT, "a virtual address is in [0, 2^47), was 0x" + Long.toHexString(va));
        }
        k.lock.lock();
        try {
            Result<KernelProcess> r = live(p);
            if (!r.isOk()) {
                return Kernel.cast(r);
            }
            Mapping m = k.mappings.get(p.pages.get(va / Kernel.PAGE));
            if (m == null) {
                return Result.err(KernelError.NOT_MAPPED, "no page is mapped at 0x" + Long.toHexString(va) + " in " + p);
            }
            return Result.ok(m.segment);
        } finally {
            k.lock.unlock();
        }
    }

    /** Under the lock: {@code m}'s frame mapped at {@code vpn} of {@code p}, through a fresh arena. */
    private void mapPage(Mapping m, KernelProcess p, long vpn) {
        m.arena = Arena.ofShared();
        m.segment = Scopes.revocable(k.pool.bytes(m.frame, Kernel.PAGE), m.arena);
        m.process = p;
        m.vpn = vpn;
        p.pages.put(vpn, m.id);
        k.frameMapping.put(m.frame, m.id);
    }

    /** Under the lock: {@code m} unmapped (its arena closed) and its frame freed. */
    private void freeMapping(Mapping m) {
        if (m.process != null) {
            m.process.pages.remove(m.vpn);
        }
        k.mappings.remove(m.id);
        k.frameMapping.remove(m.frame);
        Container c = (Container) k.objects.get(m.container);
        if (m.arena != null) {
            k.freeOrQuarantine(c, m.arena, m.frame, 1, FrameSize.SMALL);
        } else {
            k.releaseFrame(c, m.frame);
        }
    }

    /** Under the lock, from a container's death: the pages in flight of frames it holds are freed. */
    void freeInFlight(long container) {
        List<Mapping> flying = new ArrayList<>();
        k.mappings.forEach(m -> {
            if (m.process == null && m.container == container) {
                flying.add(m);
            }
        });
        flying.forEach(this::freeMapping);
    }

    // -------------------------------------------------------------------------------- messages

    Result<Void> trySend(KernelProcess p, int slot, Message m) {
        if (m == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "send needs a message, was null");
        }
        if (m.carries()) {
            return sendCarrying(p, slot, m);
        }
        Endpoint e = endpointOrNull(p, slot, Rights.WRITE_BIT);
        if (e == null) {
            Result<Endpoint> r = endpoint(p, slot, Rights.WRITE_BIT);
            if (!(r instanceof Result.Ok<Endpoint>(Endpoint found))) {
                return Kernel.cast(r);
            }
            e = found;                                   // it came to exist between the two looks
        }
        return e.queue.offer(m) ? SENT : FULL;
    }

    /** A send of a message with a page or a capability: under the lock at this end. */
    private Result<Void> sendCarrying(KernelProcess p, int slot, Message m) {
        k.lock.lock();
        try {
            int rights = Rights.WRITE_BIT | (m.capability() != Message.NONE ? Rights.GRANT_BIT : 0);
            Result<Endpoint> r = endpoint(p, slot, rights);
            if (!(r instanceof Result.Ok<Endpoint>(Endpoint e))) {
                return Kernel.cast(r);
            }
            long passed = 0;
            if (m.capability() != Message.NONE) {
                long cap = capability(p, m.capability());
                if (cap == 0) {
                    return Result.err(KernelError.NO_SUCH_CAPABILITY, p + " has no capability in slot " + m.capability()
                            + " to pass");
                }
                Rights held = new Rights((int) (cap >>> RIGHTS_SHIFT));
                if (!held.contains(m.capabilityRights())) {
                    return Result.err(KernelError.NO_RIGHTS, "capability " + m.capability() + " of " + p + " has rights "
                            + held + "; it cannot be passed with " + m.capabilityRights());
                }
                passed = (long) m.capabilityRights().bits() << RIGHTS_SHIFT | (cap & ID_MASK);
            }
            Mapping page = null;
            if (m.frame() != Message.NONE) {
                page = k.mappings.get(p.pages.get(m.frame() / Kernel.PAGE));
                if (page == null) {
                    return Result.err(KernelError.NOT_MAPPED, "no page is mapped at 0x" + Long.toHexString(m.frame())
                            + " in " + p + " to send");
                }
                if (e.queue.size() >= e.queue.capacity()) {
                    return FULL;                         // refused before the page is touched: its segment still works
                }
                if (!Kernel.closeArena(page.arena)) {
                    return Result.err(KernelError.INVALID_STATE, "the page at 0x" + Long.toHexString(m.frame())
                            + " is held by an I/O operation of the JDK; it moves once that ends");
                }
            }
            if (!e.queue.offer(m.inFlight(page != null ? page.id : 0, passed))) {
                if (page != null) {                      // plain sends filled it since the check above:
                    mapPage(page, p, page.vpn);          // back where it was, through a new segment
                }
                return FULL;
            }
            if (page != null) {
                p.pages.remove(page.vpn);
                page.process = null;
                page.arena = null;
                page.segment = null;
            }
            return SENT;
        } finally {
            k.lock.unlock();
        }
    }

    Result<Message> tryReceive(KernelProcess p, int slot) {
        Endpoint e = endpointOrNull(p, slot, Rights.READ_BIT);
        if (e == null) {
            Result<Endpoint> r = endpoint(p, slot, Rights.READ_BIT);
            if (!(r instanceof Result.Ok<Endpoint>(Endpoint found))) {
                return Kernel.cast(r);
            }
            e = found;
        }
        Message m = e.queue.poll();
        if (m == null) {
            return EMPTY;
        }
        return m.transit != 0 || m.passedCapability != 0 ? deliver(p, List.of(m), null) : Result.ok(m);
    }

    /**
     * Under the lock (taken here): messages installed in {@code p} in their order: their pages
     * mapped, their capabilities given slots (plain ones pass as they are). The last one
     * delivered, or the error if {@code p} died (the pages are then freed) or the kernel closed.
     * With {@code into}, each delivered message is added to it.
     */
    private Result<Message> deliver(KernelProcess p, List<Message> flying, List<Message> into) {
        k.lock.lock();
        try {
            if (k.isClosed()) {
                return Kernel.closedError();             // the pages went with the pool
            }
            Result<KernelProcess> alive = live(p);
            Message last = null;
            for (Message m : flying) {
                if (m.transit == 0 && m.passedCapability == 0) {
                    last = m;                            // plain: delivered in its place in the queue's order
                    if (alive.isOk() && into != null) {
                        into.add(m);
                    }
                    continue;
                }
                Mapping page = m.transit != 0 ? k.mappings.get(m.transit) : null;
                if (!alive.isOk()) {
                    if (page != null) {
                        freeMapping(page);
                    }
                    continue;
                }
                long va = Message.NONE;
                KernelError lost = null;
                if (m.transit != 0) {
                    if (page == null) {
                        lost = KernelError.NO_SUCH_OBJECT;
                    } else if (!charge(page, (Container) k.objects.get(p.container))) {
                        freeMapping(page);
                        lost = KernelError.QUOTA_EXCEEDED;
                    } else {
                        long vpn = p.receiveCursor / Kernel.PAGE;
                        while (p.pages.containsKey(vpn)) {
                            vpn++;
                        }
                        p.receiveCursor = (vpn + 1) * Kernel.PAGE;
                        mapPage(page, p, vpn);
                        va = vpn * Kernel.PAGE;
                    }
                }
                int slot = Message.NONE;
                Rights rights = null;
                if (m.passedCapability != 0) {
                    rights = new Rights((int) (m.passedCapability >>> RIGHTS_SHIFT));
                    Result<Integer> s = install(p, m.passedCapability & ID_MASK, rights);
                    slot = s.isOk() ? s.orElseThrow() : Message.NONE;
                }
                last = m.received(va, lost, slot, rights);
                if (into != null) {
                    into.add(last);
                }
            }
            return alive.isOk() ? Result.ok(last) : Kernel.cast(alive);
        } finally {
            k.lock.unlock();
        }
    }

    /** Under the lock: {@code page}'s frame charged to {@code dest} (if not already); false if its quota is full. */
    private boolean charge(Mapping page, Container dest) {
        if (page.container == dest.id) {
            return true;
        }
        if (dest.freeSmall() < 1) {
            return false;
        }
        Container from = (Container) k.objects.get(page.container);
        from.smallFrames--;
        dest.smallFrames++;
        k.frameOwner.put(page.frame, dest.id);
        page.container = dest.id;
        return true;
    }

    Result<Integer> sendAll(KernelProcess p, int slot, List<Message> messages) {
        if (messages == null || messages.stream().anyMatch(java.util.Objects::isNull)) {
            return Result.err(KernelError.INVALID_ARGUMENT, "sendAll needs a list of messages without nulls");
        }
        Result<Endpoint> r = endpoint(p, slot, Rights.WRITE_BIT);
        if (!(r instanceof Result.Ok<Endpoint>(Endpoint e))) {
            return Kernel.cast(r);
        }
        int sent = 0;
        for (Message m : messages) {
            Result<Void> s = m.carries() ? sendCarrying(p, slot, m) : e.queue.offer(m) ? SENT : FULL;
            if (!s.isOk()) {
                if (sent == 0 && s.error() != KernelError.WOULD_BLOCK) {
                    return Kernel.cast(s);
                }
                break;
            }
            sent++;
        }
        return Result.ok(sent);
    }

    Result<Integer> receiveAll(KernelProcess p, int slot, List<Message> into, int max, Duration timeout) {
        if (into == null || max < 1 || timeout == null || timeout.isNegative()) {
            return Result.err(KernelError.INVALID_ARGUMENT, "receiveAll needs a list, a maximum of 1 or more and a "
                    + "timeout of 0 or more, was " + max + ", " + timeout);
        }
        if (!modifiable(into)) {
            return Result.err(KernelError.INVALID_ARGUMENT, "receiveAll adds to the list it is given, which must take "
                    + "elements; " + into.getClass().getName() + " does not");
        }
        return await(timeout, () -> {
            Result<Endpoint> r = endpoint(p, slot, Rights.READ_BIT);
            if (!(r instanceof Result.Ok<Endpoint>(Endpoint e))) {
                return Kernel.cast(r);
            }
            int before = into.size();
            boolean[] carrying = {false};
            e.queue.drain(m -> {
                carrying[0] |= m.transit != 0 || m.passedCapability != 0;
                into.add(m);
            }, max);
            int n = into.size() - before;
            if (n == 0) {
                return Kernel.cast(EMPTY);
            }
            if (carrying[0]) {                           // installed in the queue's order, in place
                List<Message> drained = new ArrayList<>(into.subList(before, into.size()));
                into.subList(before, into.size()).clear();
                Result<Message> d = deliver(p, drained, into);
                if (!d.isOk()) {
                    return Kernel.cast(d);
                }
            }
            return Result.ok(n);
        });
    }

    /** Whether {@code into} takes an element (tried with one added and taken out again). */
    private static boolean modifiable(List<Message> into) {
        try {
            into.add(PROBE);
            into.remove(into.size() - 1);
            return true;
        } catch (UnsupportedOperationException | IllegalStateException e) {
            return false;
        }
    }

    /**
     * Runs {@code attempt} until it does not say {@link KernelError#WOULD_BLOCK}, or the time
     * runs out, or the calling kernel thread is killed; the thread is {@link ThreadState#BLOCKED}
     * meanwhile. A zero timeout tries once.
     */
    <T> Result<T> await(Duration timeout, Supplier<Result<T>> attempt) {
        Result<T> r = attempt.get();
        if (r.error() != KernelError.WOULD_BLOCK || timeout.isZero()) {
            return r;
        }
        long deadline = System.nanoTime() + Math.min(timeout.toNanos(), Long.MAX_VALUE / 4);
        KernelThread self = CURRENT.get();
        IdleStrategy idle = backoff();
        if (self != null) {
            self.state = ThreadState.BLOCKED;
        }
        try {
            while (true) {
                idle.idle();
                r = attempt.get();
                if (r.error() != KernelError.WOULD_BLOCK) {
                    return r;
                }
                if (self != null && self.killed) {
                    return Result.err(KernelError.THREAD_KILLED, self + " was killed while it waited");
                }
                if (System.nanoTime() - deadline > 0) {
                    return Result.err(KernelError.TIMED_OUT, "waited " + timeout + ": " + ((Result.Err<T>) r).message());
                }
            }
        } finally {
            if (self != null && !self.killed) {
                self.state = ThreadState.RUNNING;
            }
        }
    }
}
