package io.hashkernel.kernel;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks an interface that domains serve: the {@code hashkernel-kernel-processor} annotation
 * processor generates {@code <Interface>Proxy}, a {@link DomainProxy} whose methods call the
 * domain through {@link Domain#call} and return a {@link Result} (the method's value boxed, or
 * {@code Void}) instead of throwing. An {@link XRef} argument is moved into the callee first
 * (unless {@link Borrowed}); a {@link Projected} argument is copied in and back field by field.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface DomainService {
}
