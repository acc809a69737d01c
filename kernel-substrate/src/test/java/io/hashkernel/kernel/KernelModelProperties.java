package io.hashkernel.kernel;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random sequences of kernel calls (containers, frames, splits and merges, domains, calls,
 * crashes, kills, exchange-heap objects moved and dropped) against a model of what each container holds: after every step the kernel's
 * invariants hold and every container's usage is the model's. jqwik shrinks a failing sequence.
 */
class KernelModelProperties {
    private static final int SUPERPAGES = 6;

    /** One call: which, and two numbers that pick its arguments. */
    record Step(int kind, int a, int b) {
        @Override
        public String toString() {
            String[] names = {"newContainer", "killContainer", "allocateFrame", "freeFrame", "splitFrame",
                    "mergeFrames", "newDomain", "call", "crash", "killDomain", "allocateShared", "moveShared",
                    "dropShared"};
            return names[kind] + "(" + a + ", " + b + ")";
        }
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        return Combinators.combine(Arbitraries.integers().between(0, 12), Arbitraries.integers().between(0, 999),
                Arbitraries.integers().between(0, 999)).as(Step::new).list().ofMaxSize(60);
    }

    /** A domain's service: one 8-byte cell (a 4 KiB frame) it counts in. */
    interface Cell {
        long increment();
    }

    /** What the model knows of a live container. */
    static final class Model {
        final ContainerId id;
        final Model parent;
        final Quota quota;
        final List<Model> children = new ArrayList<>();
        final List<Frame> frames = new ArrayList<>();
        final List<Domain<Cell>> domains = new ArrayList<>();
        /** Exchange-heap objects owned by its domains (each one 4 KiB frame). */
        final List<XRef> shared = new ArrayList<>();

        Model(ContainerId id, Model parent, Quota quota) {
            this.id = id;
            this.parent = parent;
            this.quota = quota;
        }

        long small() {
            return frames.stream().filter(f -> f.size() == FrameSize.SMALL).count()
                    + domains.stream().filter(Domain::isAlive).count() + shared.size();
        }

        long huge() {
            return frames.stream().filter(f -> f.size() == FrameSize.HUGE).count();
        }

        long objects() {
            return children.size() + domains.size() + shared.size();
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
            Model root = new Model(kernel.root(), null, kernel.usage(kernel.root()).orElseThrow().quota());
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
                            Model m = new Model(r.orElseThrow(), c, q);
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
                    default -> throw new AssertionError(s);
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
        }
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
        for (Model child : c.children) {
            forget(child, live);
        }
    }
}
