package io.hashkernel.kernel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A handle on an object of the exchange heap: memory that crosses domains with exactly one owner
 * domain at a time (RedLeaf's {@code RRef}). {@link #moveTo} gives the object to another domain
 * and returns the new owner's handle; this one then throws on use. {@link #borrow()} lends it
 * read-only for the length of a call: while borrowed it cannot be written, moved or dropped.
 * When its owner dies the object is dropped and every handle and borrow of it throws.
 *
 * <p>Use throws {@link IllegalStateException} once the handle is stale (moved away, dropped, or,
 * for a lent handle, its loan ended);
 * kernel calls on it ({@link #moveTo}, {@link #drop}) return named errors instead. Like an owned
 * value, one handle is for one thread at a time; the ownership word itself (moves, borrows,
 * drops) is safe under races.
 */
public final class XRef {
    private final Kernel kernel;
    final SharedObject object;
    final long epoch;
    private final Domain<?> owner;
    /** For a lent handle ({@link Borrow#handle()}): the loan it lives by; null for the owner's handle. */
    private final Borrow lentBy;

    XRef(Kernel kernel, SharedObject object, long epoch, Domain<?> owner) {
        this(kernel, object, epoch, owner, null);
    }

    private XRef(Kernel kernel, SharedObject object, long epoch, Domain<?> owner, Borrow lentBy) {
        this.kernel = kernel;
        this.object = object;
        this.epoch = epoch;
        this.owner = owner;
        this.lentBy = lentBy;
    }

    /** The domain this handle belongs to. */
    public Domain<?> owner() {
        return owner;
    }

    /** The object's size in bytes. */
    public long byteSize() {
        return object.segment.byteSize();
    }

    /**
     * Whether this handle still reaches its object: not moved away, not dropped, and, for a lent
     * handle, its loan not ended.
     */
    public boolean isValid() {
        long s = object.state();
        return s != SharedObject.DROPPED && SharedObject.epochOf(s) == epoch && (lentBy == null || !lentBy.closed);
    }

    /** Whether this is a lent, read-only handle ({@link Borrow#handle()}) rather than the owner's. */
    public boolean isLent() {
        return lentBy != null;
    }

    /** The long at {@code offset} (any alignment). */
    public long getLong(long offset) {
        check(false);
        return object.segment.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
    }

    /** Writes {@code value} at {@code offset}; refused while the object is borrowed. */
    public void setLong(long offset, long value) {
        check(true);
        object.segment.set(ValueLayout.JAVA_LONG_UNALIGNED, offset, value);
    }

    /** Copies {@code src} into the object at {@code offset}; refused while the object is borrowed. */
    public void copyFrom(MemorySegment src, long offset) {
        Objects.requireNonNull(src, "src");
        check(true);
        MemorySegment.copy(src, 0, object.segment, offset, src.byteSize());
    }

    /** Copies {@code dst.byteSize()} bytes from {@code offset} of the object into {@code dst}. */
    public void copyTo(long offset, MemorySegment dst) {
        Objects.requireNonNull(dst, "dst");
        check(false);
        MemorySegment.copy(object.segment, offset, dst, 0, dst.byteSize());
    }

    /**
     * Lends the object read-only until the borrow is closed.
     *
     * @throws IllegalStateException if this handle is stale
     */
    public Borrow borrow() {
        if (!object.borrow(epoch)) {
            throw new IllegalStateException(stale());
        }
        return new Borrow();
    }

    /**
     * Gives the object to {@code to} (charged to its container from now on): the new owner's
     * handle. This handle is stale afterwards.
     */
    public Result<XRef> moveTo(Domain<?> to) {
        if (lentBy != null) {
            return Result.err(KernelError.INVALID_STATE, "a lent handle of exchange-heap object " + object.id
                    + " cannot move it; only its owner's can");
        }
        return kernel.moveShared(this, to);
    }

    /** Frees the object; every handle of it is stale afterwards. */
    public Result<Void> drop() {
        if (lentBy != null) {
            return Result.err(KernelError.INVALID_STATE, "a lent handle of exchange-heap object " + object.id
                    + " cannot drop it; only its owner's can");
        }
        return kernel.dropShared(this);
    }

    private void check(boolean write) {
        if (lentBy != null) {
            if (lentBy.closed) {
                throw new IllegalStateException("the loan of exchange-heap object " + object.id + " has ended");
            }
            if (write) {
                throw new IllegalStateException("exchange-heap object " + object.id + " is lent read-only");
            }
        }
        long s = object.state();
        if (s == SharedObject.DROPPED || SharedObject.epochOf(s) != epoch) {
            throw new IllegalStateException(stale());
        }
        if (write && (s & SharedObject.BORROWS) != 0) {
            throw new IllegalStateException("exchange-heap object " + object.id + " is borrowed; it is read-only until the borrow ends");
        }
    }

    String stale() {
        long s = object.state();
        return "this handle of exchange-heap object " + object.id + " is stale: the object "
                + (s == SharedObject.DROPPED ? "was dropped" : "moved to domain " + object.owner.name());
    }

    @Override
    public String toString() {
        return "XRef[object " + object.id + ", owner " + owner.name() + (isValid() ? "]" : ", stale]");
    }

    /** A read-only loan of the object, for the length of a call. */
    public final class Borrow implements AutoCloseable {
        private volatile boolean closed;

        private Borrow() {
        }

        /** The long at {@code offset}. */
        public long getLong(long offset) {
            ensureOpen();
            return object.segment.get(ValueLayout.JAVA_LONG_UNALIGNED, offset);
        }

        /** Copies {@code dst.byteSize()} bytes from {@code offset} into {@code dst}. */
        public void copyTo(long offset, MemorySegment dst) {
            ensureOpen();
            MemorySegment.copy(object.segment, offset, dst, 0, dst.byteSize());
        }

        /** The object's size in bytes. */
        public long byteSize() {
            return object.segment.byteSize();
        }

        /**
         * A handle for the borrower: it reads the object, refuses writes, moves and drops, and
         * goes stale when this loan ends (so a callee that keeps it gains nothing).
         */
        public XRef handle() {
            ensureOpen();
            return new XRef(kernel, object, epoch, owner, this);
        }

        private void ensureOpen() {
            if (closed) {
                throw new IllegalStateException("the borrow of exchange-heap object " + object.id + " has ended");
            }
            if (object.state() == SharedObject.DROPPED) {
                throw new IllegalStateException("exchange-heap object " + object.id + " was dropped (its owner died)");
            }
        }

        /** Ends the borrow; idempotent. */
        @Override
        public void close() {
            if (!closed) {
                closed = true;
                object.unborrow();
            }
        }
    }
}
