package io.hashkernel.bench.kernel;

/** A projected argument: the proxy copies x and y in and length back. */
public class Vec {
    public long x;
    public long y;
    public long length;
    /** Never copied: the callee does not read it. */
    public long[] payload = new long[8];
}
