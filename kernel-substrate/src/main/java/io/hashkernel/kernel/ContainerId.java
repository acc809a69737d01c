package io.hashkernel.kernel;

/**
 * A container, by id. Ids are never reused within a kernel, so a handle of a killed container
 * stays invalid.
 *
 * <p>A {@code ContainerId} is a name, not a capability: anyone can write one, and the calls that
 * take one (new containers, domains and processes, frames, kills) are the management interface of
 * whoever holds the {@link Kernel}. Code that must not manage containers is not handed the
 * {@code Kernel}: a domain sees its {@link DomainContext}. The calls made for a
 * {@link KernelProcess} are checked against that process's capabilities, which cannot be forged.
 *
 * @param id the container's object id
 */
public record ContainerId(long id) {
}
