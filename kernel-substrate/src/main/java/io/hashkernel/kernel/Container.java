package io.hashkernel.kernel;

/**
 * A container's record: its place in the tree, its quota, and what it holds against it. Written
 * under the kernel's lock.
 */
final class Container {
    final long id;
    /** The parent's id, or 0 for the root. */
    final long parent;
    final Quota quota;
    /** Frames held directly (by the container, or by its domains) and objects it was charged for. */
    long smallFrames;
    long hugeFrames;
    long objects;
    /** What its child containers reserved (their quotas), counted against its quota too. */
    long reservedSmall;
    long reservedHuge;
    long reservedObjects;

    Container(long id, long parent, Quota quota) {
        this.id = id;
        this.parent = parent;
        this.quota = quota;
    }

    long freeSmall() {
        return quota.smallFrames() - smallFrames - reservedSmall;
    }

    long freeHuge() {
        return quota.hugeFrames() - hugeFrames - reservedHuge;
    }

    long freeObjects() {
        return quota.objects() - objects - reservedObjects;
    }

    @Override
    public String toString() {
        return "container " + id;
    }
}
