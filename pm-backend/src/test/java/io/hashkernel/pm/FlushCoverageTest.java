package io.hashkernel.pm;

import io.hashkernel.table.ConcurrentLongLongTable;
import io.hashkernel.table.internal.TableInternals;
import io.hashkernel.table.spi.MemoryProvider;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * In place, a write's flush covers its probe sequence: a key that probed past another thread's
 * claim is durable with that claim's key word, even when the other write's own flush has not
 * happened yet (here: was lost), so the acknowledged key stays reachable after a power cut.
 */
class FlushCoverageTest {
    private static final long SEED = 12345;

    @Test
    void aDisplacedKeysFlushMakesTheKeysBeforeItDurable() throws IOException {
        // Five keys with one home line, found on a table of the same capacity and seed.
        long[] sameLine = new long[5];
        try (ConcurrentLongLongTable probe = ConcurrentLongLongTable.builder().capacity(1024).seed(SEED)
                .memory(MemoryProvider.gcManaged()).build()) {
            TableInternals.Access tables = TableInternals.access();
            long home = tables.homeLine(probe, 1);
            int n = 0;
            sameLine[n++] = 1;
            for (long k = 2; n < 5; k++) {
                if (tables.homeLine(probe, k) == home) {
                    sameLine[n++] = k;
                }
            }
        }
        SimulatedDisk disk = new SimulatedDisk();
        PersistentLongLongTable t = PersistentLongLongTable.builder(disk.path()).storage(disk).capacity(1024)
                .seed(SEED).persistence(Persistence.IN_PLACE).durability(Durability.EACH).open();
        for (int i = 0; i < 3; i++) {
            t.put(sameLine[i], 10 + i);
        }
        disk.dropNextFlushes(1);
        t.put(sameLine[3], 13); // takes the line's last slot; its flush is lost
        t.put(sameLine[4], 14); // probes on to the next line; acknowledged
        SimulatedDisk after = disk.cutToDurable();
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(after.path()).storage(after).open()) {
            assertEquals(14, r.get(sameLine[4]), "the acknowledged displaced key survives");
            assertEquals(13, r.get(sameLine[3]), "its flush covered the key before it");
            assertEquals(0, r.recovery().repairedValues());
            assertEquals(5, r.size());
        }
    }
}
