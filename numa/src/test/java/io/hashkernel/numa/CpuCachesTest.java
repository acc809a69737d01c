package io.hashkernel.numa;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuCachesTest {
    private static void index(Path dir, int n, int level, String size) throws Exception {
        Path index = Files.createDirectories(dir.resolve("index" + n));
        Files.writeString(index.resolve("level"), level + "\n");
        Files.writeString(index.resolve("size"), size + "\n");
    }

    @Test
    void theHighestLevelWins(@TempDir Path dir) throws Exception {
        index(dir, 0, 1, "32K");
        index(dir, 1, 1, "32K");
        index(dir, 2, 2, "1024K");
        index(dir, 3, 3, "32768K");
        assertEquals(32L << 20, CpuCaches.lastLevelCacheBytes(dir).orElseThrow());
    }

    @Test
    void aMachineWithoutCacheInfoSaysNothing(@TempDir Path dir) {
        assertTrue(CpuCaches.lastLevelCacheBytes(dir.resolve("missing")).isEmpty());
        assertTrue(CpuCaches.lastLevelCacheBytes(dir).isEmpty());
    }

    @Test
    void sizesParse() {
        assertEquals(512, CpuCaches.parseSize("512"));
        assertEquals(48L << 10, CpuCaches.parseSize("48K"));
        assertEquals(2L << 20, CpuCaches.parseSize("2M"));
    }
}
