package io.hashkernel.bytes;

import io.hashkernel.table.spi.MemoryProvider;
import io.hashkernel.table.spi.TableMemory;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One off-heap slab of records, filled front to back by writers that reserve space with an
 * atomic add. Its memory comes from the map's {@link MemoryProvider}: closing mapped memory makes
 * every later access throw {@link IllegalStateException} (the JDK's guarantee for a closed shared
 * arena), which is how a reader that still holds a location into a compacted slab learns to look
 * again, and never reads freed memory; GC-managed memory stays readable while a reader holds it.
 *
 * <p>A record at offset {@code o} (a multiple of 8): the next record of its hash chain (a
 * location, 0 for none), the key's length (int), the value's length (int), the key's bytes, the
 * value's bytes, padding to 8. Written once before it is published through the index and never
 * changed after.
 */
final class Slab {
    static final long NEXT = 0;
    static final long KEY_LENGTH = 8;
    static final long VALUE_LENGTH = 12;
    static final long HEADER = 16;

    private static final VarHandle TOP;
    private static final VarHandle END;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            TOP = l.findVarHandle(Slab.class, "top", long.class);
            END = l.findVarHandle(Slab.class, "end", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Index in the map's slab table. */
    final int slot;
    /** The high 32 bits of every location in this slab: slot and generation. */
    final long prefix;
    private final TableMemory allocation;
    final MemorySegment memory;
    final long capacity;
    /** Bytes of records no longer reachable (replaced, removed, or never published). */
    final AtomicLong dead = new AtomicLong();
    /** Next free offset; may run past the capacity (a failed reservation). */
    @SuppressWarnings("unused") // through TOP
    private volatile long top;
    /** Where the records end once sealed (the first failed reservation's offset), else -1. */
    @SuppressWarnings("unused") // through END
    private volatile long end = -1;

    Slab(int slot, int generation, long capacity, MemoryProvider provider) {
        this.slot = slot;
        this.prefix = (long) slot << 48 | (long) generation << 32;
        this.capacity = capacity;
        this.allocation = provider.allocate(capacity, 64);
        MemorySegment m = allocation.segment();
        if (m.byteSize() < capacity) {
            allocation.close();
            throw new IllegalStateException("memory provider returned " + m.byteSize() + " bytes; needed " + capacity);
        }
        this.memory = m.asSlice(0, capacity);
    }

    /** The slot of a location. */
    static int slot(long location) {
        return (int) (location >>> 48);
    }

    /** The offset of a location in its slab. */
    static long offset(long location) {
        return location & 0xffffffffL;
    }

    /** Bytes a record of these lengths takes. */
    static long recordBytes(long keyLength, long valueLength) {
        return (HEADER + keyLength + valueLength + 7) & ~7L;
    }

    /**
     * Reserves {@code bytes}; returns the record's location, or -1 if the slab is full (it is
     * then sealed: the first reservation that does not fit records where the records end).
     */
    long reserve(long bytes) {
        long at = (long) TOP.getAndAdd(this, bytes);
        if (at + bytes <= capacity) {
            return prefix | at;
        }
        if (at <= capacity) {
            END.setVolatile(this, at);
        }
        return -1;
    }

    /** Seals a slab filled by one record (a record larger than the slab size has a slab of its own). */
    void sealFull(long bytes) {
        TOP.setVolatile(this, bytes);
        END.setVolatile(this, bytes);
    }

    /** Where the records end, or -1 while the slab is still filling. */
    long end() {
        return (long) END.getVolatile(this);
    }

    /** Bytes of records: where they end once sealed, else reserved so far (at most the capacity). */
    long used() {
        long e = end();
        return e >= 0 ? e : Math.min(capacity, (long) TOP.getVolatile(this));
    }

    /** Frees the memory; later accesses through any view of it throw {@link IllegalStateException}. */
    void close() {
        allocation.close();
    }
}
