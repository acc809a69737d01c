package io.hashkernel.kernel;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.spi.ToolProvider;
import java.util.function.LongUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Domain code in a module layer of its own: fresh static state at each restart, and no native
 * access, so a forged pointer is refused. The test JVM runs with {@code --illegal-native-access=deny}
 * (the module's pom), as the substrate's users should. The plugin module is compiled here.
 */
class DomainModulesTest {
    private static final String PLUGIN = """
            package test.plugin;

            import io.hashkernel.kernel.DomainContext;
            import java.lang.foreign.MemorySegment;
            import java.lang.foreign.ValueLayout;
            import java.util.function.LongUnaryOperator;

            public final class Plugin implements LongUnaryOperator {
                static long created;                       // static state: one per incarnation's layer
                private final MemorySegment cell;

                public Plugin(DomainContext ctx) {
                    created++;
                    cell = ctx.allocate(8, 8);
                }

                @Override
                public long applyAsLong(long op) {
                    if (op == 0) {
                        return created;
                    }
                    if (op == 1) {                          // forge a pointer to the kernel's pool
                        return MemorySegment.ofAddress(cell.address() - 4096).reinterpret(8).get(ValueLayout.JAVA_LONG, 0);
                    }
                    if (op == 2) {
                        throw new IllegalStateException("the plugin crashed");
                    }
                    if (op == 3) {
                        return getClass().getModule().isNativeAccessEnabled() ? 1 : 0;
                    }
                    cell.set(ValueLayout.JAVA_LONG, 0, op);
                    return cell.get(ValueLayout.JAVA_LONG, 0);
                }
            }
            """;

    @TempDir
    static Path modules;

    private Kernel kernel;
    private ContainerId container;

    @BeforeAll
    static void compilePlugin() throws Exception {
        Path src = Files.createDirectories(modules.resolve("src/test/plugin"));
        Files.writeString(modules.resolve("src/module-info.java"), "module test.plugin { }\n");
        Files.writeString(src.resolve("Plugin.java"), PLUGIN);
        Path kernelClasses = Path.of(DomainContext.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ToolProvider javac = ToolProvider.findFirst("javac").orElseThrow();
        StringWriter errors = new StringWriter();
        int rc = javac.run(new PrintWriter(errors), new PrintWriter(errors), "-d", modules.resolve("test.plugin").toString(),
                "--add-reads", "test.plugin=ALL-UNNAMED", "-classpath", kernelClasses.toString(),
                modules.resolve("src/module-info.java").toString(), src.resolve("Plugin.java").toString());
        assertEquals(0, rc, errors.toString());
    }

    @BeforeEach
    void boot() {
        kernel = Kernel.builder().memoryBytes(4 * FrameSize.HUGE.bytes()).build();
        container = kernel.newContainer(kernel.root(), new Quota(16, 0, 4)).orElseThrow();
    }

    @AfterEach
    void close() {
        assertEquals(List.of(), kernel.checkInvariants());
        kernel.close();
    }

    private Domain<LongUnaryOperator> plugin() {
        return kernel.newDomain(container, new DomainSpec<>("plugin", LongUnaryOperator.class,
                DomainModules.factory(LongUnaryOperator.class, "test.plugin", "test.plugin.Plugin",
                        modules.resolve("test.plugin")), RestartPolicy.always())).orElseThrow();
    }

    @Test
    void eachIncarnationHasItsOwnLayerAndStaticState() {
        Domain<LongUnaryOperator> d = plugin();
        assertEquals(42L, d.call(p -> p.applyAsLong(42)).orElseThrow());
        assertEquals(1L, d.call(p -> p.applyAsLong(0)).orElseThrow());
        LongUnaryOperator first = d.call(p -> p).orElseThrow();
        assertEquals("test.plugin", first.getClass().getModule().getName());
        assertEquals(KernelError.DOMAIN_FAILED, d.call(p -> p.applyAsLong(2)).error());
        assertEquals(1L, d.call(p -> p.applyAsLong(0)).orElseThrow(), "a restart starts from fresh static state");
        LongUnaryOperator second = d.call(p -> p).orElseThrow();
        assertNotSame(first.getClass(), second.getClass());
        assertNotSame(first.getClass().getClassLoader(), second.getClass().getClassLoader());
    }

    @Test
    void aDomainCannotForgeAPointer() {
        Domain<LongUnaryOperator> d = plugin();
        assertEquals(0L, d.call(p -> p.applyAsLong(3)).orElseThrow(), "the plugin's module has no native access");
        Result.Err<?> e = assertInstanceOf(Result.Err.class, d.call(p -> p.applyAsLong(1)));
        assertEquals(KernelError.DOMAIN_FAILED, e.error());
        assertInstanceOf(IllegalCallerException.class, e.cause(), String.valueOf(e.cause()));
        assertTrue(d.isAlive(), "restarted");
        assertEquals(7L, d.call(p -> p.applyAsLong(7)).orElseThrow());
    }

    @Test
    void badModulesAreClearErrors() {
        IllegalArgumentException noModule = assertThrows(IllegalArgumentException.class, () -> DomainModules.factory(
                LongUnaryOperator.class, "no.such", "x.Y", modules.resolve("test.plugin")));
        assertTrue(noModule.getMessage().contains("no module no.such"), noModule.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DomainModules.factory(LongUnaryOperator.class, "test.plugin",
                "test.plugin.Plugin", modules.resolve("missing")));
        Result<Domain<LongUnaryOperator>> noClass = kernel.newDomain(container, new DomainSpec<>("p", LongUnaryOperator.class,
                DomainModules.factory(LongUnaryOperator.class, "test.plugin", "test.plugin.Nothing",
                        modules.resolve("test.plugin")), RestartPolicy.never()));
        Result.Err<?> e = assertInstanceOf(Result.Err.class, noClass);
        assertEquals(KernelError.DOMAIN_FAILED, e.error());
        assertTrue(e.cause().getMessage().contains("has no class test.plugin.Nothing"), e.cause().getMessage());
        Result<Domain<Runnable>> wrongType = kernel.newDomain(container, new DomainSpec<>("p", Runnable.class,
                DomainModules.factory(Runnable.class, "test.plugin", "test.plugin.Plugin", modules.resolve("test.plugin")),
                RestartPolicy.never()));
        assertTrue(wrongType.error() == KernelError.DOMAIN_FAILED
                && ((Result.Err<?>) wrongType).cause().getMessage().contains("does not implement java.lang.Runnable"));
        assertFalse(kernel.usage(container).orElseThrow().objects() > 0, "failed creations leave nothing");
    }
}
