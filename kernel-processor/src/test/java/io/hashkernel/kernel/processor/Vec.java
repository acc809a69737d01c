package io.hashkernel.kernel.processor;

/** A projectable argument: public mutable fields, a public no-argument constructor. */
public class Vec {
    public long x;
    public long y;
    public long length;
    public long secret;
}
