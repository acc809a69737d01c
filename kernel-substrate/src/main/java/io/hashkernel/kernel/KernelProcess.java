package io.hashkernel.kernel;

import io.hashkernel.table.GrowingLongLongTable;

/**
 * A process: an address space of 4 KiB pages (its page table) and a capability table, owned by a
 * container, in which {@link KernelThread}s run. The reference is the authority: the kernel's
 * process calls ({@link Kernel#map}, {@link Kernel#send}, ...) act for the process they are
 * given, and check every capability slot against its table. Killing it kills its threads,
 * destroys its endpoints and unmaps its pages, whose frames go back to the pool.
 */
public final class KernelProcess {
    final Kernel kernel;
    final long id;
    final long container;
    final String name;
    /** Capability slot -> rights << 61 | object id. A HashKernel table in kernel memory. */
    final GrowingLongLongTable capabilities;
    /** Virtual page number -> mapping id. A HashKernel table in kernel memory. */
    final GrowingLongLongTable pages;
    /** The next capability slot; slots are never reused. Under the kernel's lock. */
    int nextSlot;
    /** Where the kernel looks first for a free page to map a received one. Under the kernel's lock. */
    long receiveCursor = Kernel.RECEIVE_BASE;
    /** Set under the kernel's lock when the process is killed. */
    volatile boolean dead;

    KernelProcess(Kernel kernel, long id, long container, String name, GrowingLongLongTable capabilities,
                  GrowingLongLongTable pages) {
        this.kernel = kernel;
        this.id = id;
        this.container = container;
        this.name = name;
        this.capabilities = capabilities;
        this.pages = pages;
    }

    /** Its id. */
    public long id() {
        return id;
    }

    /** Its name. */
    public String name() {
        return name;
    }

    /** The container it is charged to. */
    public ContainerId container() {
        return new ContainerId(container);
    }

    /** Whether it has not been killed (by itself, its container's death, or the kernel's close). */
    public boolean isAlive() {
        return !dead;
    }

    @Override
    public String toString() {
        return "process " + name + " (" + id + (dead ? ", dead)" : ")");
    }
}
