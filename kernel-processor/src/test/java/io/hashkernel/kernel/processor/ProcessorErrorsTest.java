package io.hashkernel.kernel.processor;

import com.google.testing.compile.Compilation;
import com.google.testing.compile.JavaFileObjects;
import org.junit.jupiter.api.Test;

import javax.tools.Diagnostic;
import javax.tools.JavaFileObject;
import java.util.stream.Collectors;

import static com.google.testing.compile.Compiler.javac;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the processor generates, and how it refuses misuse: each a compile error at the element at fault. */
class ProcessorErrorsTest {

    private static Compilation compile(String name, String source) {
        JavaFileObject file = JavaFileObjects.forSourceString("test." + name, "package test;\n"
                + "import io.hashkernel.kernel.*;\n" + source);
        return javac().withProcessors(new DomainServiceProcessor()).compile(file);
    }

    private static void assertError(Compilation c, String... mentions) {
        assertEquals(Compilation.Status.FAILURE, c.status(), "expected a compile error");
        String errors = c.errors().stream().map(d -> d.getMessage(null)).collect(Collectors.joining("\n"));
        for (String m : mentions) {
            assertTrue(errors.contains(m), "errors should mention '" + m + "':\n" + errors);
        }
    }

    @Test
    void aWellFormedServiceGetsItsProxy() throws Exception {
        Compilation c = compile("Calc", "@DomainService public interface Calc {\n"
                + "  long add(long a, long b);\n"
                + "  void reset();\n"
                + "  String name(XRef label);\n"
                + "}\n");
        assertEquals(Compilation.Status.SUCCESS, c.status(), c.diagnostics().toString());
        JavaFileObject proxy = c.generatedSourceFile("test.CalcProxy").orElseThrow();
        String text = proxy.getCharContent(true).toString();
        assertTrue(c.diagnostics().stream().noneMatch(d -> d.getKind() == Diagnostic.Kind.WARNING), c.diagnostics().toString());
        assertTrue(text.contains("public final class CalcProxy extends DomainProxy<Calc>"), text);
        assertTrue(text.contains("public Result<Long> add(long a, long b)"), text);
        assertTrue(text.contains("public Result<Void> reset()"), text);
        assertTrue(text.contains("label.moveTo(this.domain)"), text);
    }

    @Test
    void theAnnotationGoesOnAnInterface() {
        assertError(compile("Calc", "@DomainService public class Calc { }\n"), "goes on an interface", "Calc is a class");
    }

    @Test
    void genericsAreRefused() {
        assertError(compile("Box", "@DomainService public interface Box<T> { T get(); }\n"), "cannot be generic", "Box");
        assertError(compile("Box", "@DomainService public interface Box { <T> T get(); }\n"), "cannot be generic", "get");
    }

    @Test
    void aProjectionMustNameRealPublicFields() {
        String vec = "class V { public long x; public final long f = 0; private long p; static public long s; }\n";
        assertError(compile("S", "@DomainService public interface S { void m(@Projected(reads = \"z\") V v); }\n" + vec),
                "reads names field z, which V does not have");
        assertError(compile("S", "@DomainService public interface S { void m(@Projected(writes = \"f\") V v); }\n" + vec),
                "writes field f of V must be public (or, in the service's package, not private), not final and not static");
        assertError(compile("S", "@DomainService public interface S { void m(@Projected(reads = \"p\") V v); }\n" + vec),
                "field p of V must be public", "it is [private]");
        assertError(compile("S", "@DomainService public interface S { void m(@Projected(reads = \"s\") V v); }\n" + vec),
                "field s of V must be public", "static");
        assertError(compile("S", "@DomainService public interface S { void m(@Projected(reads = \"x\") W w); }\n"
                + "class W { public long x; public W(long x) { this.x = x; } }\n"), "needs a public no-argument constructor");
        Compilation packageLevel = compile("S", "@DomainService public interface S { long m(@Projected(reads = \"x\", "
                + "writes = \"y\") V v); }\nclass V { long x; long y; }\n");
        assertEquals(Compilation.Status.SUCCESS, packageLevel.status(), "package-private members reach a proxy in the "
                + "same package: " + packageLevel.diagnostics());
        assertError(compile("S", "@DomainService public interface S { void m(@Projected(reads = \"x\") long w); }\n"),
                "must be of a class with public fields");
    }

    @Test
    void borrowsAndProjectionsFitTheirParameters() {
        assertError(compile("S", "@DomainService public interface S { void m(@Borrowed long x); }\n"),
                "@Borrowed goes on an XRef parameter");
        assertError(compile("S", "@DomainService public interface S { void m(@Projected XRef x); }\n"),
                "not @Projected");
    }
}
