package io.hashkernel.kernel;

import java.util.Objects;

/**
 * The base of the proxies that the annotation processor generates for {@link DomainService}
 * interfaces: it holds the domain the proxy calls. Use {@link #of} to find the generated proxy of
 * a domain's service interface.
 *
 * @param <S> the service interface
 */
public abstract class DomainProxy<S> {
    /** The domain this proxy calls. */
    protected final Domain<S> domain;

    /** A proxy calling {@code domain}. */
    protected DomainProxy(Domain<S> domain) {
        this.domain = Objects.requireNonNull(domain, "domain");
    }

    /** A failure of a step before the call (a move, a borrow) as the method's result. */
    @SuppressWarnings("unchecked")
    protected static <T> Result<T> refused(Result<?> failure) {
        if (failure.isOk()) {
            throw new IllegalArgumentException("not a failure: " + failure);
        }
        return (Result<T>) failure;
    }

    /** A borrow the generated code could not start, as the method's result. */
    protected static <T> Result<T> notBorrowed(String parameter, IllegalStateException e) {
        return Result.err(KernelError.INVALID_STATE, "argument " + parameter + " cannot be lent: " + e.getMessage());
    }

    /** The domain this proxy calls. */
    public Domain<S> domain() {
        return domain;
    }

    /**
     * The binary name of the proxy generated for the interface of binary name {@code service}: in
     * its package, the interface's name (an enclosing type's name and {@code _} before a nested
     * one's) and {@code Proxy}, as {@code a.b.Outer$Api} gives {@code a.b.Outer_ApiProxy}.
     */
    public static String proxyName(String service) {
        return service.replace('$', '_') + "Proxy";
    }

    /**
     * The generated proxy (named as {@link #proxyName} says, beside the interface) for {@code domain}.
     *
     * @throws IllegalArgumentException if the domain's interface is not annotated
     *                                  {@link DomainService}, or its proxy was not generated
     *                                  (the processor did not run on it)
     */
    @SuppressWarnings("unchecked")
    public static <S, P extends DomainProxy<S>> P of(Domain<S> domain) {
        Class<S> service = domain.spec.service();
        if (!service.isAnnotationPresent(DomainService.class)) {
            throw new IllegalArgumentException(service.getName() + " is not annotated @DomainService: proxies are "
                    + "generated only for interfaces that are");
        }
        String name = proxyName(service.getName());
        try {
            Class<?> proxy = Class.forName(name, true, service.getClassLoader());
            return (P) proxy.getConstructor(Domain.class).newInstance(domain);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("no generated proxy " + name + ": run hashkernel-kernel-processor "
                    + "on " + service.getName(), e);
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("cannot make " + name + " for " + domain, e);
        }
    }
}
