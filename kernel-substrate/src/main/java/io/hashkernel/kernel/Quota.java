package io.hashkernel.kernel;

/**
 * What a container may hold at once: 4 KiB frames, 2 MiB frames (superpages) and kernel objects
 * (child containers, domains, exchange-heap objects). A child's quota is reserved from its
 * parent's when it is created and returned when it is killed. The kernel refuses (with
 * {@link KernelError#INVALID_ARGUMENT}) a quota with a negative part or with no objects.
 *
 * @param smallFrames 4 KiB frames
 * @param hugeFrames  2 MiB frames
 * @param objects     kernel objects
 */
public record Quota(long smallFrames, long hugeFrames, long objects) {

    /** Null if every part is valid, else what is wrong. */
    String problem() {
        if (smallFrames < 0 || hugeFrames < 0 || objects < 0) {
            return "a quota's parts must be 0 or more, was " + this;
        }
        if (objects == 0) {
            return "a container's quota must allow at least one object (the container can do nothing without), was " + this;
        }
        return null;
    }
}
