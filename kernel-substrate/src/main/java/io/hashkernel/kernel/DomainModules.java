package io.hashkernel.kernel;

import java.lang.module.Configuration;
import java.lang.module.FindException;
import java.lang.module.ModuleFinder;
import java.lang.module.ResolutionException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Domain code loaded as a module in a module layer of its own, one layer per incarnation: a
 * restart starts from fresh static state, and a dead incarnation's classes can be unloaded once
 * nothing refers to them. The layer's module is given no native access, so under
 * {@code --illegal-native-access=deny} it cannot forge a pointer ({@code MemorySegment.ofAddress},
 * {@code reinterpret}): the restricted call throws {@link IllegalCallerException}, and the call
 * that made it fails like any other. Run the substrate with native access for its own modules
 * only ({@code --enable-native-access=io.hashkernel.kernel,io.hashkernel.numa,io.hashkernel.prefetch}
 * on the module path, {@code ALL-UNNAMED} on the class path) and
 * {@code --illegal-native-access=deny}.
 *
 * <p>The domain module reads the module of the service interface and the kernel's (granted by
 * the layer's controller, so it may be compiled with {@code --add-reads <module>=ALL-UNNAMED}
 * against a class-path kernel); the implementation's package is opened to the kernel only. Run
 * the substrate itself on the module path where domains must not reach its internals by
 * reflection: on the class path every package is open, to a domain's module too.
 */
public final class DomainModules {
    private DomainModules() {
    }

    /**
     * A domain factory that, for each incarnation, defines module {@code module} (resolved from
     * {@code modulePath}, with the layer of the service interface's module as parent) in a new
     * layer with a class loader of its own, and instantiates {@code implementation} through its
     * public constructor taking a {@link DomainContext} (or, failing that, its public no-argument
     * one).
     *
     * @throws IllegalArgumentException if a path does not exist or the module is not found there
     */
    public static <S> Function<DomainContext, S> factory(Class<S> service, String module, String implementation,
                                                         Path... modulePath) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(module, "module");
        Objects.requireNonNull(implementation, "implementation");
        for (Path p : modulePath) {
            if (!Files.exists(Objects.requireNonNull(p, "a module path entry"))) {
                throw new IllegalArgumentException("module path entry " + p + " does not exist");
            }
        }
        ModuleFinder finder = ModuleFinder.of(modulePath);
        try {
            if (finder.find(module).isEmpty()) {
                throw new IllegalArgumentException("no module " + module + " on " + Arrays.toString(modulePath));
            }
        } catch (FindException e) {
            throw new IllegalArgumentException("cannot read the module path " + Arrays.toString(modulePath) + ": "
                    + e.getMessage(), e);
        }
        return ctx -> {
            ModuleLayer parent = service.getModule().getLayer() != null ? service.getModule().getLayer() : ModuleLayer.boot();
            Configuration cf;
            try {
                cf = parent.configuration().resolve(finder, ModuleFinder.of(), Set.of(module));
            } catch (FindException | ResolutionException e) {
                throw new IllegalStateException("module " + module + " does not resolve: " + e.getMessage(), e);
            }
            // The layer's loader delegates the classes it does not define (the service interface, the
            // kernel's API) to the service's loader, or the kernel's for a JDK interface.
            ClassLoader delegate = service.getClassLoader() != null ? service.getClassLoader()
                    : DomainModules.class.getClassLoader();
            ModuleLayer.Controller layer = ModuleLayer.defineModulesWithOneLoader(cf, List.of(parent), delegate);
            Module m = layer.layer().findModule(module).orElseThrow();
            layer.addReads(m, service.getModule());
            layer.addReads(m, DomainContext.class.getModule());
            Class<?> type = Class.forName(m, implementation);
            if (type == null) {
                throw new IllegalArgumentException("module " + module + " has no class " + implementation);
            }
            layer.addOpens(m, type.getPackageName(), DomainModules.class.getModule());
            if (!service.isAssignableFrom(type)) {
                throw new IllegalArgumentException(implementation + " does not implement " + service.getName());
            }
            return service.cast(instantiate(type, ctx));
        };
    }

    private static Object instantiate(Class<?> type, DomainContext ctx) {
        try {
            Constructor<?> withContext;
            try {
                withContext = type.getConstructor(DomainContext.class);
            } catch (NoSuchMethodException e) {
                return type.getConstructor().newInstance();
            }
            return withContext.newInstance(ctx);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(type.getName() + "'s constructor failed", e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException(type.getName() + " needs a public constructor taking a DomainContext, "
                    + "or a public no-argument one", e);
        }
    }
}
