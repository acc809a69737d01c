/**
 * Memory-level parallelism from Java: strategies that start the DRAM misses of a whole batch of
 * cache lines at once. Knows nothing about keys or values.
 *
 * <p>Restricted FFM calls live in {@code io.hashkernel.prefetch.NativePrefetch} alone; pass
 * {@code --enable-native-access=io.hashkernel.prefetch} (module path) or
 * {@code --enable-native-access=ALL-UNNAMED} (class path).
 */
@SuppressWarnings("module") // io.hashkernel.table is built after this module
module io.hashkernel.prefetch {
    exports io.hashkernel.prefetch;
    // The batch engine is the tables' machinery, not an API.
    exports io.hashkernel.prefetch.batch to io.hashkernel.table;
}
