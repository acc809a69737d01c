package io.hashkernel.table;

import java.util.Locale;
import java.util.function.BooleanSupplier;

/**
 * Which compare the tables of this JVM use to look for a key in a 64-byte line, chosen once when
 * the first table class loads: the Vector API ({@link VectorLines}) where the module {@code
 * jdk.incubator.vector} is in the boot layer ({@code --add-modules jdk.incubator.vector}) and the
 * CPU has 512-bit vectors, else the scalar branch-free compare. The system property {@value
 * #PROPERTY} ({@code auto}, the default, {@code vector} or {@code scalar}) forces one; a table
 * refuses to be built when {@code vector} is forced and cannot run, or the value is unknown, saying
 * why. Both compares give the same answers.
 */
final class LineCompare {
    /** System property that selects the compare. */
    static final String PROPERTY = "hashkernel.lines";
    static final String VECTOR_MODULE = "jdk.incubator.vector";

    /** The choice: constant for the JIT, so the other compare's code is never compiled in. */
    static final boolean VECTOR;
    /** One line for reports: the compare in use and, for the scalar one, why. */
    static final String DESCRIPTION;
    /** Why a table must not be built with this choice, or null. */
    static final String PROBLEM;

    static {
        Choice c = choose(System.getProperty(PROPERTY, "auto"),
                ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent(), LineCompare::native512);
        VECTOR = c.vector();
        DESCRIPTION = c.description();
        PROBLEM = c.problem();
    }

    private LineCompare() {
    }

    record Choice(boolean vector, String description, String problem) {
    }

    /**
     * The choice for a property value, whether the vector module is loaded and (asked only then)
     * whether the CPU has native 512-bit vectors.
     */
    static Choice choose(String property, boolean moduleLoaded, BooleanSupplier native512) {
        String wanted = property.trim().toLowerCase(Locale.ROOT);
        String unavailable = !moduleLoaded ? VECTOR_MODULE + " not loaded: run with --add-modules " + VECTOR_MODULE
                : !native512.getAsBoolean() ? "no 512-bit vectors on this CPU" : null;
        return switch (wanted) {
            case "scalar" -> new Choice(false, "scalar (forced by -D" + PROPERTY + "=scalar)", null);
            case "vector" -> unavailable == null ? new Choice(true, "vector-512", null)
                    : new Choice(false, "scalar", "-D" + PROPERTY + "=vector, but the vector compare cannot run: "
                            + unavailable);
            case "auto" -> unavailable == null ? new Choice(true, "vector-512", null)
                    : new Choice(false, "scalar (" + unavailable + ")", null);
            default -> new Choice(false, "scalar", "-D" + PROPERTY + "=" + property
                    + " is not a line compare; use auto, vector or scalar");
        };
    }

    private static boolean native512() {
        try {
            return VectorLines.native512();
        } catch (LinkageError e) {
            return false;
        }
    }
}
