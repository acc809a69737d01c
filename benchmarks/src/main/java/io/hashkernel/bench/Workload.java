package io.hashkernel.bench;

import java.util.Locale;

/**
 * What a cell does to the map: an operation ({@code find}, {@code insert} or {@code mixed:R}, R %
 * finds and the rest puts of present keys) over keys of a distribution ({@code uniform} or
 * {@code zipf:S}).
 *
 * @param op   the operation as written on the command line
 * @param dist the distribution as written on the command line
 */
record Workload(String op, String dist) {

    /** Parses and checks both; the message says what was wrong and what is allowed. */
    Workload {
        op = op.trim().toLowerCase(Locale.ROOT);
        dist = dist.trim().toLowerCase(Locale.ROOT);
        findPercent(op);
        zipfExponent(dist);
    }

    /** Whether it reads a loaded map ({@code find}, {@code mixed}); else it inserts into an empty one. */
    boolean readsLoadedMap() {
        return !op.equals("insert");
    }

    /**
     * Whether htbench measures this workload in slices alternating with {@code read}: an insert
     * beside a workload that reads the loaded map, of the same distribution.
     */
    boolean alternatesWith(Workload read) {
        return !readsLoadedMap() && read.readsLoadedMap() && dist.equals(read.dist);
    }

    /** Whether it writes (insert and mixed: single-writer maps run it on one thread). */
    boolean writes() {
        return !op.equals("find");
    }

    /** Percentage of finds: 100 for find, 0 for insert, R for mixed:R. */
    int findPercent() {
        return findPercent(op);
    }

    /** The Zipf exponent, or 0 for uniform. */
    double zipfExponent() {
        return zipfExponent(dist);
    }

    static int findPercent(String op) {
        if (op.equals("find")) {
            return 100;
        }
        if (op.equals("insert")) {
            return 0;
        }
        if (op.startsWith("mixed:")) {
            try {
                int r = Integer.parseInt(op.substring("mixed:".length()));
                if (r >= 0 && r <= 100) {
                    return r;
                }
            } catch (NumberFormatException e) {
                // fall through to the message
            }
        }
        throw new IllegalArgumentException("--op must be find, insert or mixed:R with R the percentage of finds"
                + " (0 to 100), was '" + op + "'");
    }

    static double zipfExponent(String dist) {
        if (dist.equals("uniform")) {
            return 0;
        }
        if (dist.startsWith("zipf:")) {
            try {
                double s = Double.parseDouble(dist.substring("zipf:".length()));
                if (s > 0 && s <= 10) {
                    return s;
                }
            } catch (NumberFormatException e) {
                // fall through to the message
            }
        }
        throw new IllegalArgumentException("--dist must be uniform or zipf:S with S the exponent (above 0, at most 10),"
                + " was '" + dist + "'");
    }

    @Override
    public String toString() {
        return op + " " + dist;
    }
}
