package io.hashkernel.kernel;

import org.jctools.queues.MpmcArrayQueue;

/**
 * An endpoint: a bounded queue of messages (JCTools' MPMC array queue), owned by the process that
 * made it and charged to its container. Sends and receives of plain messages use the queue
 * without the kernel's lock; the endpoint's death (under the lock) sets {@code dead} first and
 * then drains what is left.
 */
final class Endpoint {
    final long id;
    final KernelProcess owner;
    final MpmcArrayQueue<Message> queue;
    volatile boolean dead;

    Endpoint(long id, KernelProcess owner, int capacity) {
        this.id = id;
        this.owner = owner;
        this.queue = new MpmcArrayQueue<>(capacity);
    }

    @Override
    public String toString() {
        return "endpoint " + id + " of " + owner;
    }
}
