package io.hashkernel.bench;

import java.util.List;
import java.util.Locale;

/** Renders results as the plain-text table htbench prints. */
final class ResultTable {
    private ResultTable() {
    }

    /**
     * One row per result: Mops/s, the ratio to the first row (the baseline), bytes per entry and
     * where the memory lives.
     */
    static String render(List<CellResult> results) {
        if (results.isEmpty()) {
            return "no results\n";
        }
        StringBuilder sb = new StringBuilder();
        CellResult base = results.get(0);
        String ratioHeader = "vs " + base.impl();
        int width = Math.max(22, results.stream().mapToInt(r -> r.impl().length()).max().orElse(0) + 2);
        sb.append(String.format(Locale.ROOT, "%-" + width + "s %-7s %7s %12s %" + Math.max(9, ratioHeader.length()) + "s %12s  %s%n",
                "impl", "op", "threads", "Mops/s", ratioHeader, "bytes/entry", "memory"));
        for (CellResult r : results) {
            sb.append(String.format(Locale.ROOT, "%-" + width + "s %-7s %7d %12.2f %" + Math.max(9, ratioHeader.length()) + "s %12.1f  %s%n",
                    r.impl(), r.op(), r.threads(), r.mops(),
                    String.format(Locale.ROOT, "%.2fx", r.mops() / base.mops()), r.bytesPerEntry(), r.memory()));
        }
        return sb.toString();
    }
}
