package io.hashkernel.kernel;

/**
 * A frame of the kernel's pool as a container holds it: its number (the index of its first
 * 4 KiB frame in the pool) and size. A handle only: what may be done with it is checked by the
 * kernel against its frame map on every call.
 *
 * @param number the pool index of its first 4 KiB frame
 * @param size   4 KiB or 2 MiB
 */
public record Frame(long number, FrameSize size) {
}
