package io.hashkernel.kernel;

import io.hashkernel.table.LongLongMap;

import java.util.ArrayList;
import java.util.List;

/**
 * The kernel's invariants, checked against its state under its lock: the pool's own counts, the
 * frame maps, the containers' counters and quotas, the object maps and the domains' memory.
 * Everything is recomputed from the maps and compared with what the kernel keeps.
 */
final class Invariants {
    private final Kernel k;
    private final List<String> violations = new ArrayList<>();

    Invariants(Kernel k) {
        this.k = k;
    }

    List<String> check() {
        if (k.isClosed()) {
            return List.of();
        }
        frames();
        containers();
        objects();
        domains();
        processes();
        return List.copyOf(violations);
    }

    private void fail(String violation) {
        if (violations.size() < 100) {
            violations.add(violation);
        }
    }

    /**
     * Every held frame is allocated in the pool and held by a live container (or in quarantine,
     * as the quarantine says); free + held = total.
     */
    private void frames() {
        FramePool pool = k.pool;
        long[] held = new long[2];                       // small, huge
        long[] quarantined = {0};
        k.frameOwner.forEach((frame, holder) -> {
            if (!pool.inPool(frame)) {
                fail("frame map names frame " + frame + " outside the pool");
                return;
            }
            if (pool.isHugeAllocated(frame)) {
                held[1]++;
            } else if (pool.isSmallAllocated(frame)) {
                held[0]++;
            } else {
                fail("frame " + frame + " is held by " + holder + " but free in the pool");
            }
            if (holder == Kernel.QUARANTINE) {
                quarantined[0] += pool.isHugeAllocated(frame) ? FramePool.PER_SUPERPAGE : 1;
            } else if (!(k.objects.get(holder) instanceof Container)) {
                fail("frame " + frame + " is held by " + holder + ", which is not a live container");
            }
        });
        if (quarantined[0] != k.quarantinedFrames()) {
            fail("the frame map has " + quarantined[0] + " 4 KiB frames in quarantine, the quarantine "
                    + k.quarantinedFrames());
        }
        if (held[0] != pool.countAllocatedSmall() || held[1] != pool.countAllocatedHuge()) {
            fail("the frame map holds " + held[0] + " 4 KiB and " + held[1] + " 2 MiB frames, the pool has "
                    + pool.countAllocatedSmall() + " and " + pool.countAllocatedHuge() + " allocated");
        }
        long total = pool.freeSmallFrames() + held[0] + held[1] * FramePool.PER_SUPERPAGE;
        if (total != pool.totalSmallFrames()) {
            fail("free + held = " + total + " 4 KiB frames, the pool has " + pool.totalSmallFrames() + " (a leak)");
        }
        k.frameDomain.forEach((frame, domain) -> {
            if (!(k.objects.get(domain) instanceof Domain<?> d) || d.live == null) {
                fail("frame " + frame + " is mapped into " + domain + ", which is not a live domain");
            } else if (k.frameOwner.get(frame) != d.container) {
                fail("frame " + frame + " is mapped into domain " + domain + " but held by "
                        + k.frameOwner.get(frame) + ", not by its container " + d.container);
            }
        });
    }

    /** Each container's counters equal what the maps say it holds, and stay within its quota. */
    private void containers() {
        k.objects.forEach(o -> {
            if (!(o instanceof Container c)) {
                return;
            }
            long[] frames = new long[2];
            k.frameOwner.forEach((frame, holder) -> {
                if (holder == c.id) {
                    frames[k.pool.isHugeAllocated(frame) ? 1 : 0]++;
                }
            });
            long[] charged = new long[4];                // objects, reserved small, huge, objects
            k.objectContainer.forEach((object, holder) -> {
                if (holder == c.id && object != c.id) {
                    charged[0]++;
                    if (k.objects.get(object) instanceof Container child) {
                        charged[1] += child.quota.smallFrames();
                        charged[2] += child.quota.hugeFrames();
                        charged[3] += child.quota.objects();
                    }
                }
            });
            if (frames[0] != c.smallFrames || frames[1] != c.hugeFrames) {
                fail(c + " counts " + c.smallFrames + " 4 KiB and " + c.hugeFrames + " 2 MiB frames, the map has "
                        + frames[0] + " and " + frames[1]);
            }
            if (charged[0] != c.objects || charged[1] != c.reservedSmall || charged[2] != c.reservedHuge
                    || charged[3] != c.reservedObjects) {
                fail(c + " counts " + c.objects + " objects and reserves " + c.reservedSmall + "/" + c.reservedHuge
                        + "/" + c.reservedObjects + "; the maps say " + charged[0] + " and " + charged[1] + "/"
                        + charged[2] + "/" + charged[3]);
            }
            if (c.freeSmall() < 0 || c.freeHuge() < 0 || c.freeObjects() < 0) {
                fail(c + " is over its quota " + c.quota + ": holds " + c.smallFrames + "/" + c.hugeFrames + "/"
                        + c.objects + ", reserves " + c.reservedSmall + "/" + c.reservedHuge + "/" + c.reservedObjects);
            }
            if (c.parent != 0 && !(k.objects.get(c.parent) instanceof Container)) {
                fail(c + "'s parent " + c.parent + " is not a live container");
            }
        });
    }

    /** The object map and the object arrays describe the same objects. */
    private void objects() {
        long[] entries = {0};
        LongLongMap map = k.objectContainer;
        map.forEach((object, holder) -> {
            entries[0]++;
            Object o = k.objects.get(object);
            if (o == null) {
                fail("the object map names " + object + ", which does not exist");
            } else if (o instanceof Container c && holder != (c.parent == 0 ? c.id : c.parent)) {
                fail(c + " is charged to " + holder + ", its parent is " + c.parent);
            } else if (o instanceof Domain<?> d && holder != d.container) {
                fail(d + " is charged to " + holder + ", its container is " + d.container);
            } else if (o instanceof KernelProcess p && holder != p.container) {
                fail(p + " is charged to " + holder + ", its container is " + p.container);
            } else if (o instanceof KernelThread t && holder != t.process.container) {
                fail(t + " is charged to " + holder + ", its process's container is " + t.process.container);
            } else if (o instanceof Endpoint e && holder != e.owner.container) {
                fail(e + " is charged to " + holder + ", its process's container is " + e.owner.container);
            } else if (o instanceof SharedObject x && (holder != x.container || x.owner.container != x.container)) {
                fail("exchange-heap object " + object + " is charged to " + holder + ", its owner "
                        + x.owner + " is in container " + x.owner.container);
            }
        });
        if (entries[0] != k.objects.live()) {
            fail("the object map has " + entries[0] + " entries for " + k.objects.live() + " objects");
        }
        if (!(k.objects.get(k.root) instanceof Container)) {
            fail("the root container is gone");
        }
    }

    /** A live domain's state says so; a dead one holds no memory; every allocation's segment is open exactly while its domain lives. */
    private void domains() {
        k.objects.forEach(o -> {
            if (o instanceof Domain<?> d) {
                long state = k.domainState.get(d.id);
                if (state != (d.live != null ? Kernel.ALIVE : Kernel.DEAD)) {
                    fail(d + " has state " + state + " in the domain map");
                }
            }
        });
        long[] shared = {0};
        long[] covered = {0};                            // frames of allocations and shared objects
        k.objects.forEach(o -> {
            if (o instanceof SharedObject x) {
                shared[0]++;
                if (x.state() == SharedObject.DROPPED || !x.arena.scope().isAlive()) {
                    fail("exchange-heap object " + x.id + " is dropped but still an object");
                }
                if (x.owner.live == null || k.objects.get(x.owner.id) != x.owner) {
                    fail("exchange-heap object " + x.id + " is owned by " + x.owner + ", which is not alive");
                }
                if (k.sharedOwner.get(x.id) != x.owner.id) {
                    fail("the owner map says exchange-heap object " + x.id + " is owned by "
                            + k.sharedOwner.get(x.id) + ", not by " + x.owner);
                }
                long step = FramePool.step(x.size);
                for (int i = 0; i < x.count; i++) {
                    if (k.frameOwner.get(x.first + i * step) != x.container) {
                        fail("frame " + (x.first + i * step) + " of exchange-heap object " + x.id + " is not held by its container");
                    }
                    if (k.frameDomain.get(x.first + i * step) != x.owner.id) {
                        fail("frame " + (x.first + i * step) + " of exchange-heap object " + x.id + " is not marked in use by its owner");
                    }
                }
                covered[0] += x.count;
            }
        });
        long[] owned = {0};
        k.sharedOwner.forEach((object, owner) -> owned[0]++);
        if (owned[0] != shared[0]) {
            fail("the owner map has " + owned[0] + " entries for " + shared[0] + " exchange-heap objects");
        }
        k.forEachAllocation((domain, first, count, size, open, revoked, id) -> {
            Domain.Incarnation<?> live = domain.live;
            if (revoked || live == null || !open) {
                fail("an allocation at frame " + first + " of " + domain + " outlives its incarnation (open " + open + ")");
            }
            if (k.allocationAt.get(first) != id) {
                fail("the allocation map does not find the allocation at frame " + first);
            }
            long step = FramePool.step(size);
            for (int i = 0; i < count; i++) {
                if (k.frameDomain.get(first + i * step) != domain.id) {
                    fail("frame " + (first + i * step) + " of an allocation of " + domain + " is not mapped to it");
                }
            }
            covered[0] += count;
        });
        long[] mapped = {0};
        k.frameDomain.forEach((frame, domain) -> mapped[0]++);
        if (mapped[0] != covered[0]) {
            fail(mapped[0] + " frames are marked in use by domains, " + covered[0] + " belong to their allocations and objects");
        }
    }

    /**
     * Processes, threads and endpoints are alive while they are objects, and belong to a live
     * process; every page is mapped two ways (page table and frame map agree with the mapping),
     * in one process at most, or is in flight; a mapped page's segment is open, held by its
     * process's container.
     */
    private void processes() {
        long[] owned = {0};
        k.objects.forEach(o -> {
            KernelProcess owner = o instanceof KernelThread t ? t.process : o instanceof Endpoint e ? e.owner : null;
            if (o instanceof KernelProcess p && p.dead) {
                fail(p + " is dead but still an object");
            }
            if (owner == null) {
                return;
            }
            owned[0]++;
            if (k.objects.get(owner.id) != owner || owner.dead) {
                fail(o + " belongs to " + owner + ", which is not alive");
            }
            if (k.objectProcess.get(id(o)) != owner.id) {
                fail("the process map does not say " + o + " belongs to " + owner);
            }
            if (o instanceof KernelThread t && (t.killed || t.state == ThreadState.DEAD)) {
                fail(t + " is killed but still an object");
            }
            if (o instanceof Endpoint e && e.dead) {
                fail(e + " is destroyed but still an object");
            }
        });
        long[] entries = {0};
        k.objectProcess.forEach((object, process) -> entries[0]++);
        if (entries[0] != owned[0]) {
            fail("the process map has " + entries[0] + " entries for " + owned[0] + " threads and endpoints");
        }
        long[] mapped = {0};
        k.mappings.forEach(m -> {
            if (k.frameOwner.get(m.frame) != m.container || !(k.objects.get(m.container) instanceof Container)) {
                fail("the frame " + m.frame + " of page mapping " + m.id + " is held by " + k.frameOwner.get(m.frame)
                        + ", not by its live container " + m.container);
            }
            if (k.frameMapping.get(m.frame) != m.id) {
                fail("the frame map does not name page mapping " + m.id + " for its frame " + m.frame);
            }
            if (k.frameDomain.get(m.frame) != 0) {
                fail("frame " + m.frame + " is both a process's page and in use by domain " + k.frameDomain.get(m.frame));
            }
            KernelProcess p = m.process;
            if (p == null) {
                if (m.arena != null) {
                    fail("page mapping " + m.id + " is in flight with a segment still open");
                }
                return;
            }
            mapped[0]++;
            if (k.objects.get(p.id) != p || p.dead) {
                fail("frame " + m.frame + " is mapped in " + p + ", which is not alive");
            } else if (p.pages.get(m.vpn) != m.id) {
                fail("frame " + m.frame + " is mapped at page " + m.vpn + " of " + p + ", whose page table says "
                        + p.pages.get(m.vpn));
            }
            if (m.container != p.container) {
                fail("frame " + m.frame + " mapped in " + p + " is held by " + m.container + ", not by its container");
            }
            if (m.arena == null || !m.arena.scope().isAlive()) {
                fail("the segment of frame " + m.frame + " mapped in " + p + " is closed");
            }
        });
        long[] frames = {0};
        k.frameMapping.forEach((frame, mapping) -> frames[0]++);
        if (frames[0] != k.mappings.live()) {
            fail("the frame map names " + frames[0] + " process pages, there are " + k.mappings.live() + " mappings");
        }
        long[] tables = {0};
        k.objects.forEach(o -> {
            if (o instanceof KernelProcess p) {
                p.pages.forEach((vpn, mapping) -> {
                    tables[0]++;
                    Mapping m = k.mappings.get(mapping);
                    if (m == null || m.process != p || m.vpn != vpn) {
                        fail("page " + vpn + " of " + p + " names mapping " + mapping + ", which is not mapped there");
                    }
                });
                p.capabilities.forEach((slot, cap) -> {
                    if (slot < 0 || slot >= p.nextSlot || (cap & Processes.ID_MASK) == 0) {
                        fail("capability slot " + slot + " of " + p + " holds " + cap + ", which names nothing");
                    }
                });
            }
        });
        if (tables[0] != mapped[0]) {
            fail("the page tables have " + tables[0] + " entries for " + mapped[0] + " mapped pages");
        }
    }

    private static long id(Object o) {
        return o instanceof KernelThread t ? t.id : ((Endpoint) o).id;
    }
}
