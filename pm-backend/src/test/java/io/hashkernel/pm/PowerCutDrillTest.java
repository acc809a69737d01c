package io.hashkernel.pm;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PowerCutDrillTest {

    @Test
    void everyAcknowledgedWriteSurvivesEveryCut() {
        PowerCutDrill.Report r = PowerCutDrill.run(600, 20261206L);
        assertEquals(600, r.cuts());
        assertTrue(r.acknowledged() > 600 * 20, "the workloads acknowledged writes before the cuts: " + r);
        assertTrue(r.cutsDuringRecovery() > 10, "some cuts fell during recovery: " + r);
        assertTrue(r.cutsDuringClear() > 5, "some cuts fell inside a clear: " + r);
        assertTrue(r.passed(), r.failures().toString());
    }

    @Test
    void aDiskThatDropsFlushesIsCaught() {
        // The drill's own check: with table flushes lost, in-place writes go missing.
        PowerCutDrill.Report r = PowerCutDrill.run(40, 7L, i -> { }, true);
        assertTrue(r.lost() > 0, "a disk that drops flushes must lose acknowledged writes: " + r);
    }
}
