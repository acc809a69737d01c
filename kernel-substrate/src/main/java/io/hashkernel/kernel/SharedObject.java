package io.hashkernel.kernel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * An exchange-heap object: its frames, the arena that revokes its memory when it is dropped, and
 * its ownership word. The word is {@code epoch << 20 | borrows} while it lives (each move
 * starts a new epoch, so a handle of an earlier owner no longer matches), and -1 once dropped.
 */
final class SharedObject {
    static final long DROPPED = -1;
    static final int BORROW_BITS = 20;
    static final long BORROWS = (1L << BORROW_BITS) - 1;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(SharedObject.class, "state", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final long id;
    final long first;
    final int count;
    final FrameSize size;
    final Arena arena;
    final MemorySegment segment;
    /** Owner and container: written under the kernel's lock. */
    volatile Domain<?> owner;
    long container;
    @SuppressWarnings("unused") // through STATE
    private volatile long state;

    SharedObject(long id, long first, int count, FrameSize size, Arena arena, MemorySegment segment, Domain<?> owner) {
        this.id = id;
        this.first = first;
        this.count = count;
        this.size = size;
        this.arena = arena;
        this.segment = segment;
        this.owner = owner;
        this.container = owner.container;
    }

    long state() {
        return (long) STATE.getVolatile(this);
    }

    static long epochOf(long state) {
        return state >>> BORROW_BITS;
    }

    /** Starts a borrow of epoch {@code epoch}: false if the object moved, was dropped, or has too many borrows. */
    boolean borrow(long epoch) {
        for (long s = state(); ; s = state()) {
            if (s == DROPPED || epochOf(s) != epoch || (s & BORROWS) == BORROWS) {
                return false;
            }
            if (STATE.compareAndSet(this, s, s + 1)) {
                return true;
            }
        }
    }

    /** Ends a borrow started by {@link #borrow}. */
    void unborrow() {
        for (long s = state(); s != DROPPED; s = state()) {
            if (STATE.compareAndSet(this, s, s - 1)) {
                return;
            }
        }
    }

    /** Epoch {@code epoch} with no borrow becomes {@code next}: a move (the next epoch) or a drop. */
    boolean transition(long epoch, long next) {
        return STATE.compareAndSet(this, epoch << BORROW_BITS, next);
    }

    /** Drops it whatever its state (its owner died). */
    void forceDrop() {
        STATE.setVolatile(this, DROPPED);
    }
}
