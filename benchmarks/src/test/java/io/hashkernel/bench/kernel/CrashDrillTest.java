package io.hashkernel.bench.kernel;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A domain crashed every 100 ms for 10 s while two clients call it: every call answered, the
 * invariants hold after every crash, no frame leaked. (The rates are the CLI's to report.)
 */
class CrashDrillTest {

    @Test
    void crashesEvery100MsFor10SecondsLoseNothing() {
        CrashDrill.Report r = CrashDrill.run(Duration.ofSeconds(10), Duration.ofMillis(100), 2);
        assertEquals(List.of(), r.violations());
        assertEquals(0, r.escaped(), "every call came back as a value or an error");
        assertEquals(0, r.leaked(), "frames held after the container was killed");
        assertTrue(r.crashes() >= 90, "crashes: " + r.crashes());
        assertTrue(r.ok() > 0, r.toString());
    }

    @Test
    void withoutCrashesEveryCallReturnsItsValue() {
        CrashDrill.Report r = CrashDrill.run(Duration.ofMillis(500), null, 2);
        assertEquals(0, r.failed() + r.dead() + r.escaped(), r.toString());
        assertEquals(List.of(), r.violations());
        assertEquals(0, r.leaked());
        assertTrue(r.ok() > 0);
    }
}
