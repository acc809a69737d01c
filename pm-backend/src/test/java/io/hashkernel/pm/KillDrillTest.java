package io.hashkernel.pm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KillDrillTest {

    @Test
    void aKilledWriterLosesNothingAcknowledged(@TempDir Path dir) throws Exception {
        // Six cycles: both persistence ways under each durability.
        KillDrill.Report r = KillDrill.run(dir, 6, 400, 42L, i -> { });
        assertEquals(6, r.cycles());
        assertTrue(r.acknowledged() > 100, "the children acknowledged writes: " + r);
        assertTrue(r.passed(), r.failures().toString());
    }
}
