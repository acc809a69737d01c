package io.hashkernel.table;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The choice of line compare. The build runs this class three times: with {@code
 * jdk.incubator.vector} loaded (the default test JVM), with it and {@code
 * -Dhashkernel.lines=vector256} (surefire's {@code vector256-lines} run), and without it
 * (surefire's {@code scalar-lines} run, which sets {@code hashkernel.test.vectorModule=absent}).
 */
@Tag("lines")
class LineCompareTest {

    private static final boolean MODULE_LOADED = ModuleLayer.boot().findModule(LineCompare.VECTOR_MODULE).isPresent();

    @Test
    void theChoiceOfThisJvmFollowsTheModuleAndTheCpu() {
        if ("absent".equals(System.getProperty("hashkernel.test.vectorModule"))) {
            assertFalse(MODULE_LOADED, "this run is meant to have no vector module");
            assertFalse(LineCompare.VECTOR || LineCompare.VECTOR_256);
            assertEquals("scalar (jdk.incubator.vector not loaded: run with --add-modules jdk.incubator.vector)",
                    LineTable.lineCompare());
        } else if ("vector256".equals(System.getProperty(LineCompare.PROPERTY))) {
            assertTrue(MODULE_LOADED, "the build's test JVMs load the vector module");
            assertTrue(LineCompare.VECTOR_256 && !LineCompare.VECTOR);
            assertEquals("vector-256 (forced by -Dhashkernel.lines=vector256" + (VectorLines.vectorBits() < 256
                    ? "; emulated: no 256-bit vectors on this CPU)" : ")"), LineTable.lineCompare());
        } else {
            assertTrue(MODULE_LOADED, "the build's test JVMs load the vector module");
            int bits = VectorLines.vectorBits();
            assertEquals(bits >= 512, LineCompare.VECTOR);
            assertEquals(bits == 256, LineCompare.VECTOR_256);
            assertEquals(bits >= 512 ? "vector-512" : bits == 256 ? "vector-256 (no 512-bit vectors on this CPU)"
                    : "scalar (no 256-bit vectors on this CPU)", LineTable.lineCompare());
        }
        assertNull(LineCompare.PROBLEM);
    }

    @Test
    void autoTakesTheWidestVectorCompareThatRuns() {
        assertEquals(512, LineCompare.choose("auto", true, () -> 512).bits());
        assertEquals("vector-512", LineCompare.choose(" AUTO ", true, () -> 512).description());
        LineCompare.Choice noModule = LineCompare.choose("auto", false, () -> fail("asked the CPU without the module"));
        assertEquals(0, noModule.bits());
        assertNull(noModule.problem());
        LineCompare.Choice avx2 = LineCompare.choose("auto", true, () -> 256);
        assertEquals(256, avx2.bits());
        assertEquals("vector-256 (no 512-bit vectors on this CPU)", avx2.description());
        LineCompare.Choice narrow = LineCompare.choose("auto", true, () -> 128);
        assertEquals(0, narrow.bits());
        assertEquals("scalar (no 256-bit vectors on this CPU)", narrow.description());
    }

    @Test
    void scalarCanBeForced() {
        LineCompare.Choice c = LineCompare.choose("scalar", true, () -> 512);
        assertEquals(0, c.bits());
        assertEquals("scalar (forced by -Dhashkernel.lines=scalar)", c.description());
        assertNull(c.problem());
    }

    @Test
    void aForcedVectorCompareThatCannotRunIsAProblemThatSaysWhy() {
        assertNull(LineCompare.choose("vector", true, () -> 512).problem());
        assertEquals("-Dhashkernel.lines=vector, but the vector compare cannot run: jdk.incubator.vector not loaded:"
                + " run with --add-modules jdk.incubator.vector", LineCompare.choose("vector", false, () -> 512).problem());
        assertEquals("-Dhashkernel.lines=vector, but the vector compare cannot run: no 512-bit vectors on this CPU",
                LineCompare.choose("vector", true, () -> 256).problem());
        LineCompare.Choice half = LineCompare.choose("vector256", true, () -> 512);
        assertEquals(256, half.bits(), "the 256-bit compare runs where 512-bit vectors do");
        assertNull(half.problem());
        LineCompare.Choice emulated = LineCompare.choose("vector256", true, () -> 128);
        assertEquals(256, emulated.bits(), "forced, it runs emulated where vectors are narrower");
        assertNull(emulated.problem());
        assertEquals("vector-256 (forced by -Dhashkernel.lines=vector256; emulated: no 256-bit vectors on this CPU)",
                emulated.description());
        assertEquals("-Dhashkernel.lines=vector256, but the vector-256 compare cannot run: jdk.incubator.vector not"
                + " loaded: run with --add-modules jdk.incubator.vector",
                LineCompare.choose("vector256", false, () -> 256).problem());
    }

    @Test
    void anUnknownValueIsAProblemThatListsTheValues() {
        LineCompare.Choice c = LineCompare.choose("simd", true, () -> 512);
        assertEquals(0, c.bits());
        assertEquals("-Dhashkernel.lines=simd is not a line compare; use auto, vector, vector256 or scalar",
                c.problem());
    }
}
