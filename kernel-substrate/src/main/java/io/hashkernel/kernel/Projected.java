package io.hashkernel.kernel;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * On a parameter of a {@link DomainService} method whose type is a class with a no-argument
 * constructor and non-final instance fields that the generated proxy can reach (public, or
 * package-private in the service's package): the callee gets a fresh object holding only the
 * fields it {@link #reads} (copied in), and after a successful call the fields it
 * {@link #writes} are copied back into the caller's object (KSplit's projections). The processor
 * rejects, at compile time, a field the class does not have or the proxy cannot set.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.PARAMETER)
public @interface Projected {
    /** The fields copied into the callee's object. */
    String[] reads() default {};

    /** The fields copied back to the caller's object after the call. */
    String[] writes() default {};
}
