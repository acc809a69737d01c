package io.hashkernel.prefetch;

import java.util.Locale;

/**
 * Chooses the prefetch strategy: the native one where it can run, else {@link TouchPrefetch}. The
 * system property {@value #PROPERTY} ({@code auto}, the default, {@code native} or {@code touch})
 * forces one; {@code native} where it cannot run throws, saying why.
 */
public final class Prefetchers {
    /** System property that selects the strategy. */
    public static final String PROPERTY = "hashkernel.prefetch";

    private Prefetchers() {
    }

    /** The strategy selected by {@value #PROPERTY}, read now. */
    public static PrefetchStrategy selected() {
        String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        NativePrefetch n = NativePrefetch.load();
        return switch (wanted) {
            case "touch" -> TouchPrefetch.INSTANCE;
            case "native" -> {
                if (n == null) {
                    throw new IllegalStateException("-D" + PROPERTY + "=native, but the native prefetch cannot run: "
                            + NativePrefetch.unavailableReason());
                }
                yield n;
            }
            case "auto" -> n != null ? n : TouchPrefetch.INSTANCE;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + wanted
                    + " is not a strategy; use auto, native or touch");
        };
    }

    /** One line for reports: the active strategy and, for the fallback, why. */
    public static String describe(PrefetchStrategy strategy) {
        if (strategy instanceof TouchPrefetch && NativePrefetch.load() == null) {
            return strategy.name() + " (native unavailable: " + NativePrefetch.unavailableReason() + ")";
        }
        return strategy.name();
    }
}
