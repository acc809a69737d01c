package io.hashkernel.kernel;

/**
 * A container, by id. Ids are never reused within a kernel, so a handle of a killed container
 * stays invalid.
 *
 * <p>A {@code ContainerId} is a name, not a capability: anyone can write one, and the calls that
 * take one (new containers, domains and processes, frames, kills) are the management interface of
 * whoever holds the {@link Kernel}. What runs inside, a domain or a {@link KernelProcess}, is
 * given no {@code Kernel} of its own to name containers with; a process acts through the
 * capabilities in its table, which it cannot forge.
 *
 * @param id the container's object id
 */
public record ContainerId(long id) {
}
