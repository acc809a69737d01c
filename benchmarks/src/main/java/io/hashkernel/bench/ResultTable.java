package io.hashkernel.bench;

import java.util.List;
import java.util.Locale;

/** Renders results as the plain-text table htbench prints. */
final class ResultTable {
    private ResultTable() {
    }

    /**
     * One row per result: Mops/s, the ratio to the first row (the baseline), the percentage of the
     * memory limit (when measured), bytes per entry and where the memory lives.
     */
    static String render(List<CellResult> results, Double limitMops) {
        if (results.isEmpty()) {
            return "no results\n";
        }
        StringBuilder sb = new StringBuilder();
        CellResult base = results.get(0);
        String ratioHeader = "vs " + base.impl();
        int width = Math.max(22, results.stream().mapToInt(r -> r.impl().length()).max().orElse(0) + 2);
        int ratioWidth = Math.max(9, ratioHeader.length());
        String row = "%-" + width + "s %-7s %7s %12s %" + ratioWidth + "s %10s %12s  %s%n";
        sb.append(String.format(Locale.ROOT, row, "impl", "op", "threads", "Mops/s", ratioHeader, "% of limit",
                "bytes/entry", "memory"));
        for (CellResult r : results) {
            sb.append(String.format(Locale.ROOT, row, r.impl(), r.op(), r.threads(),
                    String.format(Locale.ROOT, "%.2f", r.mops()),
                    String.format(Locale.ROOT, "%.2fx", r.mops() / base.mops()),
                    limitMops == null ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * r.mops() / limitMops),
                    String.format(Locale.ROOT, "%.1f", r.bytesPerEntry()), r.memory()));
        }
        if (limitMops != null) {
            sb.append(String.format(Locale.ROOT, "memory limit: %.2f M random 64-byte lines/s%n", limitMops));
        }
        return sb.toString();
    }
}
