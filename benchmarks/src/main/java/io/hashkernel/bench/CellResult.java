package io.hashkernel.bench;

/**
 * The outcome of one cell, as it appears in the JSON report.
 *
 * @param impl          implementation id
 * @param op            operation
 * @param dist          key distribution
 * @param threads       worker threads
 * @param tableMiB      HashKernel table memory in MiB (peers hold the same entries)
 * @param entries       entries held (find) or inserted (insert)
 * @param mops          million operations per second, all threads together
 * @param bytesPerEntry memory per entry: off-heap bytes for HashKernel, heap growth for peers
 * @param ops           operations measured
 * @param seconds       measured wall time
 * @param wrong         lookups that returned a wrong value (must be 0)
 * @param memory        where the memory lives
 */
record CellResult(String impl, String op, String dist, int threads, long tableMiB, long entries,
                  double mops, double bytesPerEntry, long ops, double seconds, long wrong, String memory) {
}
