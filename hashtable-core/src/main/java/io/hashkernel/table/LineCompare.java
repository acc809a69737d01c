package io.hashkernel.table;

import java.util.Locale;
import java.util.function.IntSupplier;

/**
 * Which compare the tables of this JVM use to look for a key in a 64-byte line, chosen once when
 * the first table class loads: where the module {@code jdk.incubator.vector} is in the boot layer
 * ({@code --add-modules jdk.incubator.vector}), the Vector API ({@link VectorLines}) with one
 * 512-bit load of the line where the CPU has 512-bit vectors, else with two 256-bit loads where
 * it has 256-bit ones (AVX2); else the scalar branch-free compare. The system property {@value
 * #PROPERTY} ({@code auto}, the default, {@code vector}, {@code vector256} or {@code scalar})
 * forces one; a table refuses to be built when the module is missing for a forced vector
 * compare, when {@code vector} is forced on a CPU without 512-bit vectors, or when the value is
 * unknown, saying why ({@code vector256} runs emulated on narrower CPUs: the build tests it on
 * every CPU). All compares give the same answers.
 */
final class LineCompare {
    /** System property that selects the compare. */
    static final String PROPERTY = "hashkernel.lines";
    static final String VECTOR_MODULE = "jdk.incubator.vector";

    /** The 512-bit compare: constant for the JIT, so the other compares' code is never compiled in. */
    static final boolean VECTOR;
    /** The 256-bit compare, in the scalar compare's places (never with {@link #VECTOR}). */
    static final boolean VECTOR_256;
    /** One line for reports: the compare in use and, for the scalar one, why. */
    static final String DESCRIPTION;
    /** Why a table must not be built with this choice, or null. */
    static final String PROBLEM;

    static {
        Choice c = choose(System.getProperty(PROPERTY, "auto"),
                ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent(), LineCompare::vectorBits);
        VECTOR = c.bits() == 512;
        VECTOR_256 = c.bits() == 256;
        DESCRIPTION = c.description();
        PROBLEM = c.problem();
    }

    private LineCompare() {
    }

    /**
     * A choice.
     *
     * @param bits        the vector width of the compare: 512, 256, or 0 for the scalar one
     * @param description one line for reports
     * @param problem     why a table must not be built with it, or null
     */
    record Choice(int bits, String description, String problem) {
    }

    /**
     * The choice for a property value, whether the vector module is loaded and (asked only then)
     * the widest vectors of longs the CPU runs natively, in bits.
     */
    static Choice choose(String property, boolean moduleLoaded, IntSupplier vectorBits) {
        String wanted = property.trim().toLowerCase(Locale.ROOT);
        String notLoaded = VECTOR_MODULE + " not loaded: run with --add-modules " + VECTOR_MODULE;
        int bits = moduleLoaded ? vectorBits.getAsInt() : 0;
        return switch (wanted) {
            case "scalar" -> new Choice(0, "scalar (forced by -D" + PROPERTY + "=scalar)", null);
            case "vector" -> !moduleLoaded ? cannot(wanted, "vector", notLoaded)
                    : bits < 512 ? cannot(wanted, "vector", "no 512-bit vectors on this CPU")
                    : new Choice(512, "vector-512", null);
            // Runs anywhere the module is (emulated, and slow, where vectors are narrower): the
            // build forces it to test this compare on every CPU.
            case "vector256" -> !moduleLoaded ? cannot(wanted, "vector-256", notLoaded)
                    : new Choice(256, "vector-256 (forced by -D" + PROPERTY + "=vector256"
                            + (bits < 256 ? "; emulated: no 256-bit vectors on this CPU" : "") + ")", null);
            case "auto" -> !moduleLoaded ? new Choice(0, "scalar (" + notLoaded + ")", null)
                    : bits >= 512 ? new Choice(512, "vector-512", null)
                    : bits >= 256 ? new Choice(256, "vector-256 (no 512-bit vectors on this CPU)", null)
                    : new Choice(0, "scalar (no 256-bit vectors on this CPU)", null);
            default -> new Choice(0, "scalar", "-D" + PROPERTY + "=" + property
                    + " is not a line compare; use auto, vector, vector256 or scalar");
        };
    }

    private static Choice cannot(String wanted, String compare, String why) {
        return new Choice(0, "scalar", "-D" + PROPERTY + "=" + wanted + ", but the " + compare
                + " compare cannot run: " + why);
    }

    private static int vectorBits() {
        try {
            return VectorLines.vectorBits();
        } catch (LinkageError e) {
            return 0;
        }
    }
}
