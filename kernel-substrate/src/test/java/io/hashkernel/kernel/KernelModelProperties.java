package io.hashkernel.kernel;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random sequences of kernel calls (containers, frames, splits and merges, domains, calls,
 * crashes, kills, exchange-heap objects moved and dropped, processes, pages mapped and unmapped,
 * endpoints, capabilities granted and passed, messages with and without pages, threads) against a
 * model of what each container holds and what each endpoint queues: after every step the
 * kernel's invariants hold, every call's result is the one the model expects, and every
 * container's usage is the model's. jqwik shrinks a failing sequence.
 */
class KernelModelProperties {
    private static final int SUPERPAGES = 6;

    /** One call: which, and two numbers that pick its arguments. */
    record Step(int kind, int a, int b) {
        @Override
        public String toString() {
            String[] names = {"newContainer", "killContainer", "allocateFrame", "freeFrame", "splitFrame",
                    "mergeFrames", "newDomain", "call", "crash", "killDomain", "allocateShared", "moveShared",
                    "dropShared", "newProcess", "killProcess", "map", "unmap", "newEndpoint", "grant", "send",
                    "receive", "destroyEndpoint", "newThread", "killThread"};
            return names[kind] + "(" + a + ", " + b + ")";
        }
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        // Weighted so that a sequence sets up processes, pages and endpoints and then sends and receives.
        int[] weights = {2, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 4, 1, 4, 1, 4, 4, 8, 8, 1, 1, 1};
        List<Tuple.Tuple2<Integer, Arbitrary<Integer>>> choices = new ArrayList<>();
        for (int kind = 0; kind < weights.length; kind++) {
            choices.add(Tuple.of(weights[kind], Arbitraries.just(kind)));
        }
        Arbitrary<Integer> kinds = Arbitraries.frequencyOf(choices.toArray(Tuple.Tuple2[]::new));
        return Combinators.combine(kinds, Arbitraries.integers().between(0, 999),
                Arbitraries.integers().between(0, 999)).as(Step::new).list().ofMinSize(10).ofMaxSize(80);
    }

    /** A domain's service: one 8-byte cell (a 4 KiB frame) it counts in. */
    interface Cell {
        long increment();
    }

    /** A capability as the model knows it. */
    record Cap(int slot, EpModel endpoint, Rights rights) {
    }

    /** A message in an endpoint: the container its page is charged to (or null), the capability it passes (or null). */
    record Msg(long word, Model pageFrom, Cap passed) {
    }

    /** An endpoint: its owner, its queue, whether destroyed. */
    static final class EpModel {
        final ProcModel owner;
        final int capacity;
        final List<Msg> queue = new ArrayList<>();
        boolean dead;

        EpModel(ProcModel owner, int capacity) {
            this.owner = owner;
            this.capacity = capacity;
        }
    }

    /** A live process: its pages, capabilities and threads. */
    static final class ProcModel {
        final KernelProcess p;
        final Model container;
        final Set<Long> pages = new HashSet<>();
        final List<Cap> caps = new ArrayList<>();
        final List<EpModel> endpoints = new ArrayList<>();
        final List<KernelThread> threads = new ArrayList<>();

        ProcModel(KernelProcess p, Model container) {
            this.p = p;
            this.container = container;
        }
    }

    /** What the model knows of a live container. */
    static final class Model {
        final List<EpModel> world;
        final List<ProcModel> processes = new ArrayList<>();
        final ContainerId id;
        final Model parent;
        final Quota quota;
        final List<Model> children = new ArrayList<>();
        final List<Frame> frames = new ArrayList<>();
        final List<Domain<Cell>> domains = new ArrayList<>();
        /** Exchange-heap objects owned by its domains (each one 4 KiB frame). */
        final List<XRef> shared = new ArrayList<>();

        Model(ContainerId id, Model parent, Quota quota, List<EpModel> world) {
            this.world = world;
            this.id = id;
            this.parent = parent;
            this.quota = quota;
        }

        long small() {
            return frames.stream().filter(f -> f.size() == FrameSize.SMALL).count()
                    + domains.stream().filter(Domain::isAlive).count() + shared.size()
                    + processes.stream().mapToLong(p -> p.pages.size()).sum()
                    + world.stream().filter(e -> !e.dead).flatMap(e -> e.queue.stream()).filter(m -> m.pageFrom() == this).count();
        }

        long huge() {
            return frames.stream().filter(f -> f.size() == FrameSize.HUGE).count();
        }

        long objects() {
            return children.size() + domains.size() + shared.size()
                    + processes.stream().mapToLong(p -> 1 + p.endpoints.size() + p.threads.size()).sum();
        }

        Quota reserved() {
            return new Quota(children.stream().mapToLong(c -> c.quota.smallFrames()).sum(),
                    children.stream().mapToLong(c -> c.quota.hugeFrames()).sum(),
                    children.stream().mapToLong(c -> c.quota.objects()).sum());
        }
    }

    @Property(tries = 200)
    void invariantsHoldAfterEveryStep(@ForAll("steps") List<Step> steps) {
        try (Kernel kernel = Kernel.builder().memoryBytes(SUPERPAGES * FrameSize.HUGE.bytes()).rootObjects(64).build()) {
            List<EpModel> world = new ArrayList<>();
            Model root = new Model(kernel.root(), null, kernel.usage(kernel.root()).orElseThrow().quota(), world);
            List<Model> live = new ArrayList<>(List.of(root));
            for (Step s : steps) {
                Model c = live.get(s.a() % live.size());
                switch (s.kind()) {
                    case 0 -> {
                        Quota q = new Quota(s.b() % 600, s.b() % 3, 1 + s.b() % 5);
                        Result<ContainerId> r = kernel.newContainer(c.id, q);
                        Quota res = c.reserved();
                        boolean fits = c.quota.smallFrames() - c.small() - res.smallFrames() >= q.smallFrames()
                                && c.quota.hugeFrames() - c.huge() - res.hugeFrames() >= q.hugeFrames()
                                && c.quota.objects() - c.objects() - res.objects() >= q.objects() + 1;
                        assertEquals(fits, r.isOk(), r.toString());
                        if (r.isOk()) {
                            Model m = new Model(r.orElseThrow(), c, q, world);
                            c.children.add(m);
                            live.add(m);
                        }
                    }
                    case 1 -> {
                        Result<Void> r = kernel.killContainer(c.id);
                        assertEquals(c != root, r.isOk(), r.toString());
                        if (c != root) {
                            c.parent.children.remove(c);
                            forget(c, live);
                            for (EpModel e : world) {               // pages in flight from the dead containers are freed
                                e.queue.replaceAll(m -> m.pageFrom() != null && !live.contains(m.pageFrom())
                                        ? new Msg(m.word(), DEAD_CONTAINER, m.passed()) : m);
                            }
                        }
                    }
                    case 2 -> {
                        FrameSize size = s.b() % 2 == 0 ? FrameSize.SMALL : FrameSize.HUGE;
                        Result<Frame> r = kernel.allocateFrame(c.id, size);
                        long free = size == FrameSize.SMALL ? c.quota.smallFrames() - c.small() - c.reserved().smallFrames()
                                : c.quota.hugeFrames() - c.huge() - c.reserved().hugeFrames();
                        if (free <= 0) {
                            assertEquals(KernelError.QUOTA_EXCEEDED, r.error(), r.toString());
                        } else if (!r.isOk()) {
                            assertEquals(KernelError.OUT_OF_MEMORY, r.error(), r.toString());
                        } else {
                            c.frames.add(r.orElseThrow());
                        }
                    }
                    case 3 -> {
                        if (!c.frames.isEmpty()) {
                            Frame f = c.frames.remove(s.b() % c.frames.size());
                            assertTrue(kernel.freeFrame(c.id, f).isOk());
                            assertEquals(KernelError.NO_SUCH_OBJECT, kernel.holderOf(f).error());
                        }
                    }
                    case 4 -> {
                        Frame f = pick(c.frames, FrameSize.HUGE, s.b());
                        if (f != null) {
                            Result<List<Frame>> r = kernel.splitFrame(c.id, f);
                            boolean fits = c.quota.smallFrames() - c.small() - c.reserved().smallFrames() >= 512;
                            assertEquals(fits, r.isOk(), r.toString());
                            if (r.isOk()) {
                                c.frames.remove(f);
                                c.frames.addAll(r.orElseThrow());
                            }
                        }
                    }
                    case 5 -> {
                        Frame f = pick(c.frames, FrameSize.SMALL, s.b());
                        if (f != null) {
                            Frame first = new Frame(f.number() - f.number() % 512, FrameSize.SMALL);
                            Result<Frame> r = kernel.mergeFrames(c.id, first);
                            long mine = c.frames.stream().filter(x -> x.size() == FrameSize.SMALL
                                    && x.number() / 512 == first.number() / 512).count();
                            boolean fits = mine == 512 && c.quota.hugeFrames() - c.huge() - c.reserved().hugeFrames() >= 1;
                            assertEquals(fits, r.isOk(), r.toString());
                            if (r.isOk()) {
                                c.frames.removeIf(x -> x.size() == FrameSize.SMALL && x.number() / 512 == first.number() / 512);
                                c.frames.add(r.orElseThrow());
                            }
                        }
                    }
                    case 6 -> {
                        Result<Domain<Cell>> r = kernel.newDomain(c.id, new DomainSpec<>("d" + s.b(), Cell.class, ctx -> {
                            MemorySegment cell = ctx.allocate(8, 8);
                            return () -> {
                                long v = cell.get(ValueLayout.JAVA_LONG, 0) + 1;
                                cell.set(ValueLayout.JAVA_LONG, 0, v);
                                return v;
                            };
                        }, s.b() % 2 == 0 ? RestartPolicy.always() : RestartPolicy.never()));
                        if (r.isOk()) {
                            c.domains.add(r.orElseThrow());
                        } else {
                            assertTrue(r.error() == KernelError.QUOTA_EXCEEDED || r.error() == KernelError.DOMAIN_FAILED,
                                    r.toString());
                        }
                    }
                    case 7, 8 -> {
                        if (!c.domains.isEmpty()) {
                            Domain<Cell> d = c.domains.get(s.b() % c.domains.size());
                            boolean alive = d.isAlive();
                            Result<Long> r = s.kind() == 7 ? d.call(Cell::increment)
                                    : d.call(cell -> { throw new IllegalStateException("crash"); });
                            assertEquals(!alive ? KernelError.DOMAIN_DEAD : s.kind() == 7 ? null : KernelError.DOMAIN_FAILED,
                                    r.error(), r.toString());
                            if (s.kind() == 8) {
                                dropOwnedBy(c, d);
                            }
                        }
                    }
                    case 9 -> {
                        if (!c.domains.isEmpty()) {
                            Domain<Cell> d = c.domains.remove(s.b() % c.domains.size());
                            assertTrue(kernel.killDomain(d).isOk());
                            dropOwnedBy(c, d);
                            assertEquals(KernelError.DOMAIN_DEAD, d.call(Cell::increment).error());
                            c.domains.add(d);                       // still an object (and charged) until its container dies
                        }
                    }
                    case 10 -> {
                        if (!c.domains.isEmpty()) {
                            Domain<Cell> d = c.domains.get(s.b() % c.domains.size());
                            Result<XRef> r = kernel.allocateShared(d, 1 + s.b() % 4096);
                            if (!d.isAlive()) {
                                assertEquals(KernelError.DOMAIN_DEAD, r.error(), r.toString());
                            } else if (c.quota.objects() - c.objects() - c.reserved().objects() < 1
                                    || c.quota.smallFrames() - c.small() - c.reserved().smallFrames() < 1) {
                                assertEquals(KernelError.QUOTA_EXCEEDED, r.error(), r.toString());
                            } else if (r.isOk()) {
                                c.shared.add(r.orElseThrow());
                            } else {
                                assertEquals(KernelError.OUT_OF_MEMORY, r.error(), r.toString());
                            }
                        }
                    }
                    case 11 -> {
                        Model to = live.get(s.b() % live.size());
                        if (!c.shared.isEmpty() && !to.domains.isEmpty()) {
                            XRef x = c.shared.get(s.b() % c.shared.size());
                            Domain<Cell> dest = to.domains.get(s.a() % to.domains.size());
                            Result<XRef> r = x.moveTo(dest);
                            boolean fits = to == c || to.quota.objects() - to.objects() - to.reserved().objects() >= 1
                                    && to.quota.smallFrames() - to.small() - to.reserved().smallFrames() >= 1;
                            if (!dest.isAlive()) {
                                assertEquals(KernelError.DOMAIN_DEAD, r.error(), r.toString());
                            } else {
                                assertEquals(fits, r.isOk(), r.toString());
                            }
                            if (r.isOk()) {
                                c.shared.remove(x);
                                to.shared.add(r.orElseThrow());
                                assertTrue(x == r.orElseThrow() || !x.isValid());
                            }
                        }
                    }
                    case 12 -> {
                        if (!c.shared.isEmpty()) {
                            XRef x = c.shared.remove(s.b() % c.shared.size());
                            assertTrue(x.drop().isOk());
                            assertFalse(x.isValid());
                        }
                    }
                    default -> processStep(kernel, s, c, live);
                }
                assertEquals(List.of(), kernel.checkInvariants(), "after " + s);
                for (Model m : live) {
                    Kernel.Usage u = kernel.usage(m.id).orElseThrow();
                    assertEquals(new Kernel.Usage(m.quota, m.small(), m.huge(), m.objects(), m.reserved()), u,
                            "usage of container " + m.id.id() + " after " + s);
                }
            }
            for (Model m : live) {
                assertTrue(m == root || kernel.killContainer(m.id).isOk() || !kernel.usage(m.id).isOk());
            }
            assertEquals(root.small() + 512 * root.huge(),
                    kernel.totalFrames() - kernel.freeFrames(), "only the root's own frames are held");
            // The weights must keep reaching the paths of pages and capabilities in flight.
            Statistics.label("sends").coverage(check -> {
                check.check("page").count(n -> n > 0);
                check.check("capability").count(n -> n > 0);
            });
            Statistics.label("receives").coverage(check -> check.check("ok").count(n -> n > 0));
        }
    }

    /** A container model standing for one killed while its page was in flight. */
    private static final Model DEAD_CONTAINER = new Model(new ContainerId(0), null, new Quota(0, 0, 1), List.of());

    private static long freeSmall(Model c) {
        return c.quota.smallFrames() - c.small() - c.reserved().smallFrames();
    }

    private static long freeObjects(Model c) {
        return c.quota.objects() - c.objects() - c.reserved().objects();
    }

    private static ProcModel anyProcess(List<Model> live, int pick) {
        List<ProcModel> all = live.stream().flatMap(m -> m.processes.stream()).toList();
        return all.isEmpty() ? null : all.get(pick % all.size());
    }

    /** The steps of processes, pages, endpoints, capabilities, messages and threads. */
    private static void processStep(Kernel kernel, Step s, Model target, List<Model> live) {
        ProcModel p = anyProcess(live, s.b());
        Model c = s.kind() == 13 || p == null ? target : p.container;
        Cap cap = p == null || p.caps.isEmpty() ? null : p.caps.get(s.a() % p.caps.size());
        switch (s.kind()) {
            case 13 -> {
                Result<KernelProcess> r = kernel.newProcess(c.id, "p" + s.b());
                assertEquals(freeObjects(c) >= 1, r.isOk(), r.toString());
                if (r.isOk()) {
                    c.processes.add(new ProcModel(r.orElseThrow(), c));
                }
            }
            case 14 -> {
                if (p != null) {
                    assertTrue(kernel.kill(p.p).isOk());
                    endProcess(p);
                    assertEquals(KernelError.NO_SUCH_OBJECT, kernel.map(p.p, 0, 1).error());
                }
            }
            case 15 -> {
                if (p != null) {
                    int n = 1 + s.b() % 4;
                    long vpn = s.a() % 16;
                    Result<Void> r = kernel.map(p.p, vpn * Kernel.PAGE, n);
                    boolean used = false;
                    for (int i = 0; i < n; i++) {
                        used |= p.pages.contains(vpn + i);
                    }
                    if (freeSmall(c) < n) {                     // the quota is looked at first
                        assertEquals(KernelError.QUOTA_EXCEEDED, r.error(), r.toString());
                    } else if (used) {
                        assertTrue(r.error() == KernelError.VA_IN_USE || r.error() == KernelError.OUT_OF_MEMORY,
                                r.toString());                       // then the pool, then the pages
                    } else if (r.isOk()) {
                        for (int i = 0; i < n; i++) {
                            p.pages.add(vpn + i);
                        }
                    } else {
                        assertEquals(KernelError.OUT_OF_MEMORY, r.error(), r.toString());
                    }
                }
            }
            case 16 -> {
                if (p != null && !p.pages.isEmpty()) {
                    long vpn = p.pages.stream().sorted().toList().get(s.a() % p.pages.size());
                    MemorySegment page = kernel.page(p.p, vpn * Kernel.PAGE).orElseThrow();
                    assertTrue(kernel.unmap(p.p, vpn * Kernel.PAGE, 1).isOk());
                    p.pages.remove(vpn);
                    assertFalse(page.scope().isAlive());
                }
            }
            case 17 -> {
                if (p != null) {
                    int capacity = 2 << (s.a() % 2);
                    Result<Integer> r = kernel.newEndpoint(p.p, capacity);
                    assertEquals(freeObjects(c) >= 1, r.isOk(), r.toString());
                    if (r.isOk()) {
                        EpModel e = new EpModel(p, capacity);
                        p.endpoints.add(e);
                        c.world.add(e);
                        p.caps.add(new Cap(r.orElseThrow(), e, Rights.ALL));
                    }
                }
            }
            case 18 -> {
                ProcModel to = anyProcess(live, s.a() * 7 + s.b());
                if (cap != null && to != null) {
                    Rights want = new Rights(s.b() % 8);
                    Result<Integer> r = kernel.grant(p.p, cap.slot(), to.p, want);
                    if (!cap.rights().contains(want.plus(Rights.GRANT))) {
                        assertEquals(KernelError.NO_RIGHTS, r.error(), r.toString());
                    } else if (cap.endpoint().dead) {
                        assertEquals(KernelError.STALE_CAPABILITY, r.error(), r.toString());
                    } else {
                        to.caps.add(new Cap(r.orElseThrow(), cap.endpoint(), want));
                    }
                }
            }
            case 19 -> {
                if (cap != null) {
                    int variant = s.b() % 3;
                    Message m = Message.of(s.b());
                    Long vpn = variant == 1 && !p.pages.isEmpty() ? p.pages.iterator().next() : null;
                    Cap passed = variant == 2 ? p.caps.get(s.b() % p.caps.size()) : null;
                    if (vpn != null) {
                        m = m.withFrame(vpn * Kernel.PAGE);
                    }
                    if (passed != null) {
                        m = m.withCapability(passed.slot(), passed.rights());
                    }
                    Result<Void> r = kernel.trySend(p.p, cap.slot(), m);
                    Rights needs = passed != null ? new Rights(Rights.WRITE_BIT | Rights.GRANT_BIT) : Rights.WRITE;
                    EpModel e = cap.endpoint();
                    if (!cap.rights().contains(needs)) {
                        assertEquals(KernelError.NO_RIGHTS, r.error(), r.toString());
                    } else if (e.dead) {
                        assertEquals(KernelError.STALE_CAPABILITY, r.error(), r.toString());
                    } else if (e.queue.size() == e.capacity) {
                        assertEquals(KernelError.WOULD_BLOCK, r.error(), r.toString());
                    } else {
                        assertTrue(r.isOk(), r.toString());
                        Statistics.label("sends").collect(vpn != null ? "page" : passed != null ? "capability" : "plain");
                        if (vpn != null) {
                            p.pages.remove(vpn);
                        }
                        e.queue.add(new Msg(s.b(), vpn != null ? c : null, passed));
                    }
                }
            }
            case 20 -> {
                if (cap != null) {
                    Result<Message> r = kernel.tryReceive(p.p, cap.slot());
                    Statistics.label("receives").collect(r.isOk() ? "ok" : r.error());
                    EpModel e = cap.endpoint();
                    if (!cap.rights().contains(Rights.READ)) {
                        assertEquals(KernelError.NO_RIGHTS, r.error(), r.toString());
                    } else if (e.dead) {
                        assertEquals(KernelError.STALE_CAPABILITY, r.error(), r.toString());
                    } else if (e.queue.isEmpty()) {
                        assertEquals(KernelError.WOULD_BLOCK, r.error(), r.toString());
                    } else {
                        Msg want = e.queue.remove(0);
                        Message got = r.orElseThrow();
                        assertEquals(want.word(), got.word(0));
                        if (want.pageFrom() == DEAD_CONTAINER) {
                            assertEquals(KernelError.NO_SUCH_OBJECT, got.frameError(), got.toString());
                        } else if (want.pageFrom() != null && want.pageFrom() != c && freeSmall(c) < 1) {
                            assertEquals(KernelError.QUOTA_EXCEEDED, got.frameError(), got.toString());
                        } else if (want.pageFrom() != null) {
                            assertEquals(null, got.frameError(), got.toString());
                            assertTrue(p.pages.add(got.frame() / Kernel.PAGE));
                        }
                        if (want.passed() != null) {
                            p.caps.add(new Cap(got.capability(), want.passed().endpoint(), want.passed().rights()));
                        }
                    }
                }
            }
            case 21 -> {
                if (cap != null) {
                    Result<Void> r = kernel.destroyEndpoint(p.p, cap.slot());
                    if (!cap.rights().contains(Rights.ALL)) {
                        assertEquals(KernelError.NO_RIGHTS, r.error(), r.toString());
                    } else if (cap.endpoint().dead) {
                        assertEquals(KernelError.STALE_CAPABILITY, r.error(), r.toString());
                    } else {
                        assertTrue(r.isOk(), r.toString());
                        destroy(cap.endpoint());
                    }
                }
            }
            case 22 -> {
                if (p != null) {
                    Result<KernelThread> r = kernel.newThread(p.p, ThreadSpec.of("t" + s.b(), () -> 0));
                    assertEquals(freeObjects(c) >= 1, r.isOk(), r.toString());
                    if (r.isOk()) {
                        p.threads.add(r.orElseThrow());
                    }
                }
            }
            case 23 -> {
                if (p != null && !p.threads.isEmpty()) {
                    KernelThread t = p.threads.remove(s.a() % p.threads.size());
                    assertTrue(kernel.kill(t).isOk());
                    assertEquals(ThreadState.DEAD, t.state());
                }
            }
            default -> throw new AssertionError(s);
        }
    }

    private static void destroy(EpModel e) {
        e.dead = true;
        e.queue.clear();
        e.owner.endpoints.remove(e);
    }

    private static void endProcess(ProcModel p) {
        p.container.processes.remove(p);
        for (EpModel e : List.copyOf(p.endpoints)) {
            destroy(e);
        }
        p.pages.clear();
        p.threads.clear();
    }

    private static void dropOwnedBy(Model c, Domain<Cell> d) {
        c.shared.removeIf(x -> x.owner() == d && !x.isValid());
        assertTrue(c.shared.stream().noneMatch(x -> x.owner() == d), "a dead owner's objects are dropped");
    }

    private static Frame pick(List<Frame> frames, FrameSize size, int b) {
        List<Frame> of = frames.stream().filter(f -> f.size() == size).toList();
        return of.isEmpty() ? null : of.get(b % of.size());
    }

    private static void forget(Model c, List<Model> live) {
        live.remove(c);
        for (ProcModel p : List.copyOf(c.processes)) {
            endProcess(p);
        }
        for (Model child : c.children) {
            forget(child, live);
        }
    }
}
