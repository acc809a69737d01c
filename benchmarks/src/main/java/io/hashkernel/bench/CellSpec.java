package io.hashkernel.bench;

import java.util.List;

/**
 * One child JVM's work: an implementation at one table size and thread count, and the workloads
 * to run on it (those that read share one loaded map; each insert gets a fresh one).
 *
 * @param impl      the implementation's id
 * @param workloads what to run, in order
 * @param threads   worker threads asked for (a single-writer map writes on one)
 * @param capacity  slots of the HashKernel table ({@code tableMiB} MiB / 16 bytes)
 * @param entries   entries every implementation holds: {@code fill * capacity}
 * @param seconds   measured time per workload
 * @param warmupSeconds untimed run before each measurement (JIT compilation)
 * @param seed      seed of the key streams
 * @param batch     requests per prefetched batch of the batched implementation
 * @param depth     batches in flight in the batched implementation
 * @param owners    owner threads of the partitioned implementation (0: one partition per worker, drained by the workers)
 * @param initialCapacity slots the growing implementation starts with
 * @param limitShape the memory-limit probe's best shape at the start of the run
 *                   ({@code LOADS} or {@code PREFETCH}), measured again beside every workload
 *                   (interleaved with it); null: no paired limit
 * @param limitBatch that shape's lines per batch
 * @param interleave whether each insert workload is measured in slices alternating with the first
 *                   read workload of its distribution (the loaded map and the insert's map held at
 *                   once); else every workload runs on its own, one after another
 */
record CellSpec(String impl, List<Workload> workloads, int threads, long capacity, long entries,
                double seconds, double warmupSeconds, long seed, int batch, int depth, int owners,
                long initialCapacity, String limitShape, int limitBatch, boolean interleave) {

    /** The table's memory in MiB, as the user asked for it. */
    long tableMiB() {
        return (capacity * 16) >> 20;
    }
}
