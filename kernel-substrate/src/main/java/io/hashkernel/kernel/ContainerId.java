package io.hashkernel.kernel;

/**
 * A container, by id. Ids are never reused within a kernel, so a handle of a killed container
 * stays invalid.
 *
 * @param id the container's object id
 */
public record ContainerId(long id) {
}
