package io.hashkernel.bench;

/**
 * What the JMH benchmarks share: building and loading a map of {@code entries} entries (entry
 * {@code i} maps {@link Keys#key key(i)} to {@link Keys#value value(i)}) through htbench's
 * {@link Impl}, and the JVM flags their forks need.
 */
final class JmhMaps {
    /** Native access for the prefetch downcalls; the peers' sun.misc.Unsafe use without warnings. */
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
    static final String UNSAFE_QUIET = "--sun-misc-unsafe-memory-access=allow";
    /** The vector module, so HashKernel's table uses its vector line compare (as htbench's JVMs do). */
    static final String VECTOR = "--add-modules=" + HtBench.VECTOR_MODULE;

    private JmhMaps() {
    }

    /** A loaded map: HashKernel's table sized so that the entries fill 0.75 of it. */
    static Subject loaded(String impl, long entries, int batch) {
        Subject s = Impl.parse(impl).create(entries * 4 / 3 + 64, entries, batch, 1, 1, 1, 1024);
        long[] keys = new long[1024];
        long[] values = new long[1024];
        for (long i = 0; i < entries; ) {
            int k = 0;
            for (; k < keys.length && i < entries; k++, i++) {
                keys[k] = Keys.key(i);
                values[k] = Keys.value(i);
            }
            s.putAll(keys, values, k);
        }
        s.sync();
        if (s.size() != entries) {
            throw new IllegalStateException(impl + " holds " + s.size() + " entries after loading " + entries);
        }
        return s;
    }
}
