package io.hashkernel.bench;

/**
 * One benchmark cell: an implementation, an operation and a table size, on some threads.
 *
 * @param impl     the implementation's id
 * @param op       {@code find} or {@code insert}
 * @param dist     the key distribution ({@code uniform})
 * @param threads  worker threads
 * @param capacity slots of the HashKernel table ({@code tableMiB} MiB / 16 bytes)
 * @param entries  entries every implementation holds: {@code fill * capacity}
 * @param seconds  measured time
 * @param warmupSeconds untimed run before the measurement (JIT compilation)
 * @param seed     seed of the key streams
 * @param batch    requests per prefetched batch of the batched implementation
 * @param depth    batches in flight in the batched implementation
 */
record CellSpec(String impl, String op, String dist, int threads, long capacity, long entries,
                double seconds, double warmupSeconds, long seed, int batch, int depth) {

    /** The table's memory in MiB, as the user asked for it. */
    long tableMiB() {
        return (capacity * 16) >> 20;
    }
}
