/**
 * Machine memory for HashKernel: huge-page-advised anonymous mappings through FFM downcalls to
 * libc, with a reported fallback to {@link java.lang.foreign.Arena} memory where those calls are
 * unavailable. Knows nothing about hash tables.
 *
 * <p>Restricted FFM calls live in {@code io.hashkernel.numa.LibC} alone; on the module path pass
 * {@code --enable-native-access=io.hashkernel.numa}, on the class path
 * {@code --enable-native-access=ALL-UNNAMED}.
 */
module io.hashkernel.numa {
    exports io.hashkernel.numa;
}
