package io.hashkernel.kernel.kv;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Fault injection for drills and tests: armed with a {@link Point}, it makes the store domain's
 * next pass through that point throw, which crashes the domain there (its memory is revoked, its
 * file let go as a killed process would, and the supervisor restarts it).
 */
public final class CrashSwitch {
    /** Where in the store's work a crash can be injected. */
    public enum Point {
        /** A write, before its redo-log group is appended. */
        BEFORE_LOG,
        /** A write, after its group is durable and before the in-memory table has any of it. */
        AFTER_LOG,
        /** A write, with half of its pairs in the in-memory table. */
        MID_TABLE,
        /** A read, in the middle of its keys. */
        MID_READ
    }

    /** What an armed switch throws. */
    public static final class InjectedCrash extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedCrash(Point point) {
            super("crash injected at " + point, null, false, false);
        }
    }

    private final AtomicReference<Point> armed = new AtomicReference<>();
    private final AtomicLong fired = new AtomicLong();

    /** A switch that is not armed. */
    public CrashSwitch() {
    }

    /** Makes the next pass through {@code point} crash (replacing a point armed and not yet reached). */
    public void arm(Point point) {
        armed.set(java.util.Objects.requireNonNull(point, "point"));
    }

    /** Takes back a crash armed and not yet fired. */
    public void disarm() {
        armed.set(null);
    }

    /** Whether a crash is armed and not yet fired. */
    public boolean isArmed() {
        return armed.get() != null;
    }

    /** How many crashes it has made. */
    public long fired() {
        return fired.get();
    }

    /** At {@code point}: throws if the switch is armed there. */
    void at(Point point) {
        if (armed.get() == point && armed.compareAndSet(point, null)) {
            fired.incrementAndGet();
            throw new InjectedCrash(point);
        }
    }
}
