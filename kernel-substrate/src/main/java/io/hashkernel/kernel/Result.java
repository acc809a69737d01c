package io.hashkernel.kernel;

import java.util.Objects;
import java.util.function.Function;

/**
 * The outcome of a kernel call: {@link Ok} with its value, or {@link Err} with a
 * {@link KernelError} and a message (and, for a domain's failure, the domain's exception as the
 * cause). As RedLeaf's {@code RpcResult}: the caller decides, nothing is thrown at it.
 *
 * @param <T> the value's type
 */
public sealed interface Result<T> permits Result.Ok, Result.Err {

    /** A successful call's value. */
    record Ok<T>(T value) implements Result<T> {
    }

    /**
     * A refused or failed call.
     *
     * @param error   what kind of failure
     * @param message what was wrong, and what is allowed
     * @param cause   the domain's exception for {@link KernelError#DOMAIN_FAILED}, else null
     */
    record Err<T>(KernelError error, String message, Throwable cause) implements Result<T> {
        public Err {
            Objects.requireNonNull(error, "error");
            Objects.requireNonNull(message, "message");
        }

        @Override
        public String toString() {
            return "Err[" + error + ": " + message + (cause != null ? " (" + cause + ")" : "") + "]";
        }
    }

    /** A success. */
    static <T> Result<T> ok(T value) {
        return new Ok<>(value);
    }

    /** A failure without a cause. */
    static <T> Result<T> err(KernelError error, String message) {
        return new Err<>(error, message, null);
    }

    /** Whether the call succeeded. */
    default boolean isOk() {
        return this instanceof Ok;
    }

    /** The error, or null on success. */
    default KernelError error() {
        return this instanceof Err<T> e ? e.error() : null;
    }

    /**
     * The value of a success.
     *
     * @throws IllegalStateException on a failure, with its error and message (and cause)
     */
    default T orElseThrow() {
        if (this instanceof Ok<T> ok) {
            return ok.value();
        }
        Err<T> e = (Err<T>) this;
        throw new IllegalStateException(e.error() + ": " + e.message(), e.cause());
    }

    /** The success's value mapped, or this failure. */
    @SuppressWarnings("unchecked")
    default <U> Result<U> map(Function<? super T, ? extends U> f) {
        return this instanceof Ok<T> ok ? new Ok<>(f.apply(ok.value())) : (Result<U>) this;
    }
}
