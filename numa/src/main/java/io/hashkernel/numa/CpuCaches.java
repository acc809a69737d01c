package io.hashkernel.numa;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * Cache sizes read from sysfs ({@code /sys/devices/system/cpu/cpu0/cache/index*}); the root is
 * injectable for tests. Virtual machines often expose no cache directory: then the result is empty.
 */
public final class CpuCaches {
    private static final Path CPU0_CACHE = Path.of("/sys/devices/system/cpu/cpu0/cache");

    private CpuCaches() {
    }

    /** The size of the highest-level cache of cpu0, or empty where sysfs does not say. */
    public static OptionalLong lastLevelCacheBytes() {
        return lastLevelCacheBytes(CPU0_CACHE);
    }

    /** As {@link #lastLevelCacheBytes()}, reading the {@code index*} directories under {@code cacheDir}. */
    public static OptionalLong lastLevelCacheBytes(Path cacheDir) {
        if (!Files.isDirectory(cacheDir)) {
            return OptionalLong.empty();
        }
        int bestLevel = -1;
        long bestSize = 0;
        try (DirectoryStream<Path> indexes = Files.newDirectoryStream(cacheDir, "index*")) {
            for (Path index : indexes) {
                int level = Integer.parseInt(Files.readString(index.resolve("level")).trim());
                long size = parseSize(Files.readString(index.resolve("size")).trim());
                if (level > bestLevel) {
                    bestLevel = level;
                    bestSize = size;
                }
            }
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
        return bestLevel < 0 ? OptionalLong.empty() : OptionalLong.of(bestSize);
    }

    /** Parses sysfs sizes such as {@code 32768K} or {@code 32M}. */
    static long parseSize(String text) {
        String t = text.toUpperCase(Locale.ROOT);
        long multiplier = 1;
        if (t.endsWith("K")) {
            multiplier = 1L << 10;
        } else if (t.endsWith("M")) {
            multiplier = 1L << 20;
        } else if (t.endsWith("G")) {
            multiplier = 1L << 30;
        }
        String digits = multiplier == 1 ? t : t.substring(0, t.length() - 1);
        return Long.parseLong(digits) * multiplier;
    }
}
