package io.hashkernel.bench;

/**
 * The outcome of one cell, as it appears in the JSON report.
 *
 * @param impl          implementation id
 * @param op            operation
 * @param dist          key distribution
 * @param threads       worker threads that ran it
 * @param threadsAsked  worker threads asked for (more than {@code threads} for a single-writer map's writes)
 * @param contract      {@code concurrent} or {@code single-writer}
 * @param tableMiB      HashKernel table memory in MiB (peers hold the same entries)
 * @param entries       entries held (find, mixed) or held after the inserts
 * @param mops          million operations per second, all threads together
 * @param bytesPerEntry memory per entry of a full map: off-heap bytes where the map is off-heap, else heap
 *                      growth; null for an insert that did not fill its map (a pre-sized map still
 *                      filling says little about its size per entry)
 * @param ops           operations measured
 * @param seconds       measured wall time
 * @param wrong         lookups that returned a wrong value (must be 0)
 * @param memory        where the memory lives
 * @param hugePageBytes bytes of the map's memory backed by huge pages when its size was measured
 *                      (null where unknown: heap maps)
 * @param limitMops     the memory limit measured beside this workload, in slices interleaved with
 *                      its measurement (the same threads, a region as large as the table), so that
 *                      the two share the machine's state; null where not measured
 * @param lineCompare   how HashKernel's table compared a line's keys in the measuring JVM
 *                      ({@code io.hashkernel.table.BenchmarkAccess.lineCompare()}); null for the peers
 * @param buildSeconds  inserts: seconds to build one empty map, outside the clock, the mean over its
 *                      rounds: the first touch of its memory (HashKernel's pre-touch of its table,
 *                      the JVM's zeroing of a heap map's arrays); null for the workloads that read
 * @param alternatedWith the workload (as {@code "insert uniform"}) measured in slices alternating
 *                      with this one in the same JVM, on a map of its own, so that the ratio of the
 *                      two rows is free of the machine's drift between minutes; null where none was
 */
record CellResult(String impl, String op, String dist, int threads, int threadsAsked, String contract,
                  long tableMiB, long entries, double mops, Double bytesPerEntry, long ops, double seconds,
                  long wrong, String memory, Long hugePageBytes, Double limitMops, String lineCompare,
                  Double buildSeconds, String alternatedWith) {

    /** The workload it measured. */
    Workload workload() {
        return new Workload(op, dist);
    }
}
