package io.hashkernel.kernel;

/**
 * What a capability lets its holder do with the object it names: {@link #READ} (receive from an
 * endpoint), {@link #WRITE} (send to it) and {@link #GRANT} (pass the capability on, or send
 * capabilities through the endpoint). A capability passed on carries at most the rights of the
 * one it came from. Immutable.
 *
 * @param bits a combination of {@link #READ_BIT}, {@link #WRITE_BIT} and {@link #GRANT_BIT}
 */
public record Rights(int bits) {
    /** The bit of the read right. */
    public static final int READ_BIT = 1;
    /** The bit of the write right. */
    public static final int WRITE_BIT = 2;
    /** The bit of the grant right. */
    public static final int GRANT_BIT = 4;

    /** No right. */
    public static final Rights NONE = new Rights(0);
    /** Receive. */
    public static final Rights READ = new Rights(READ_BIT);
    /** Send. */
    public static final Rights WRITE = new Rights(WRITE_BIT);
    /** Pass on. */
    public static final Rights GRANT = new Rights(GRANT_BIT);
    /** Receive and send. */
    public static final Rights READ_WRITE = new Rights(READ_BIT | WRITE_BIT);
    /** Every right: what the creator of an object gets. */
    public static final Rights ALL = new Rights(READ_BIT | WRITE_BIT | GRANT_BIT);

    /**
     * @throws IllegalArgumentException if {@code bits} has a bit other than the three rights'
     */
    public Rights {
        if ((bits & ~ALL_BITS) != 0) {
            throw new IllegalArgumentException("rights are a combination of READ (1), WRITE (2) and GRANT (4), was " + bits);
        }
    }

    private static final int ALL_BITS = 7;

    /** Whether these rights include every one of {@code other}'s. */
    public boolean contains(Rights other) {
        return (bits & other.bits) == other.bits;
    }

    /** These rights and {@code other}'s together. */
    public Rights plus(Rights other) {
        return new Rights(bits | other.bits);
    }

    @Override
    public String toString() {
        return ((bits & READ_BIT) != 0 ? "r" : "-") + ((bits & WRITE_BIT) != 0 ? "w" : "-") + ((bits & GRANT_BIT) != 0 ? "g" : "-");
    }
}
