package io.hashkernel.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders results as the plain-text tables htbench prints: one per table size, thread count and workload. */
final class ResultTable {
    private ResultTable() {
    }

    /** The group a result belongs to: its table size, the threads asked for, and its workload. */
    private record Group(long tableMiB, int threads, String op, String dist) {
    }

    /**
     * One table per group, a row per result: Mops/s, the ratio to hashkernel's row (else the
     * group's first), the memory limit measured beside the row (else the one measured for the
     * group's size and threads at the start) and the row's percentage of it, bytes per entry and
     * where the memory lives. A row run on fewer threads than asked
     * (a single-writer map's writes) is marked. Under an insert table whose rows were measured
     * alternating with a read workload, a line gives each row's ratio to that read's row; where
     * the inserts' own limit was measured ({@link MemoryLimitProbe.Shape#CLAIMS}), a line gives
     * each row's percentage of it.
     */
    static String render(List<CellResult> results, List<HtBench.Limit> limits) {
        if (results.isEmpty()) {
            return "no results\n";
        }
        Map<Group, List<CellResult>> groups = new LinkedHashMap<>();
        for (CellResult r : results) {
            groups.computeIfAbsent(new Group(r.tableMiB(), r.threadsAsked(), r.op(), r.dist()), g -> new ArrayList<>())
                    .add(r);
        }
        int width = Math.max(22, results.stream().mapToInt(r -> r.impl().length()).max().orElse(0) + 2);
        StringBuilder sb = new StringBuilder();
        boolean marked = false;
        boolean paired = false;
        for (Map.Entry<Group, List<CellResult>> e : groups.entrySet()) {
            Group g = e.getKey();
            List<CellResult> rows = e.getValue();
            Double limit = limitFor(limits, g.tableMiB(), g.threads());
            CellResult base = rows.stream().filter(r -> r.impl().equals("hashkernel")).findFirst().orElse(rows.get(0));
            String ratioHeader = "vs " + base.impl();
            int ratioWidth = Math.max(9, ratioHeader.length());
            String row = "%-" + width + "s %8s %12s %" + ratioWidth + "s %10s %10s %12s  %s%n";
            sb.append(String.format(Locale.ROOT, "%s %s, table %d MiB, %d threads%s%n", g.op(), g.dist(), g.tableMiB(),
                    g.threads(), limit == null ? "" : String.format(Locale.ROOT,
                            ", memory limit %.2f M lines/s at the start", limit)));
            sb.append(String.format(Locale.ROOT, row, "impl", "threads", "Mops/s", ratioHeader, "limit", "% of limit",
                    "bytes/entry", "memory"));
            for (CellResult r : rows) {
                boolean fewer = r.threads() < r.threadsAsked();
                marked |= fewer;
                Double own = r.limitMops() != null ? r.limitMops() : limit;
                paired |= r.limitMops() != null;
                sb.append(String.format(Locale.ROOT, row, r.impl(), r.threads() + (fewer ? "*" : ""),
                        String.format(Locale.ROOT, "%.2f", r.mops()),
                        String.format(Locale.ROOT, "%.2fx", r.mops() / base.mops()),
                        own == null ? "-" : String.format(Locale.ROOT, "%.2f", own),
                        own == null ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * r.mops() / own),
                        r.bytesPerEntry() == null ? "-" : String.format(Locale.ROOT, "%.1f", r.bytesPerEntry()),
                        r.memory()));
            }
            StringBuilder built = new StringBuilder();
            for (CellResult r : rows) {
                if (r.buildSeconds() != null) {
                    item(built, r, String.format(Locale.ROOT, "%.3f", r.buildSeconds()));
                }
            }
            if (!built.isEmpty()) {
                sb.append("first touch (s to build one empty map, outside the clock): ").append(built).append('\n');
            }
            StringBuilder ratios = new StringBuilder();
            String with = null;
            for (CellResult r : rows) {
                CellResult other = r.workload().readsLoadedMap() ? null : alternatedRow(results, r);
                if (other != null) {
                    with = other.workload().toString();
                    item(ratios, r, String.format(Locale.ROOT, "%.2fx", r.mops() / other.mops()));
                }
            }
            if (with != null) {
                sb.append(String.format(Locale.ROOT, "against %s, measured alternating with it in the same JVM: %s%n",
                        with, ratios));
            }
            Double claims = rows.get(0).workload().readsLoadedMap() ? null
                    : claimLimitFor(limits, g.tableMiB(), g.threads());
            if (claims != null) {
                StringBuilder shares = new StringBuilder();
                for (CellResult r : rows) {
                    item(shares, r, String.format(Locale.ROOT, "%.0f%%", 100 * r.mops() / claims));
                }
                sb.append(String.format(Locale.ROOT, "against the claim limit at the start, %.2f M lines/s (a CAS and an"
                        + " exchange on each random line, as a put of a new key): %s%n", claims, shares));
            }
            sb.append('\n');
        }
        if (marked) {
            sb.append("* single-writer map: its writes ran on one thread, as its contract allows\n");
        }
        if (paired) {
            sb.append("limit: M random 64-byte lines/s measured beside the row, in slices interleaved with it\n");
        }
        return sb.toString();
    }

    /** The row measured in slices alternating with {@code r} (the same implementation, table and threads), or null. */
    static CellResult alternatedRow(List<CellResult> results, CellResult r) {
        if (r.alternatedWith() == null) {
            return null;
        }
        for (CellResult o : results) {
            if (o.impl().equals(r.impl()) && o.tableMiB() == r.tableMiB() && o.threadsAsked() == r.threadsAsked()
                    && o.workload().toString().equals(r.alternatedWith())) {
                return o;
            }
        }
        return null;
    }

    /** Appends "impl figure" to a comma-separated line of the rows' figures. */
    private static void item(StringBuilder line, CellResult row, String figure) {
        line.append(line.isEmpty() ? "" : ", ").append(row.impl()).append(' ').append(figure);
    }

    /** The limit measured for a table size and thread count, or null. */
    static Double limitFor(List<HtBench.Limit> limits, long tableMiB, int threads) {
        HtBench.Limit l = limitOf(limits, tableMiB, threads);
        return l == null ? null : l.limitMops();
    }

    /** The inserts' limit measured for a table size and thread count, or null. */
    static Double claimLimitFor(List<HtBench.Limit> limits, long tableMiB, int threads) {
        HtBench.Limit l = limitOf(limits, tableMiB, threads);
        return l == null ? null : l.claimMops();
    }

    private static HtBench.Limit limitOf(List<HtBench.Limit> limits, long tableMiB, int threads) {
        for (HtBench.Limit l : limits) {
            if (l.tableMiB() == tableMiB && l.threads() == threads) {
                return l;
            }
        }
        return null;
    }
}
