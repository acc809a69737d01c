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
}
