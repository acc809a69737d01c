package io.hashkernel.kernel.processor;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import org.junit.jupiter.api.Test;

import javax.tools.JavaFileObject;
import java.util.ArrayList;
import java.util.List;

import static com.google.testing.compile.Compiler.javac;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Interfaces whose proxies must compile (names that collide with the generated code's, varargs,
 * generic and repeated superinterface methods, {@code throws Throwable}, Object's methods
 * redeclared) and misuse that must be reported on the element at fault, not in generated code.
 */
class ProcessorEdgeCasesTest {

    private static Compilation compile(String... namesAndSources) {
        List<JavaFileObject> files = new ArrayList<>();
        for (int i = 0; i < namesAndSources.length; i += 2) {
            files.add(JavaFileObjects.forSourceString("test." + namesAndSources[i], "package test;\n"
                    + "import io.hashkernel.kernel.*;\nimport java.util.*;\n" + namesAndSources[i + 1]));
        }
        return javac().withProcessors(new DomainServiceProcessor()).compile(files);
    }

    private static void assertCompiles(Compilation c) {
        StringBuilder errors = new StringBuilder();
        c.errors().forEach(d -> errors.append("\n  ").append(d.getSource() == null ? "?" : d.getSource().getName())
                .append(':').append(d.getLineNumber()).append(": ").append(d.getMessage(null)));
        assertEquals(Compilation.Status.SUCCESS, c.status(), "the generated proxy does not compile:" + errors);
    }

    @Test
    void parameterNamedDomain() {
        assertCompiles(compile("S", "@DomainService public interface S { int lookup(String domain); }\n"));
    }

    @Test
    void xrefParameterNamedDomain() {
        assertCompiles(compile("S", "@DomainService public interface S { long first(XRef domain); }\n"));
    }

    @Test
    void parameterNamedResultDollar() {
        assertCompiles(compile("S", "@DomainService public interface S { int f(int result$); }\n"));
    }

    @Test
    void parameterNamedServiceDollar() {
        assertCompiles(compile("S", "@DomainService public interface S { int f(int service$); }\n"));
    }

    @Test
    void varargsStayVarargs() {
        assertCompiles(compile("S", "@DomainService public interface S { int sum(int... xs); }\n",
                "Use", "class Use { Result<Integer> use(SProxy p) { return p.sum(1, 2, 3); } }\n"));
    }

    @Test
    void methodInheritedFromGenericSuperInterface() {
        assertCompiles(compile("S", "interface Base<T> { T get(); void put(T value); }\n"
                + "@DomainService public interface S extends Base<String> { }\n"));
    }

    @Test
    void sameMethodFromTwoSuperInterfaces() {
        assertCompiles(compile("S", "interface A { long size(); }\ninterface B { long size(); }\n"
                + "@DomainService public interface S extends A, B { }\n"));
    }

    @Test
    void methodThrowsThrowable() {
        assertCompiles(compile("S", "@DomainService public interface S { void run() throws Throwable; }\n"));
    }

    @Test
    void aMethodNamedLikeADomainProxyMemberIsAProcessorError() {
        Compilation c = compile("S", "@DomainService public interface S { String domain(); }\n");
        assertEquals(Compilation.Status.FAILURE, c.status());
        assertTrue(c.errors().stream().anyMatch(d -> d.getMessage(null).contains("cannot be named domain")), c.errors().toString());
    }

    @Test
    void objectMethodRedeclared() {
        assertCompiles(compile("S", "@DomainService public interface S { String toString(); long count(); }\n"));
    }

    /** Misuse reported by the processor, not as an error in the generated source. */
    @Test
    void privateNestedServiceIsAProcessorError() {
        Compilation c = compile("Outer", "public class Outer { @DomainService private interface Api { long f(); } }\n");
        assertEquals(Compilation.Status.FAILURE, c.status());
        assertTrue(c.errors().stream().noneMatch(d -> d.getSource() != null && d.getSource().getName().contains("SOURCE_OUTPUT")),
                "errors in generated code: " + c.errors());
    }

    @Test
    void projectionOfAnInnerClassIsAProcessorError() {
        Compilation c = compile("S", "@DomainService public interface S { void m(@Projected(reads = \"x\") Outer.In v); }\n"
                + "class Outer { class In { public long x; public In() { } } }\n");
        assertEquals(Compilation.Status.FAILURE, c.status());
        assertTrue(c.errors().stream().noneMatch(d -> d.getSource() != null && d.getSource().getName().contains("SOURCE_OUTPUT")),
                "errors in generated code: " + c.errors());
    }

    @Test
    void overloadsArraysGenericsPrimitivesDefaultsHoldUp() {
        assertCompiles(compile("S", "interface Base { int base(int x); }\n"
                + "@DomainService public interface S extends Base {\n"
                + "  int f(int x); long f(long x); String f(String s, int[] a); List<String> g(List<String> in, Map<String, List<Integer>> m);\n"
                + "  boolean b(); char c(); double[][] d(); void v(); default int dflt() { return 1; } static int st() { return 2; }\n"
                + "  long w(Set<? extends Number> s) throws java.io.IOException;\n"
                + "}\n"));
    }
}
