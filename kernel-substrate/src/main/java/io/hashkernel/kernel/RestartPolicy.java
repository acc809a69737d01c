package io.hashkernel.kernel;

/**
 * Whether a domain that failed is recreated (RedLeaf's shadow domain): its factory runs again in
 * fresh memory, so that the caller may retry. A domain restarts at most {@code maxRestarts} times
 * in its life.
 *
 * @param maxRestarts how many restarts in all, 0 or more
 */
public record RestartPolicy(int maxRestarts) {
    public RestartPolicy {
        if (maxRestarts < 0) {
            throw new IllegalArgumentException("maxRestarts must be 0 or more, was " + maxRestarts);
        }
    }

    /** A failed domain stays dead. */
    public static RestartPolicy never() {
        return new RestartPolicy(0);
    }

    /** A failed domain is always recreated. */
    public static RestartPolicy always() {
        return new RestartPolicy(Integer.MAX_VALUE);
    }
}
