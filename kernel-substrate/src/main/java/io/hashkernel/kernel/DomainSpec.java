package io.hashkernel.kernel;

import java.util.Objects;
import java.util.function.Function;

/**
 * What a domain is: a name, the service interface it is called through, the factory that builds
 * its service inside the domain (given the domain's {@link DomainContext}: its memory), and its
 * restart policy. The factory runs at creation and at each restart; if it throws, the domain is
 * dead and its memory revoked.
 *
 * @param name    for messages
 * @param service the interface callers use
 * @param factory builds the service in the domain
 * @param restart whether a failed domain is recreated
 * @param <S>     the service type
 */
public record DomainSpec<S>(String name, Class<S> service, Function<DomainContext, ? extends S> factory,
                            RestartPolicy restart) {
    public DomainSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(factory, "factory");
        Objects.requireNonNull(restart, "restart");
        if (!service.isInterface()) {
            throw new IllegalArgumentException("a domain is called through an interface; " + service.getName() + " is not one");
        }
    }
}
