package io.hashkernel.kernel;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * On an {@link XRef} parameter of a {@link DomainService} method: the generated proxy lends the
 * object read-only for the length of the call ({@link XRef#borrow()}) instead of moving it; the
 * callee gets a lent handle ({@link XRef.Borrow#handle()}) that reads the object, refuses writes,
 * moves and drops, and goes stale when the call returns.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.PARAMETER)
public @interface Borrowed {
}
