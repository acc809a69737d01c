package io.hashkernel.kernel;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.GrowingLongLongTable;
import io.hashkernel.table.LongLongMap;
import io.hashkernel.table.spi.MemoryProvider;
import io.hashkernel.table.spi.TableMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The kernel substrate: a pool of physical memory cut into 4 KiB frames and 2 MiB superpages, a
 * tree of containers with quotas, and isolation {@link Domain}s whose memory is revoked when they
 * fail and which restart.
 *
 * <p>Its calls never throw at a refused request: they return a {@link Result}, whose
 * {@link Result.Err} names the {@link KernelError} and says what was wrong and what is allowed
 * (the quota and the container, say). They are thread-safe.
 *
 * <p>Guarantees, checked by {@link #checkInvariants()}: no frame is lost (free + held = the
 * pool), every held frame has exactly one holder, every container holds no more than its quota
 * (and its children's quotas are reserved from it), every map agrees with the objects it
 * describes, and a dead domain holds no memory and no segment it was given is still open.
 */
public final class Kernel implements AutoCloseable {

    /*
     * Implementation notes.
     *
     * One lock. Every call that changes kernel state takes `lock` (a big kernel lock, as in
     * Atmosphere's verified kernel): the maps, the pool, the object arrays and the containers'
     * counters are only written under it, so each call is atomic and checkInvariants() (under it
     * too) sees a consistent state. Domain calls do not take it: Domain.call reads the domain's
     * volatile incarnation and runs the service in the caller's thread.
     *
     * Maps. Every map the kernel keeps is a HashKernel table in kernel-owned memory (memory the
     * kernel allocates for itself outside the frame pool), keyed by frame number or object id,
     * with 0 as the missing value (ids and frame owners are never 0):
     *   frameOwner:       frame -> container holding it (a superpage under its first frame)
     *   frameDomain:      frame -> domain using it (a domain allocation, or an exchange-heap object it owns):
     *                     such a frame is "mapped", and its container cannot free, split or merge it
     *   allocationAt:     first frame of a domain allocation -> allocation id
     *   objectContainer:  object (container, domain) -> the container charged for it (the root: itself)
     *   domainState:      domain -> ALIVE or DEAD
     *   sharedOwner:      exchange-heap object -> the domain owning it
     * Frame numbers are bounded by the pool, so the frame maps are fixed tables sized at boot; the
     * object maps grow. Objects live in arrays indexed by the low half of their ids
     * (ObjectSlots); the high half is a generation, so ids are never reused.
     *
     * Revocation. A domain allocation is a slice of the pool re-scoped to a shared Arena of its
     * own (MemorySegment.reinterpret). Freeing it, or the domain's death, closes that arena
     * before the frames go back to the pool: closing a shared arena is a handshake with every
     * thread, after which no access through the segment can happen (one in flight completes or
     * throws), so a frame is never reachable by its old domain once another may get it. One arena
     * per allocation (not one per domain) is what lets a live domain free memory without keeping
     * a way into frames that the pool may hand to someone else.
     *
     * Quarantine. Closing an arena fails while a JDK operation holds it (a channel writing the
     * segment's ByteBuffer, say). Its frames then leave their container for the quarantine (held
     * by QUARANTINE in the frame map), and each later frame allocation, checkInvariants() and
     * close() try the close again; only once it succeeds do the frames go back to the pool. If
     * some are still held at close(), the pool stays mapped, so the holder never faults.
     *
     * Factories. A domain's factory runs under the lock and may call the kernel, even to kill its
     * own domain or container or to close the kernel. The starting context is recorded in the
     * domain (starting), so such a kill revokes what the factory allocated; when the factory
     * returns, start() installs the incarnation only if the domain still exists and was not
     * killed, else it fails.
     *
     * Failure. Domain.call catches every Throwable of the service and calls failed(domain,
     * incarnation): under the lock, if that incarnation is still the live one, the domain is
     * marked dead (incarnation null, domainState DEAD), every allocation of the incarnation is
     * revoked and its frames freed, and the restart policy may start a new incarnation (its
     * factory runs again, in fresh memory; once a failure: if it fails again, the domain stays
     * dead). Calls that were running in the old incarnation read
     * revoked memory and fail in turn; they find the incarnation already replaced and only
     * report the error.
     *
     * Exchange heap. A shared object is frames (charged to its owner's container, in the frame map
     * like any other) in an arena of its own, plus an ownership word (SharedObject): epoch << 20 |
     * borrows, or -1 once dropped. A handle (XRef) carries the epoch it was made for and checks
     * the word before each access. A borrow CASes the count up only while the epoch matches; a
     * move or a drop CASes (epoch, 0 borrows) to the next epoch or to -1, so a move racing a
     * borrow either happens first (the borrow finds a new epoch and is refused) or fails
     * (INVALID_STATE, borrowed). A drop closes the object's arena before its frames go back, so an
     * access that passed the check while the drop ran throws rather than reading a reused frame.
     * The owner's death drops its objects whatever their borrows (the borrowers' reads throw).
     */

    static final long ALIVE = 1;
    static final long DEAD = 2;
    /** The frame map's holder of quarantined frames (not a container: ids are positive). */
    static final long QUARANTINE = -1;

    /** 4 KiB: a process's page. */
    static final long PAGE = FramePool.SMALL;
    /** Virtual addresses of a process are below 2^47. */
    static final long VA_LIMIT = 1L << 47;
    /** Where the kernel maps pages a process receives, unless taken: the upper half of its address space. */
    static final long RECEIVE_BASE = 1L << 46;

    final ReentrantLock lock = new ReentrantLock();
    final FramePool pool;
    private final long poolBase;
    final ObjectSlots<Object> objects = new ObjectSlots<>();
    private final ObjectSlots<Allocation> allocations = new ObjectSlots<>();
    final ObjectSlots<Mapping> mappings = new ObjectSlots<>();
    final ConcurrentLongLongTable frameOwner;
    final ConcurrentLongLongTable frameDomain;
    final ConcurrentLongLongTable allocationAt;
    final GrowingLongLongTable objectContainer;
    final GrowingLongLongTable domainState;
    final GrowingLongLongTable sharedOwner;
    final ConcurrentLongLongTable frameMapping;
    final GrowingLongLongTable objectProcess;
    final Processes procs = new Processes(this);
    final long root;
    /** Revoked memory whose arena could not be closed yet (a JDK operation holds it): its frames wait here. */
    private final List<Quarantined> quarantine = new ArrayList<>();
    private volatile boolean closed;

    private Kernel(Builder b) {
        this.pool = new FramePool(b.superpages);
        this.poolBase = pool.bytes(0, 1).address();
        long frameSlots = Math.max(64, Long.highestOneBit(pool.totalSmallFrames() * 2 - 1) * 2);
        List<LongLongMap> made = new ArrayList<>();
        try {
            frameOwner = frameTable(frameSlots, made);
            frameDomain = frameTable(frameSlots, made);
            allocationAt = frameTable(frameSlots, made);
            objectContainer = objectTable(made);
            domainState = objectTable(made);
            sharedOwner = objectTable(made);
            frameMapping = frameTable(frameSlots, made);
            objectProcess = objectTable(made);
        } catch (RuntimeException e) {
            made.forEach(LongLongMap::close);
            pool.close();
            throw e;
        }
        Quota rootQuota = new Quota(pool.totalSmallFrames(), pool.superpages(), b.rootObjects);
        this.root = objects.add(id -> new Container(id, 0, rootQuota));
        objectContainer.put(root, root);
    }

    private static ConcurrentLongLongTable frameTable(long slots, List<LongLongMap> made) {
        ConcurrentLongLongTable t = ConcurrentLongLongTable.builder().capacity(slots).build();
        made.add(t);
        return t;
    }

    private static GrowingLongLongTable objectTable(List<LongLongMap> made) {
        GrowingLongLongTable t = GrowingLongLongTable.builder().capacity(64).build();
        made.add(t);
        return t;
    }

    /** A builder of a kernel of 64 MiB of frames. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options of a {@link Kernel}. */
    public static final class Builder {
        private int superpages = 32;
        private long rootObjects = 1 << 20;

        private Builder() {
        }

        /**
         * The frame pool's size: a positive multiple of 2 MiB, at most 2 TiB.
         *
         * @throws IllegalArgumentException otherwise
         */
        public Builder memoryBytes(long bytes) {
            if (bytes <= 0 || bytes % FramePool.HUGE != 0 || bytes / FramePool.HUGE > Integer.MAX_VALUE / FramePool.PER_SUPERPAGE) {
                throw new IllegalArgumentException("the frame pool must be a positive multiple of 2 MiB of at most 2 TiB, was "
                        + bytes + " bytes");
            }
            this.superpages = (int) (bytes / FramePool.HUGE);
            return this;
        }

        /**
         * How many kernel objects the root container may hold (its quota's third part; its frame
         * quotas are the whole pool). Default 2^20.
         *
         * @throws IllegalArgumentException if not positive
         */
        public Builder rootObjects(long objects) {
            if (objects <= 0) {
                throw new IllegalArgumentException("rootObjects must be positive, was " + objects);
            }
            this.rootObjects = objects;
            return this;
        }

        /**
         * Boots the kernel: maps the pool and builds the kernel's maps.
         *
         * @throws IllegalArgumentException if the machine cannot give the memory
         */
        public Kernel build() {
            return new Kernel(this);
        }
    }

    // ------------------------------------------------------------------------------ containers

    /** The root container: its quotas are the whole pool. */
    public ContainerId root() {
        return new ContainerId(root);
    }

    /**
     * A new child of {@code parent} with quota {@code quota}, reserved from the parent's quota
     * (plus one object of the parent's for the child itself).
     */
    public Result<ContainerId> newContainer(ContainerId parent, Quota quota) {
        if (parent == null || quota == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "newContainer needs a parent and a quota, was "
                    + parent + ", " + quota);
        }
        String problem = quota.problem();
        if (problem != null) {
            return Result.err(KernelError.INVALID_ARGUMENT, problem);
        }
        lock.lock();
        try {
            Result<Container> p = liveContainer(parent.id());
            if (!(p instanceof Result.Ok<Container>(Container c))) {
                return cast(p);
            }
            if (c.freeSmall() < quota.smallFrames() || c.freeHuge() < quota.hugeFrames()
                    || c.freeObjects() - 1 < quota.objects()) {
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " cannot reserve " + quota
                        + " and an object for a child: it has " + c.freeSmall() + " free 4 KiB frames, "
                        + c.freeHuge() + " free 2 MiB frames and " + c.freeObjects() + " free objects of its quota " + c.quota);
            }
            long id = objects.add(i -> new Container(i, c.id, quota));
            c.reservedSmall += quota.smallFrames();
            c.reservedHuge += quota.hugeFrames();
            c.reservedObjects += quota.objects();
            c.objects++;
            objectContainer.put(id, c.id);
            return Result.ok(new ContainerId(id));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Kills a container: its child containers (recursively) and domains die, every frame they
     * hold goes back to the pool, and its quota goes back to its parent.
     */
    public Result<Void> killContainer(ContainerId container) {
        if (container == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "killContainer needs a container, was null");
        }
        lock.lock();
        try {
            Result<Container> r = liveContainer(container.id());
            if (!(r instanceof Result.Ok<Container>(Container c))) {
                return cast(r);
            }
            if (c.id == root) {
                return Result.err(KernelError.INVALID_ARGUMENT, "the root container cannot be killed; close the kernel");
            }
            kill(c);
            Container parent = (Container) objects.get(c.parent);
            parent.reservedSmall -= c.quota.smallFrames();
            parent.reservedHuge -= c.quota.hugeFrames();
            parent.reservedObjects -= c.quota.objects();
            parent.objects--;
            return Result.ok(null);
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: frees everything {@code c} and its descendants hold, and removes them. */
    private void kill(Container c) {
        List<Long> charged = new ArrayList<>();
        objectContainer.forEach((object, holder) -> {
            if (holder == c.id && object != c.id) {
                charged.add(object);
            }
        });
        for (long object : charged) {
            Object o = objects.get(object);
            if (o instanceof Container child) {
                kill(child);
            } else if (o instanceof Domain<?> d) {
                remove(d);
            } else if (o instanceof SharedObject x) {
                x.forceDrop();
                releaseShared(x);
            } else if (o instanceof KernelProcess p) {
                procs.end(p);                            // and its threads and endpoints, charged here too
            }
        }
        procs.freeInFlight(c.id);
        List<Long> frames = new ArrayList<>();
        frameOwner.forEach((frame, holder) -> {
            if (holder == c.id) {
                frames.add(frame);
            }
        });
        for (long frame : frames) {
            releaseFrame(c, frame);
        }
        objectContainer.remove(c.id);
        objects.remove(c.id);
    }

    /** What a container may hold and holds. */
    public Result<Usage> usage(ContainerId container) {
        if (container == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "usage needs a container, was null");
        }
        lock.lock();
        try {
            return liveContainer(container.id()).map(c -> new Usage(c.quota, c.smallFrames, c.hugeFrames, c.objects,
                    new Quota(c.reservedSmall, c.reservedHuge, c.reservedObjects)));
        } finally {
            lock.unlock();
        }
    }

    /**
     * A container's quota and what it holds against it.
     *
     * @param quota       its quota
     * @param smallFrames 4 KiB frames it (or its domains) holds
     * @param hugeFrames  2 MiB frames it (or its domains) holds
     * @param objects     objects charged to it (children, domains)
     * @param reserved    the quotas of its children
     */
    public record Usage(Quota quota, long smallFrames, long hugeFrames, long objects, Quota reserved) {
    }

    // ---------------------------------------------------------------------------------- frames

    /** A free frame of {@code size} for {@code container}, charged to its quota. */
    public Result<Frame> allocateFrame(ContainerId container, FrameSize size) {
        if (container == null || size == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "allocateFrame needs a container and a size, was "
                    + container + ", " + size);
        }
        lock.lock();
        try {
            Result<Container> r = liveContainer(container.id());
            if (!(r instanceof Result.Ok<Container>(Container c))) {
                return cast(r);
            }
            Result<Long> n = take(c, size, 1);
            return n.map(frame -> new Frame(frame, size));
        } finally {
            lock.unlock();
        }
    }

    /** Frees a frame {@code container} holds (not one mapped into a domain: the domain frees those). */
    public Result<Void> freeFrame(ContainerId container, Frame frame) {
        lock.lock();
        try {
            Result<Container> r = heldFrame(container, frame);
            if (!(r instanceof Result.Ok<Container>(Container c))) {
                return cast(r);
            }
            releaseFrame(c, frame.number());
            return Result.ok(null);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Splits a 2 MiB frame {@code container} holds into its 512 frames of 4 KiB, which it then
     * holds (its quota charged 512 small frames and freed one huge).
     */
    public Result<List<Frame>> splitFrame(ContainerId container, Frame frame) {
        lock.lock();
        try {
            Result<Container> r = heldFrame(container, frame);
            if (!(r instanceof Result.Ok<Container>(Container c))) {
                return cast(r);
            }
            if (frame.size() != FrameSize.HUGE) {
                return Result.err(KernelError.INVALID_STATE, "only a 2 MiB frame splits, was " + frame);
            }
            if (c.freeSmall() < FramePool.PER_SUPERPAGE) {
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " has " + c.freeSmall()
                        + " free 4 KiB frames of its quota " + c.quota + "; a split needs " + FramePool.PER_SUPERPAGE);
            }
            pool.splitAllocated(frame.number());
            List<Frame> frames = new ArrayList<>(FramePool.PER_SUPERPAGE);
            for (int i = 0; i < FramePool.PER_SUPERPAGE; i++) {
                long n = frame.number() + i;
                frameOwner.put(n, c.id);              // the first frame's entry now means the small frame
                frames.add(new Frame(n, FrameSize.SMALL));
            }
            c.hugeFrames--;
            c.smallFrames += FramePool.PER_SUPERPAGE;
            return Result.ok(List.copyOf(frames));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Merges the 512 frames of 4 KiB of one superpage, all held by {@code container} and none
     * mapped into a domain, back into one 2 MiB frame. {@code first} is the superpage's first frame.
     */
    public Result<Frame> mergeFrames(ContainerId container, Frame first) {
        lock.lock();
        try {
            Result<Container> r = heldFrame(container, first);
            if (!(r instanceof Result.Ok<Container>(Container c))) {
                return cast(r);
            }
            if (first.size() != FrameSize.SMALL || first.number() % FramePool.PER_SUPERPAGE != 0) {
                return Result.err(KernelError.INVALID_ARGUMENT, "a merge names the first 4 KiB frame of a superpage "
                        + "(a number divisible by 512), was " + first);
            }
            for (int i = 1; i < FramePool.PER_SUPERPAGE; i++) {
                long n = first.number() + i;
                if (frameOwner.get(n) != c.id || frameDomain.get(n) != 0 || frameMapping.get(n) != 0) {
                    return Result.err(KernelError.INVALID_STATE, "4 KiB frame " + n + " of the superpage is not held by "
                            + c + " outside any domain; a merge needs all 512");
                }
            }
            if (c.freeHuge() < 1) {
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " has no free 2 MiB frame in its quota " + c.quota);
            }
            for (int i = 1; i < FramePool.PER_SUPERPAGE; i++) {
                frameOwner.remove(first.number() + i);
            }
            pool.mergeAllocated((int) (first.number() / FramePool.PER_SUPERPAGE));
            c.smallFrames -= FramePool.PER_SUPERPAGE;
            c.hugeFrames++;
            return Result.ok(new Frame(first.number(), FrameSize.HUGE));
        } finally {
            lock.unlock();
        }
    }

    /** The container holding {@code frame}, or {@link KernelError#NO_SUCH_OBJECT} if it is free. */
    public Result<ContainerId> holderOf(Frame frame) {
        if (frame == null || frame.size() == null || !pool.inPool(frame.number())) {
            return Result.err(KernelError.INVALID_ARGUMENT, "no such frame in a pool of " + pool.totalSmallFrames()
                    + " 4 KiB frames: " + frame);
        }
        lock.lock();
        try {
            if (closed) {
                return closedError();
            }
            long n = frame.number();
            long holder = frameOwner.get(n);
            boolean sized = frame.size() == FrameSize.HUGE ? pool.isHugeAllocated(n) : pool.isSmallAllocated(n);
            return holder != 0 && sized ? Result.ok(new ContainerId(holder))
                    : Result.err(KernelError.NO_SUCH_OBJECT, frame + " is free");
        } finally {
            lock.unlock();
        }
    }

    /** Free memory in the pool, in 4 KiB frames (a whole free superpage counts 512). */
    public long freeFrames() {
        lock.lock();
        try {
            return pool.freeSmallFrames();
        } finally {
            lock.unlock();
        }
    }

    private long poolBytes() {
        return pool.totalSmallFrames() * FramePool.SMALL;
    }

    /** The pool's size in 4 KiB frames. */
    public long totalFrames() {
        return pool.totalSmallFrames();
    }

    /** Under the lock: {@code count} frames of {@code size} (contiguous), charged to {@code c}; the first's number. */
    Result<Long> take(Container c, FrameSize size, int count) {
        retryQuarantine();
        if (size == FrameSize.SMALL) {
            if (c.freeSmall() < count) {
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " has " + c.freeSmall()
                        + " free 4 KiB frames of its quota " + c.quota + ", asked for " + count);
            }
            long n = pool.allocateSmall();
            if (n < 0) {
                return Result.err(KernelError.OUT_OF_MEMORY, "the pool has no free 4 KiB frame ("
                        + pool.freeSmallFrames() + " free of " + pool.totalSmallFrames() + ")");
            }
            frameOwner.put(n, c.id);
            c.smallFrames++;
            return Result.ok(n);
        }
        if (c.freeHuge() < count) {
            return Result.err(KernelError.QUOTA_EXCEEDED, c + " has " + c.freeHuge()
                    + " free 2 MiB frames of its quota " + c.quota + ", asked for " + count);
        }
        long n = pool.allocateHuge(count);
        if (n < 0) {
            return Result.err(KernelError.OUT_OF_MEMORY, "the pool has no " + count + " contiguous free 2 MiB frames ("
                    + pool.wholeFreeSuperpages() + " free of " + pool.superpages() + ")");
        }
        for (int i = 0; i < count; i++) {
            frameOwner.put(n + (long) i * FramePool.PER_SUPERPAGE, c.id);
        }
        c.hugeFrames += count;
        return Result.ok(n);
    }

    /** Under the lock: frame {@code n} (held by {@code c}) back to the pool, uncharged. */
    void releaseFrame(Container c, long n) {
        frameOwner.remove(n);
        frameDomain.remove(n);
        frameMapping.remove(n);
        if (pool.isHugeAllocated(n)) {
            pool.freeHuge(n);
            c.hugeFrames--;
        } else {
            pool.freeSmall(n);
            c.smallFrames--;
        }
    }

    /** Under the lock: the live container holding {@code frame}, itself held outside any domain. */
    private Result<Container> heldFrame(ContainerId container, Frame frame) {
        if (container == null || frame == null || frame.size() == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "a frame call needs a container and a frame, was "
                    + container + ", " + frame);
        }
        Result<Container> r = liveContainer(container.id());
        if (!(r instanceof Result.Ok<Container>(Container c))) {
            return r;
        }
        long n = frame.number();
        if (!pool.inPool(n)) {
            return Result.err(KernelError.INVALID_ARGUMENT, "frame " + n + " is outside the pool of "
                    + pool.totalSmallFrames() + " 4 KiB frames");
        }
        boolean sized = frame.size() == FrameSize.HUGE ? pool.isHugeAllocated(n) : pool.isSmallAllocated(n);
        long holder = frameOwner.get(n);
        if (!sized || holder == 0) {
            return Result.err(KernelError.NO_SUCH_OBJECT, frame + " is not allocated (as a frame of that size)");
        }
        if (holder != c.id) {
            return Result.err(KernelError.NOT_OWNER, frame + " is held by container " + holder + ", not by " + c);
        }
        if (frameDomain.get(n) != 0) {
            return Result.err(KernelError.INVALID_STATE, frame + " is mapped into domain " + frameDomain.get(n)
                    + "; the domain frees it");
        }
        if (frameMapping.get(n) != 0) {
            return Result.err(KernelError.INVALID_STATE, frame + " is a page of a process (or in flight to one); "
                    + "unmapping it frees it");
        }
        return Result.ok(c);
    }

    // --------------------------------------------------------------------------------- domains

    /**
     * Creates a domain in {@code container} (charged one object) and runs its factory there. If
     * the factory throws, the domain's memory is revoked, nothing stays charged, and the result
     * is {@link KernelError#DOMAIN_FAILED} with the cause.
     */
    public <S> Result<Domain<S>> newDomain(ContainerId container, DomainSpec<S> spec) {
        if (container == null || spec == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "newDomain needs a container and a spec, was "
                    + container + ", " + spec);
        }
        lock.lock();
        try {
            Result<Container> r = liveContainer(container.id());
            if (!(r instanceof Result.Ok<Container>(Container c))) {
                return cast(r);
            }
            if (c.freeObjects() < 1) {
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " has no free object in its quota " + c.quota
                        + " for domain " + spec.name());
            }
            long id = objects.add(i -> new Domain<>(this, i, c.id, spec));
            @SuppressWarnings("unchecked")
            Domain<S> d = (Domain<S>) objects.get(id);
            c.objects++;
            objectContainer.put(id, c.id);
            domainState.put(id, DEAD);
            Throwable failure = start(d, 0);
            if (failure != null) {
                if (!closed && objects.get(id) == d) {
                    remove(d);                           // else its factory killed its container, or closed the kernel
                }
                return new Result.Err<>(KernelError.DOMAIN_FAILED, "domain " + spec.name()
                        + "'s factory failed; nothing of it remains", failure);
            }
            return Result.ok(d);
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: whether {@code domain} is one of this kernel's that still exists, for {@code call}. */
    private Result<Void> existing(Domain<?> domain, String call) {
        if (domain == null || domain.kernel != this) {
            return Result.err(KernelError.INVALID_ARGUMENT, call + " needs a domain of this kernel, was " + domain);
        }
        if (closed) {
            return closedError();
        }
        if (objects.get(domain.id) != domain) {
            return Result.err(KernelError.NO_SUCH_OBJECT, domain + " no longer exists (its container was killed)");
        }
        return Result.ok(null);
    }

    /** Kills a domain: it is never restarted, and its memory is revoked and freed. */
    public Result<Void> killDomain(Domain<?> domain) {
        lock.lock();
        try {
            Result<Void> r = existing(domain, "killDomain");
            if (!r.isOk()) {
                return r;
            }
            end(domain);
            return Result.ok(null);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Restarts a dead domain (a supervisor's call): its factory runs again in fresh memory. For a
     * domain that failed and was not restarted by its policy, or whose restart failed; a killed
     * domain stays dead.
     */
    public Result<Void> restartDomain(Domain<?> domain) {
        lock.lock();
        try {
            Result<Void> r = existing(domain, "restartDomain");
            if (!r.isOk()) {
                return r;
            }
            if (domain.killed) {
                return Result.err(KernelError.DOMAIN_DEAD, domain + " was killed; it is never restarted");
            }
            if (domain.live != null) {
                return Result.err(KernelError.INVALID_STATE, domain + " is alive");
            }
            domain.restarts++;
            Throwable failure = start(domain, domain.restarts);
            return failure == null ? Result.ok(null) : new Result.Err<>(KernelError.DOMAIN_FAILED, "domain "
                    + domain.spec.name() + "'s factory failed again; it stays dead", failure);
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code domain} (a domain of this kernel) still exists, dead or alive. */
    public boolean exists(Domain<?> domain) {
        lock.lock();
        try {
            return domain != null && objects.get(domain.id) == domain;
        } finally {
            lock.unlock();
        }
    }

    /** From Domain.call: incarnation {@code inc} of {@code d} threw {@code t}. */
    void failed(Domain<?> d, Domain.Incarnation<?> inc, Throwable t) {
        lock.lock();
        try {
            if (d.live != inc) {
                return;                                  // already dead (a racing call failed first, or killed)
            }
            die(d, inc);
            // One restart a failure: a factory that fails again leaves the domain dead rather than
            // retrying under the lock.
            if (!d.killed && !closed && d.restarts < d.spec.restart().maxRestarts()) {
                d.restarts++;
                start(d, d.restarts);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: runs {@code d}'s factory as incarnation {@code number}; its failure, or null. */
    private <S> Throwable start(Domain<S> d, int number) {
        Context context = new Context(d, number);
        S service;
        d.starting = context;                            // a kill while the factory runs revokes it
        try {
            service = d.spec.factory().apply(context);
            if (service == null) {
                throw new NullPointerException("domain " + d.spec.name() + "'s factory returned null");
            }
            if (!d.spec.service().isInstance(service)) {
                throw new ClassCastException("domain " + d.spec.name() + "'s factory returned a "
                        + service.getClass().getName() + ", not a " + d.spec.service().getName());
            }
        } catch (Throwable t) {
            if (!context.revoked) {
                revoke(context);
            }
            return t;
        } finally {
            d.starting = null;
        }
        if (context.revoked || d.killed || closed || objects.get(d.id) != d) {
            if (!context.revoked) {
                revoke(context);
            }
            return new IllegalStateException("domain " + d.spec.name() + " was killed, or the kernel closed, while its "
                    + "factory ran");
        }
        d.live = new Domain.Incarnation<>(number, service, context);
        domainState.put(d.id, ALIVE);
        return null;
    }

    /** Under the lock: {@code d} is killed: never restarted; its incarnation, or the one starting, revoked. */
    private void end(Domain<?> d) {
        d.killed = true;
        Domain.Incarnation<?> inc = d.live;
        if (inc != null) {
            die(d, inc);
        }
        Context starting = d.starting;
        if (starting != null && !starting.revoked) {
            revoke(starting);
        }
    }

    /** Under the lock: {@code d}'s incarnation {@code inc} ends; its memory is revoked and freed. */
    private void die(Domain<?> d, Domain.Incarnation<?> inc) {
        d.live = null;
        domainState.put(d.id, DEAD);
        revoke(inc.context());
        List<Long> owned = new ArrayList<>();
        sharedOwner.forEach((object, owner) -> {
            if (owner == d.id) {
                owned.add(object);
            }
        });
        for (long object : owned) {
            SharedObject x = (SharedObject) objects.get(object);
            x.forceDrop();
            releaseShared(x);
        }
    }

    /** Under the lock: every allocation of {@code context} revoked and its frames freed. */
    private void revoke(Context context) {
        context.revoked = true;
        context.runCleanups();
        List<Allocation> mine = new ArrayList<>();
        allocations.forEach(a -> {
            if (a.owner == context) {
                mine.add(a);
            }
        });
        for (Allocation a : mine) {
            release(a);
        }
    }

    /** Under the lock: a domain removed for good (dead, its memory freed, uncharged). */
    private void remove(Domain<?> d) {
        end(d);
        Container c = (Container) objects.get(d.container);
        c.objects--;
        objectContainer.remove(d.id);
        domainState.remove(d.id);
        objects.remove(d.id);
    }

    /** One domain allocation: its frames and the arena that revokes its segment. */
    private static final class Allocation {
        final long id;
        final Context owner;
        final long first;
        final int count;
        final FrameSize size;
        final Arena arena;
        final MemorySegment segment;

        Allocation(long id, Context owner, long first, int count, FrameSize size, Arena arena, MemorySegment segment) {
            this.id = id;
            this.owner = owner;
            this.first = first;
            this.count = count;
            this.size = size;
            this.arena = arena;
            this.segment = segment;
        }
    }

    /** Under the lock: revokes allocation {@code a} and frees its frames. */
    private void release(Allocation a) {
        Container c = (Container) objects.get(a.owner.domain.container);
        freeOrQuarantine(c, a.arena, a.first, a.count, a.size);
        allocationAt.remove(a.first);
        allocations.remove(a.id);
    }

    /**
     * Under the lock: closes {@code arena} (a handshake: no access through its segments after it)
     * and frees the frames, uncharged from {@code c}. If the arena cannot be closed yet (a JDK
     * operation, such as a channel write of the segment's buffer, holds it), the frames leave
     * {@code c} for the quarantine, and go back to the pool when a later try closes the arena.
     */
    void freeOrQuarantine(Container c, Arena arena, long first, int count, FrameSize size) {
        long step = FramePool.step(size);
        if (closeArena(arena)) {
            for (int i = 0; i < count; i++) {
                releaseFrame(c, first + i * step);
            }
            return;
        }
        for (int i = 0; i < count; i++) {
            long n = first + i * step;
            frameDomain.remove(n);
            frameMapping.remove(n);
            frameOwner.put(n, QUARANTINE);
        }
        if (size == FrameSize.SMALL) {
            c.smallFrames -= count;
        } else {
            c.hugeFrames -= count;
        }
        quarantine.add(new Quarantined(arena, first, count, size));
    }

    static boolean closeArena(Arena arena) {
        try {
            arena.close();
            return true;
        } catch (IllegalStateException acquired) {
            return !arena.scope().isAlive();
        }
    }

    /** Frames of revoked memory that could not be freed yet. */
    private record Quarantined(Arena arena, long first, int count, FrameSize size) {
    }

    /** Under the lock: frees the quarantined frames whose arena closes now. */
    void retryQuarantine() {
        if (quarantine.isEmpty()) {
            return;
        }
        quarantine.removeIf(q -> {
            if (!closeArena(q.arena())) {
                return false;
            }
            if (!closed) {
                long step = FramePool.step(q.size());
                for (int i = 0; i < q.count(); i++) {
                    long n = q.first() + i * step;
                    frameOwner.remove(n);
                    if (q.size() == FrameSize.SMALL) {
                        pool.freeSmall(n);
                    } else {
                        pool.freeHuge(n);
                    }
                }
            }
            return true;
        });
    }

    /** Under the lock: 4 KiB frames in quarantine (for the invariant check). */
    long quarantinedFrames() {
        long n = 0;
        for (Quarantined q : quarantine) {
            n += q.size() == FrameSize.SMALL ? q.count() : (long) q.count() * FramePool.PER_SUPERPAGE;
        }
        return n;
    }

    /** A domain incarnation's access to kernel memory. */
    final class Context implements DomainContext {
        final Domain<?> domain;
        final int number;
        /** Set under the lock when the incarnation ends: it allocates nothing more. */
        volatile boolean revoked;
        /** What the incarnation asked to have closed when it ends. Under the lock. */
        private final List<AutoCloseable> cleanups = new ArrayList<>();

        Context(Domain<?> domain, int number) {
            this.domain = domain;
            this.number = number;
        }

        @Override
        public String name() {
            return domain.spec.name();
        }

        @Override
        public int incarnation() {
            return number;
        }

        @Override
        public MemorySegment allocate(long bytes, long alignment) {
            Result<MemorySegment> r = allocateFor(this, bytes, alignment);
            if (r instanceof Result.Err<MemorySegment> e) {
                throw e.error() == KernelError.DOMAIN_DEAD || e.error() == KernelError.KERNEL_CLOSED
                        ? new IllegalStateException(e.message()) : new IllegalArgumentException(e.message());
            }
            return r.orElseThrow();
        }

        @Override
        public void free(MemorySegment segment) {
            Result<Void> r = freeFor(this, segment);
            if (r instanceof Result.Err<Void> e) {
                throw e.error() == KernelError.KERNEL_CLOSED ? new IllegalStateException(e.message())
                        : new IllegalArgumentException(e.message());
            }
        }

        @Override
        public void closeOnRevoke(AutoCloseable resource) {
            Objects.requireNonNull(resource, "resource");
            lock.lock();
            try {
                if (revoked) {
                    close(resource);
                } else {
                    cleanups.add(resource);
                }
            } finally {
                lock.unlock();
            }
        }

        /** Under the lock: closes what the incarnation registered, last first; their failures are dropped. */
        void runCleanups() {
            for (int i = cleanups.size() - 1; i >= 0; i--) {
                close(cleanups.get(i));
            }
            cleanups.clear();
        }

        private static void close(AutoCloseable resource) {
            try {
                resource.close();
            } catch (Exception | LinkageError | AssertionError dropped) {
                // A dead incarnation's resource failing to close is not the caller's error.
            }
        }

        @Override
        public MemoryProvider memory() {
            return (bytes, alignment) -> {
                MemorySegment segment = allocate(bytes, alignment);
                // Closing it after the domain's memory was revoked has nothing left to do.
                return TableMemory.of(segment, "frames of domain " + domain.spec.name(),
                        () -> freeFor(Context.this, segment));
            };
        }
    }

    /** Frames taken for a domain's use: the first's number, how many, their size, and the revocable segment. */
    private record InUse(long first, int count, FrameSize size, Arena arena, MemorySegment segment) {
    }

    /**
     * Under the lock: frames for {@code bytes} (one 4 KiB frame if {@code small}, else contiguous
     * 2 MiB frames) charged to {@code c}, zeroed, marked in use by {@code user} (so the container
     * cannot free or merge them), and a segment of {@code bytes} over them in an arena of its own.
     */
    private Result<InUse> takeInUse(Container c, Domain<?> user, long bytes, boolean small) {
        FrameSize size = small ? FrameSize.SMALL : FrameSize.HUGE;
        int frames = small ? 1 : (int) Math.ceilDiv(bytes, FramePool.HUGE);   // bytes is at most the pool's
        Result<Long> r = take(c, size, frames);
        if (!(r instanceof Result.Ok<Long>(Long first))) {
            return cast(r);
        }
        pool.bytes(first, frames * size.bytes()).fill((byte) 0);
        for (int i = 0; i < frames; i++) {
            frameDomain.put(first + i * FramePool.step(size), user.id);
        }
        Arena arena = Arena.ofShared();
        return Result.ok(new InUse(first, frames, size, arena, Scopes.revocable(pool.bytes(first, bytes), arena)));
    }

    private Result<MemorySegment> allocateFor(Context ctx, long bytes, long alignment) {
        if (bytes <= 0 || bytes > poolBytes() || alignment <= 0 || Long.bitCount(alignment) != 1
                || alignment > FramePool.HUGE) {
            return Result.err(KernelError.INVALID_ARGUMENT, "a domain allocates a positive number of bytes, at most the "
                    + "pool's " + poolBytes() + ", aligned to a power of two of at most 2 MiB, was " + bytes
                    + " bytes aligned to " + alignment);
        }
        lock.lock();
        try {
            if (closed) {
                return closedError();
            }
            if (ctx.revoked) {
                return Result.err(KernelError.DOMAIN_DEAD, "domain " + ctx.name() + "'s incarnation " + ctx.number
                        + " is dead; it allocates nothing");
            }
            Container c = (Container) objects.get(ctx.domain.container);
            Result<InUse> r = takeInUse(c, ctx.domain, bytes, bytes <= FramePool.SMALL && alignment <= FramePool.SMALL);
            if (!(r instanceof Result.Ok<InUse>(InUse m))) {
                return cast(r);
            }
            long id = allocations.add(i -> new Allocation(i, ctx, m.first(), m.count(), m.size(), m.arena(), m.segment()));
            allocationAt.put(m.first(), id);
            return Result.ok(m.segment());
        } finally {
            lock.unlock();
        }
    }

    private Result<Void> freeFor(Context ctx, MemorySegment segment) {
        if (segment == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "free needs a segment, was null");
        }
        lock.lock();
        try {
            if (closed) {
                return closedError();
            }
            long offset = segment.address() - poolBase;
            Allocation a = null;
            if (offset >= 0 && offset % FramePool.SMALL == 0 && pool.inPool(offset / FramePool.SMALL)) {
                a = allocations.get(allocationAt.get(offset / FramePool.SMALL));
            }
            if (a == null || a.owner != ctx) {
                return Result.err(KernelError.NO_SUCH_OBJECT, "the segment " + segment
                        + " is not a live allocation of domain " + ctx.name() + "'s incarnation " + ctx.number);
            }
            if (a.segment.byteSize() != segment.byteSize()) {
                return Result.err(KernelError.INVALID_ARGUMENT, "free the whole allocation of " + a.segment.byteSize()
                        + " bytes, not a slice of " + segment.byteSize());
            }
            release(a);
            return Result.ok(null);
        } finally {
            lock.unlock();
        }
    }

    // --------------------------------------------------------------------------- exchange heap

    /**
     * A zero-filled object of {@code bytes} in the exchange heap, owned by {@code owner} and
     * charged to its container (one object, and a 4 KiB frame, or as many contiguous 2 MiB frames
     * as it takes).
     */
    public Result<XRef> allocateShared(Domain<?> owner, long bytes) {
        if (owner == null || owner.kernel != this || bytes <= 0 || bytes > poolBytes()) {
            return Result.err(KernelError.INVALID_ARGUMENT, "allocateShared needs a domain of this kernel and a positive "
                    + "size of at most the pool's " + poolBytes() + " bytes, was " + owner + ", " + bytes + " bytes");
        }
        lock.lock();
        try {
            if (closed) {
                return closedError();
            }
            if (owner.live == null) {
                return Result.err(KernelError.DOMAIN_DEAD, owner + " is dead; it can own nothing");
            }
            Container c = (Container) objects.get(owner.container);
            if (c.freeObjects() < 1) {
                return Result.err(KernelError.QUOTA_EXCEEDED, c + " has no free object in its quota " + c.quota
                        + " for an exchange-heap object");
            }
            Result<InUse> r = takeInUse(c, owner, bytes, bytes <= FramePool.SMALL);
            if (!(r instanceof Result.Ok<InUse>(InUse m))) {
                return cast(r);
            }
            long id = objects.add(i -> new SharedObject(i, m.first(), m.count(), m.size(), m.arena(), m.segment(), owner));
            c.objects++;
            objectContainer.put(id, c.id);
            sharedOwner.put(id, owner.id);
            return Result.ok(new XRef(this, (SharedObject) objects.get(id), 0, owner));
        } finally {
            lock.unlock();
        }
    }

    /** {@link XRef#moveTo}: under the lock, the object recharged to {@code to}'s container. */
    Result<XRef> moveShared(XRef ref, Domain<?> to) {
        if (to == null || to.kernel != this) {
            return Result.err(KernelError.INVALID_ARGUMENT, "moveTo needs a domain of this kernel, was " + to);
        }
        lock.lock();
        try {
            Result<SharedObject> r = liveShared(ref);
            if (!(r instanceof Result.Ok<SharedObject>(SharedObject x))) {
                return cast(r);
            }
            if (to.live == null) {
                return Result.err(KernelError.DOMAIN_DEAD, to + " is dead; it can own nothing");
            }
            Container from = (Container) objects.get(x.container);
            Container dest = (Container) objects.get(to.container);
            if (dest != from) {
                long small = x.size == FrameSize.SMALL ? x.count : 0;
                long huge = x.size == FrameSize.HUGE ? x.count : 0;
                if (dest.freeObjects() < 1 || dest.freeSmall() < small || dest.freeHuge() < huge) {
                    return Result.err(KernelError.QUOTA_EXCEEDED, dest + " cannot take exchange-heap object " + x.id
                            + " (an object and " + x.count + " " + (small > 0 ? "4 KiB" : "2 MiB") + " frames): it has "
                            + dest.freeObjects() + " free objects, " + dest.freeSmall() + " free 4 KiB and "
                            + dest.freeHuge() + " free 2 MiB frames of its quota " + dest.quota);
                }
            }
            if (!x.transition(ref.epoch, (ref.epoch + 1) << SharedObject.BORROW_BITS)) {
                return Result.err(KernelError.INVALID_STATE, "exchange-heap object " + x.id
                        + " is borrowed; it moves once the borrows end");
            }
            long step = FramePool.step(x.size);
            for (int i = 0; i < x.count; i++) {
                frameDomain.put(x.first + i * step, to.id);
            }
            if (dest != from) {
                for (int i = 0; i < x.count; i++) {
                    frameOwner.put(x.first + i * step, dest.id);
                }
                if (x.size == FrameSize.SMALL) {
                    from.smallFrames -= x.count;
                    dest.smallFrames += x.count;
                } else {
                    from.hugeFrames -= x.count;
                    dest.hugeFrames += x.count;
                }
                from.objects--;
                dest.objects++;
                objectContainer.put(x.id, dest.id);
                x.container = dest.id;
            }
            x.owner = to;
            sharedOwner.put(x.id, to.id);
            return Result.ok(new XRef(this, x, ref.epoch + 1, to));
        } finally {
            lock.unlock();
        }
    }

    /** {@link XRef#drop}: under the lock, the object freed. */
    Result<Void> dropShared(XRef ref) {
        lock.lock();
        try {
            Result<SharedObject> r = liveShared(ref);
            if (!(r instanceof Result.Ok<SharedObject>(SharedObject x))) {
                return cast(r);
            }
            if (!x.transition(ref.epoch, SharedObject.DROPPED)) {
                return Result.err(KernelError.INVALID_STATE, "exchange-heap object " + x.id
                        + " is borrowed; it can be dropped once the borrows end");
            }
            releaseShared(x);
            return Result.ok(null);
        } finally {
            lock.unlock();
        }
    }

    private Result<SharedObject> liveShared(XRef ref) {
        if (ref == null) {
            return Result.err(KernelError.INVALID_ARGUMENT, "no exchange-heap handle (null)");
        }
        if (closed) {
            return closedError();
        }
        if (objects.get(ref.object.id) != ref.object || !ref.isValid()) {
            return Result.err(KernelError.NO_SUCH_OBJECT, ref.stale());
        }
        return Result.ok(ref.object);
    }

    /** Under the lock: a dropped object's memory revoked and freed, and the object removed. */
    private void releaseShared(SharedObject x) {
        Container c = (Container) objects.get(x.container);
        freeOrQuarantine(c, x.arena, x.first, x.count, x.size);
        c.objects--;
        objectContainer.remove(x.id);
        sharedOwner.remove(x.id);
        objects.remove(x.id);
    }

    // ------------------------------------------------------------------ processes and threads

    /**
     * A new process in {@code container} (charged one object): an empty address space and an
     * empty capability table.
     */
    public Result<KernelProcess> newProcess(ContainerId container, String name) {
        return procs.newProcess(container, name);
    }

    /**
     * Kills a process: its threads stop, its endpoints are destroyed (capabilities to them go
     * stale), its pages are unmapped and their frames freed, and its container is uncharged.
     */
    public Result<Void> kill(KernelProcess process) {
        return procs.kill(process);
    }

    /**
     * A new kernel thread of {@code process} (charged one object to its container), started at
     * once: a platform thread, pinned if {@code spec} names a CPU, running the spec's body under
     * an Agrona {@code AgentRunner}. A CPU that is not online is {@link KernelError#INVALID_ARGUMENT};
     * pinning where the numa module cannot is {@link KernelError#INVALID_STATE}.
     */
    public Result<KernelThread> newThread(KernelProcess process, ThreadSpec spec) {
        return procs.newThread(process, spec);
    }

    /**
     * Kills a kernel thread: it is uncharged at once and stops at its next duty cycle, or in its
     * blocking call, which returns {@link KernelError#THREAD_KILLED}.
     */
    public Result<Void> kill(KernelThread thread) {
        return procs.kill(thread);
    }

    // --------------------------------------------------------------------------- address spaces

    /**
     * Maps {@code pages} fresh, zeroed 4 KiB frames at {@code va} in {@code process}, charged to
     * its container: {@link KernelError#VA_IN_USE} if a page of the range is mapped,
     * {@link KernelError#QUOTA_EXCEEDED} if the quota has no room, {@link KernelError#OUT_OF_MEMORY}
     * if the pool has not as many free frames (nothing is mapped then).
     */
    public Result<Void> map(KernelProcess process, long va, int pages) {
        return procs.map(process, va, pages);
    }

    /** Unmaps {@code pages} pages from {@code va} (all must be mapped) and frees their frames; their segments throw from then on. */
    public Result<Void> unmap(KernelProcess process, long va, int pages) {
        return procs.unmap(process, va, pages);
    }

    /**
     * The 4 KiB page mapped at {@code va} (rounded down to its page) in {@code process}, as a
     * segment that throws {@link IllegalStateException} once the page is unmapped, sent away, or
     * the process dies.
     */
    public Result<MemorySegment> page(KernelProcess process, long va) {
        return procs.page(process, va);
    }

    // ------------------------------------------------------------------ endpoints and capabilities

    /**
     * A new endpoint of {@code process} (charged one object) holding up to {@code capacity}
     * messages (1 to 2^20, rounded up to a power of two of at least 2); the result is the slot of
     * a capability to it with every right.
     */
    public Result<Integer> newEndpoint(KernelProcess process, int capacity) {
        return procs.newEndpoint(process, capacity);
    }

    /**
     * Destroys the endpoint that {@code process}'s capability {@code slot} names; the capability
     * needs every right (the creator's). Messages still in it are dropped (their pages freed),
     * every capability to it goes stale, and threads blocked on it return.
     */
    public Result<Void> destroyEndpoint(KernelProcess process, int slot) {
        return procs.destroyEndpoint(process, slot);
    }

    /**
     * Gives {@code to} a capability to the object that {@code from}'s {@code slot} names, with
     * {@code rights}: the slot needs the grant right and at least {@code rights}. The result is
     * {@code to}'s new slot.
     */
    public Result<Integer> grant(KernelProcess from, int slot, KernelProcess to, Rights rights) {
        return procs.grant(from, slot, to, rights);
    }

    /** The rights of {@code process}'s capability in {@code slot}. */
    public Result<Rights> rights(KernelProcess process, int slot) {
        return procs.rights(process, slot);
    }

    /** Deletes {@code process}'s capability in {@code slot}; the slot is never given again. */
    public Result<Void> deleteCapability(KernelProcess process, int slot) {
        return procs.deleteCapability(process, slot);
    }

    // ------------------------------------------------------------------------------- messages

    /**
     * Sends {@code message} to the endpoint of {@code process}'s capability {@code slot} (the write
     * right; to pass a capability, the grant right too), or {@link KernelError#WOULD_BLOCK} if it
     * is full. A page sent with it is unmapped from {@code process} when the send succeeds; a
     * send refused as full leaves it mapped and its segment working (except when lock-free plain
     * sends fill the endpoint between the kernel's look at its room and its offer: the page then
     * stays mapped at its address, through a new segment that {@link #page} gives).
     */
    public Result<Void> trySend(KernelProcess process, int slot, Message message) {
        return procs.trySend(process, slot, message);
    }

    /** {@link #trySend}, waiting while the endpoint is full (up to {@code timeout}: then {@link KernelError#TIMED_OUT}). */
    public Result<Void> send(KernelProcess process, int slot, Message message, Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            return Result.err(KernelError.INVALID_ARGUMENT, "a timeout is 0 or more, was " + timeout);
        }
        return procs.await(timeout, () -> procs.trySend(process, slot, message));
    }

    /** {@link #trySend}, waiting as long as the endpoint is full. */
    public Result<Void> send(KernelProcess process, int slot, Message message) {
        return send(process, slot, message, FOREVER);
    }

    /**
     * The next message of the endpoint of {@code process}'s capability {@code slot} (the read
     * right), or {@link KernelError#WOULD_BLOCK} if it is empty. A page that came with it is now
     * mapped in {@code process}, a capability now in its table ({@link Message}).
     */
    public Result<Message> tryReceive(KernelProcess process, int slot) {
        return procs.tryReceive(process, slot);
    }

    /** {@link #tryReceive}, waiting while the endpoint is empty (up to {@code timeout}: then {@link KernelError#TIMED_OUT}). */
    public Result<Message> receive(KernelProcess process, int slot, Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            return Result.err(KernelError.INVALID_ARGUMENT, "a timeout is 0 or more, was " + timeout);
        }
        return procs.await(timeout, () -> procs.tryReceive(process, slot));
    }

    /** {@link #tryReceive}, waiting as long as the endpoint is empty. */
    public Result<Message> receive(KernelProcess process, int slot) {
        return receive(process, slot, FOREVER);
    }

    /**
     * Sends {@code messages} in order until the endpoint is full: the result is how many were
     * sent (an error only if none could be, for a reason other than a full endpoint).
     */
    public Result<Integer> sendAll(KernelProcess process, int slot, List<Message> messages) {
        return procs.sendAll(process, slot, messages);
    }

    /**
     * Receives up to {@code max} messages into {@code into}, waiting up to {@code timeout} for the
     * first ({@link Duration#ZERO}: not at all); the result is how many arrived. They are added
     * in the endpoint's order, pages and capabilities installed; a list that cannot take elements
     * is {@link KernelError#INVALID_ARGUMENT} before any message is taken.
     */
    public Result<Integer> receiveAll(KernelProcess process, int slot, List<Message> into, int max, Duration timeout) {
        return procs.receiveAll(process, slot, into, max, timeout);
    }

    private static final Duration FOREVER = Duration.ofNanos(Long.MAX_VALUE);

    // ----------------------------------------------------------------------------- invariants

    /**
     * Checks every invariant of the kernel's state and returns the violations found (none: an
     * empty list). Takes the kernel's lock, so it sees the state between two calls.
     */
    public List<String> checkInvariants() {
        lock.lock();
        try {
            retryQuarantine();
            return new Invariants(this).check();
        } finally {
            lock.unlock();
        }
    }

    // Invariants reads the maps, the pool and the objects (package-private fields) under the lock.

    /** Under the lock: each live allocation as (domain id, first frame, count, huge?, arena alive, owner revoked). */
    void forEachAllocation(AllocationVisitor visitor) {
        allocations.forEach(a -> visitor.visit(a.owner.domain, a.first, a.count, a.size, a.arena.scope().isAlive(),
                a.owner.revoked, a.id));
    }

    @FunctionalInterface
    interface AllocationVisitor {
        void visit(Domain<?> domain, long first, int count, FrameSize size, boolean open, boolean revoked, long id);
    }

    // ---------------------------------------------------------------------------------- misc

    Result<Container> liveContainer(long id) {
        if (closed) {
            return closedError();
        }
        return objects.get(id) instanceof Container c ? Result.ok(c)
                : Result.err(KernelError.NO_SUCH_OBJECT, "no container " + id + " (never created, or killed)");
    }

    static <T> Result<T> closedError() {
        return Result.err(KernelError.KERNEL_CLOSED, "the kernel is closed");
    }

    @SuppressWarnings("unchecked")
    static <T> Result<T> cast(Result<?> err) {
        return (Result<T>) Objects.requireNonNull((Result.Err<?>) err);
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /**
     * Kills every domain (revoking its memory), releases the kernel's maps and unmaps the pool.
     * Later calls return {@link KernelError#KERNEL_CLOSED}; idempotent.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            List<Domain<?>> domains = new ArrayList<>();
            objects.forEach(o -> {
                if (o instanceof Domain<?> d) {
                    domains.add(d);
                }
            });
            for (Domain<?> d : domains) {
                end(d);
            }
            List<KernelProcess> processes = new ArrayList<>();
            objects.forEach(o -> {
                if (o instanceof KernelProcess p) {
                    processes.add(p);
                }
            });
            for (KernelProcess p : processes) {
                procs.end(p);
            }
            closed = true;
            retryQuarantine();
            frameOwner.close();
            frameDomain.close();
            allocationAt.close();
            objectContainer.close();
            domainState.close();
            sharedOwner.close();
            frameMapping.close();
            objectProcess.close();
            if (quarantine.isEmpty()) {
                pool.close();
            }   // else a JDK operation still holds revoked memory: the pool stays mapped rather than fault
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return closed ? "Kernel[closed]" : "Kernel[" + pool.totalSmallFrames() + " frames of 4 KiB, " + pool.placement() + "]";
    }
}
