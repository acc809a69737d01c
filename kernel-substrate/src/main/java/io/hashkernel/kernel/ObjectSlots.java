package io.hashkernel.kernel;

import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * The kernel's objects of one kind in an array, indexed by the low 32 bits of their ids; the high
 * bits are the slot's generation, bumped each time the slot is reused, so an id is never given
 * twice and a stale id finds nothing. Written under the kernel's lock and read under it, except
 * by {@link #peek}. A slot whose generation reaches {@link #MAX_GENERATION} is retired, so ids stay
 * below 2^61 and a capability can pack its rights above one.
 */
final class ObjectSlots<T> {
    /** The last generation a slot takes; ids are below {@code (MAX_GENERATION + 1) << 32 = 2^61}. */
    static final int MAX_GENERATION = (1 << 29) - 1;

    /** Volatile so that {@link #peek} sees a grown array; its elements are written under the lock. */
    private volatile Object[] objects = new Object[16];
    private int[] generations = new int[16];
    private int[] free = new int[16];
    private int freeCount;
    private int used;
    private int live;

    /** Stores the object {@code make} builds for its new id, and returns the id (never 0). */
    long add(LongFunction<T> make) {
        int slot;
        if (freeCount > 0) {
            slot = free[--freeCount];
        } else {
            if (used == objects.length) {
                objects = Arrays.copyOf(objects, used * 2);
                generations = Arrays.copyOf(generations, used * 2);
            }
            slot = used++;
        }
        int generation = ++generations[slot];
        long id = (long) generation << 32 | slot;
        objects[slot] = make.apply(id);
        live++;
        return id;
    }

    /** The object with this id, or null if there is none (never was, or was removed). */
    @SuppressWarnings("unchecked")
    T get(long id) {
        int slot = (int) id;
        if (id <= 0 || slot < 0 || slot >= used || generations[slot] != (int) (id >>> 32)) {
            return null;
        }
        return (T) objects[slot];
    }

    /** Removes the object with this id (which must be present). */
    void remove(long id) {
        int slot = (int) id;
        if (get(id) == null) {
            throw new IllegalStateException("no object " + id);
        }
        objects[slot] = null;
        live--;
        if (generations[slot] == MAX_GENERATION) {
            return;                                      // retired: never reused
        }
        if (freeCount == free.length) {
            free = Arrays.copyOf(free, free.length * 2);
        }
        free[freeCount++] = slot;
    }

    /**
     * The object in {@code id}'s slot, read without the lock (a racy read of an array that the
     * lock's holder writes): the caller checks the object's own final id against {@code id}, and
     * a liveness flag of its own, before using it.
     */
    Object peek(long id) {
        Object[] array = objects;
        int slot = (int) id;
        return id > 0 && slot >= 0 && slot < array.length ? array[slot] : null;
    }

    /** The live objects, in slot order. */
    @SuppressWarnings("unchecked")
    void forEach(Consumer<T> action) {
        for (int i = 0; i < used; i++) {
            if (objects[i] != null) {
                action.accept((T) objects[i]);
            }
        }
    }

    int live() {
        return live;
    }
}
