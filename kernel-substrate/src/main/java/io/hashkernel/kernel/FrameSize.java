package io.hashkernel.kernel;

/** The two frame sizes of the pool. */
public enum FrameSize {
    /** A 4 KiB frame, cut from a split superpage. */
    SMALL(4096),
    /** A 2 MiB superpage. */
    HUGE(2L << 20);

    private final long bytes;

    FrameSize(long bytes) {
        this.bytes = bytes;
    }

    /** The size in bytes. */
    public long bytes() {
        return bytes;
    }
}
