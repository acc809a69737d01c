package io.hashkernel.kernel;

import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * The kernel's objects of one kind in an array, indexed by the low 32 bits of their ids; the high
 * bits are the slot's generation, bumped each time the slot is reused, so an id is never given
 * twice and a stale id finds nothing. Not thread-safe: written under the kernel's lock; read
 * under it too.
 */
final class ObjectSlots<T> {
    private Object[] objects = new Object[16];
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
        if (freeCount == free.length) {
            free = Arrays.copyOf(free, free.length * 2);
        }
        free[freeCount++] = slot;
        live--;
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
