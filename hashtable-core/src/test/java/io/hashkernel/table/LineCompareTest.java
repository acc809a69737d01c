package io.hashkernel.table;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The choice of line compare. The build runs this class twice: with {@code jdk.incubator.vector}
 * loaded (the default test JVM) and without it (surefire's {@code scalar-lines} run, which sets
 * {@code hashkernel.test.vectorModule=absent}).
 */
@Tag("lines")
class LineCompareTest {

    private static final boolean MODULE_LOADED = ModuleLayer.boot().findModule(LineCompare.VECTOR_MODULE).isPresent();

    @Test
    void theChoiceOfThisJvmFollowsTheModuleAndTheCpu() {
        if ("absent".equals(System.getProperty("hashkernel.test.vectorModule"))) {
            assertFalse(MODULE_LOADED, "this run is meant to have no vector module");
            assertFalse(LineCompare.VECTOR);
            assertEquals("scalar (jdk.incubator.vector not loaded: run with --add-modules jdk.incubator.vector)",
                    LineTable.lineCompare());
        } else {
            assertTrue(MODULE_LOADED, "the build's test JVMs load the vector module");
            assertEquals(VectorLines.native512(), LineCompare.VECTOR);
            assertEquals(LineCompare.VECTOR ? "vector-512" : "scalar (no 512-bit vectors on this CPU)",
                    LineTable.lineCompare());
        }
        assertNull(LineCompare.PROBLEM);
    }

    @Test
    void autoTakesTheVectorCompareWhereItRuns() {
        assertTrue(LineCompare.choose("auto", true, () -> true).vector());
        assertEquals("vector-512", LineCompare.choose(" AUTO ", true, () -> true).description());
        LineCompare.Choice noModule = LineCompare.choose("auto", false, () -> fail("asked the CPU without the module"));
        assertFalse(noModule.vector());
        assertNull(noModule.problem());
        LineCompare.Choice narrow = LineCompare.choose("auto", true, () -> false);
        assertFalse(narrow.vector());
        assertEquals("scalar (no 512-bit vectors on this CPU)", narrow.description());
    }

    @Test
    void scalarCanBeForced() {
        LineCompare.Choice c = LineCompare.choose("scalar", true, () -> true);
        assertFalse(c.vector());
        assertEquals("scalar (forced by -Dhashkernel.lines=scalar)", c.description());
        assertNull(c.problem());
    }

    @Test
    void aForcedVectorCompareThatCannotRunIsAProblemThatSaysWhy() {
        assertNull(LineCompare.choose("vector", true, () -> true).problem());
        assertEquals("-Dhashkernel.lines=vector, but the vector compare cannot run: jdk.incubator.vector not loaded:"
                + " run with --add-modules jdk.incubator.vector", LineCompare.choose("vector", false, () -> true).problem());
        assertEquals("-Dhashkernel.lines=vector, but the vector compare cannot run: no 512-bit vectors on this CPU",
                LineCompare.choose("vector", true, () -> false).problem());
    }

    @Test
    void anUnknownValueIsAProblemThatListsTheValues() {
        LineCompare.Choice c = LineCompare.choose("simd", true, () -> true);
        assertFalse(c.vector());
        assertEquals("-Dhashkernel.lines=simd is not a line compare; use auto, vector or scalar", c.problem());
    }
}
