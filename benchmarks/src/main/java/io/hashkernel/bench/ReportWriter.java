package io.hashkernel.bench;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Writes {@code report.html} and its PNG charts (JFreeChart, headless): per table size and thread
 * count, Mops/s of every implementation for every workload with the memory limit drawn across;
 * then bytes per entry per implementation and table size; then the numbers as tables.
 */
final class ReportWriter {
    private static final int WIDTH = 960;
    private static final int HEIGHT = 480;

    private ReportWriter() {
    }

    /** Writes the report into {@code dir} (created if needed) and returns the HTML file's path. */
    static Path write(Path dir, HtBench.Report report) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Files.createDirectories(dir);
        Map<String, List<CellResult>> groups = new LinkedHashMap<>();
        for (CellResult r : report.results()) {
            groups.computeIfAbsent(groupKey(r.tableMiB(), r.threadsAsked()), k -> new ArrayList<>()).add(r);
        }
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<title>htbench report</title>\n<style>\n")
                .append("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}")
                .append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;")
                .append("text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}")
                .append("img{max-width:100%;border:1px solid #ddd}.broken{color:#b00;font-weight:bold}\n")
                .append("</style>\n</head>\n<body>\n<h1>htbench report</h1>\n");
        machine(html, report);
        int chart = 0;
        for (Map.Entry<String, List<CellResult>> g : groups.entrySet()) {
            List<CellResult> rows = g.getValue();
            CellResult first = rows.get(0);
            Double limit = ResultTable.limitFor(report.limits(), first.tableMiB(), first.threadsAsked());
            String title = String.format(Locale.ROOT, "Table %d MiB (%,d entries), %d threads", first.tableMiB(),
                    rows.stream().filter(r -> r.workload().readsLoadedMap()).mapToLong(CellResult::entries)
                            .findFirst().orElse(first.entries()), first.threadsAsked());
            String png = "mops-" + (++chart) + ".png";
            ChartUtils.saveChartAsPNG(dir.resolve(png).toFile(), mopsChart(title, rows, limit), WIDTH, HEIGHT);
            html.append("<h2>").append(esc(title)).append("</h2>\n");
            html.append(img(png, "Mops/s per implementation and workload, " + title));
            results(html, rows, limit);
        }
        if (!report.results().isEmpty()) {
            ChartUtils.saveChartAsPNG(dir.resolve("bytes-per-entry.png").toFile(), bytesChart(report.results()),
                    WIDTH, HEIGHT);
            html.append("<h2>Memory per entry</h2>\n")
                    .append(img("bytes-per-entry.png", "bytes per entry per implementation and table size"))
                    .append("<p>Off-heap bytes held where the map is off-heap; heap growth after collection for"
                            + " heap maps; measured on the loaded table.</p>\n");
        }
        if (!report.skipped().isEmpty()) {
            html.append("<h2>Skipped</h2>\n<ul>\n");
            for (Map<String, String> s : report.skipped()) {
                html.append("<li>").append(esc(s.get("impl"))).append(" (").append(esc(s.get("tableMiB")))
                        .append(" MiB): ").append(esc(s.get("reason"))).append("</li>\n");
            }
            html.append("</ul>\n");
        }
        // Marks images that did not load, so that a person (or a headless browser) sees it.
        html.append("<script>\nwindow.addEventListener('load',function(){var ok=0,bad=0;")
                .append("document.querySelectorAll('img').forEach(function(i){")
                .append("if(i.complete&&i.naturalWidth>0){ok++}else{bad++;var p=document.createElement('p');")
                .append("p.className='broken';p.textContent='image failed to load: '+i.getAttribute('src');")
                .append("i.after(p)}});document.body.setAttribute('data-images-loaded',ok);")
                .append("document.body.setAttribute('data-images-broken',bad)});\n</script>\n");
        html.append("</body>\n</html>\n");
        Path file = dir.resolve("report.html");
        Files.writeString(file, html, StandardCharsets.UTF_8);
        return file;
    }

    private static String groupKey(long mib, int threads) {
        return mib + "/" + threads;
    }

    private static void machine(StringBuilder html, HtBench.Report report) {
        MachineInfo m = report.machine();
        html.append("<table>\n");
        row(html, "CPU", m.cpu() + ", " + m.cpus() + " cpus");
        row(html, "memory", io.hashkernel.numa.MachineMemory.format(m.memoryBytes()) + ", THP " + m.thp());
        row(html, "JDK", m.jdk() + ", " + m.os());
        row(html, "HashKernel memory", m.memoryMechanism());
        row(html, "prefetch", m.prefetch() + ", batch " + report.config().get("batch"));
        if (report.config().get("lineCompare") != null) {
            row(html, "line compare", String.valueOf(report.config().get("lineCompare")));
        }
        if (report.budget() != null) {
            row(html, "time", String.format(Locale.ROOT, "%.1f min of a %.0f min budget (estimated %.1f)",
                    report.budget().elapsedSeconds() / 60, report.budget().budgetSeconds() / 60,
                    report.budget().estimatedSeconds() / 60));
        }
        html.append("</table>\n");
    }

    private static void row(StringBuilder html, String key, String value) {
        html.append("<tr><th>").append(esc(key)).append("</th><td>").append(esc(value)).append("</td></tr>\n");
    }

    private static String img(String src, String alt) {
        return "<p><img src=\"" + src + "\" alt=\"" + esc(alt) + "\" width=\"" + WIDTH + "\" height=\"" + HEIGHT
                + "\"></p>\n";
    }

    /** The numbers of one group: a row per implementation, a column per workload. */
    private static void results(StringBuilder html, List<CellResult> rows, Double limit) {
        List<String> workloads = rows.stream().map(r -> r.op() + " " + r.dist()).distinct().toList();
        Map<String, Map<String, CellResult>> byImpl = new LinkedHashMap<>();
        for (CellResult r : rows) {
            byImpl.computeIfAbsent(r.impl(), k -> new LinkedHashMap<>()).put(r.op() + " " + r.dist(), r);
        }
        html.append("<table>\n<tr><th>implementation</th>");
        for (String w : workloads) {
            html.append("<th>").append(esc(w)).append("<br>Mops/s").append(limit == null ? "" : " (% of limit)")
                    .append("</th>");
        }
        html.append("<th>bytes/entry</th><th>contract</th></tr>\n");
        boolean marked = false;
        for (Map.Entry<String, Map<String, CellResult>> e : byImpl.entrySet()) {
            html.append("<tr><td>").append(esc(e.getKey())).append("</td>");
            CellResult any = null;
            for (String w : workloads) {
                CellResult r = e.getValue().get(w);
                html.append("<td>");
                if (r != null) {
                    any = any == null || r.workload().readsLoadedMap() && !any.workload().readsLoadedMap() ? r : any;
                    boolean fewer = r.threads() < r.threadsAsked();
                    marked |= fewer;
                    html.append(String.format(Locale.ROOT, "%.2f", r.mops())).append(fewer ? "*" : "");
                    Double own = r.limitMops() != null ? r.limitMops() : limit;
                    if (own != null) {
                        html.append(String.format(Locale.ROOT, " (%.0f%%)", 100 * r.mops() / own));
                    }
                }
                html.append("</td>");
            }
            html.append("<td>").append(any == null || any.bytesPerEntry() == null ? "-"
                    : String.format(Locale.ROOT, "%.1f", any.bytesPerEntry()))
                    .append("</td><td>").append(any == null ? "" : esc(any.contract())).append("</td></tr>\n");
        }
        html.append("</table>\n");
        if (marked) {
            html.append("<p>* single-writer map: its writes ran on one thread, as its contract allows.</p>\n");
        }
        if (limit != null) {
            html.append(String.format(Locale.ROOT, "<p>Memory limit: %.2f M random 64-byte lines/s over a region"
                    + " as large as the table, same threads, at the start of the run. A percentage is of the limit"
                    + " measured beside that workload (in slices interleaved with it), where measured.</p>%n", limit));
        }
    }

    /**
     * Bars: workloads along the axis, one bar per implementation; the limit as a dashed line. (A
     * single-writer map's write bars ran on one thread; the table under the chart marks them.)
     */
    static JFreeChart mopsChart(String title, List<CellResult> rows, Double limit) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (CellResult r : rows) {
            data.addValue(r.mops(), r.impl(), r.op() + " " + r.dist());
        }
        JFreeChart chart = ChartFactory.createBarChart("Throughput: " + title, "workload", "Mops/s", data,
                PlotOrientation.VERTICAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.getDomainAxis().setMaximumCategoryLabelLines(2);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        if (limit != null) {
            ValueMarker marker = new ValueMarker(limit, new Color(0xB0, 0x20, 0x20),
                    new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {8f, 6f}, 0f));
            marker.setLabel(String.format(Locale.ROOT, "memory limit %.1f M lines/s", limit));
            marker.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
            marker.setLabelTextAnchor(TextAnchor.BOTTOM_RIGHT);
            plot.addRangeMarker(marker);
            double max = rows.stream().mapToDouble(CellResult::mops).max().orElse(0);
            plot.getRangeAxis().setUpperBound(Math.max(max, limit) * 1.12);
        }
        return chart;
    }

    /** Bars: implementations along the axis, one bar per table size. */
    static JFreeChart bytesChart(List<CellResult> results) {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        Set<String> seen = new LinkedHashSet<>();
        for (CellResult r : results) {
            // One figure per implementation and size: the first measured one, which is the loaded
            // map's where the cell read (CellRunner runs the reading workloads first).
            if (r.bytesPerEntry() != null && seen.add(r.impl() + "/" + r.tableMiB())) {
                data.setValue(r.bytesPerEntry(), r.tableMiB() + " MiB table", r.impl());
            }
        }
        JFreeChart chart = ChartFactory.createBarChart("Memory per entry", "implementation", "bytes per entry", data,
                PlotOrientation.VERTICAL, true, false, false);
        chart.getCategoryPlot().setBackgroundPaint(Color.WHITE);
        chart.getCategoryPlot().setRangeGridlinePaint(Color.LIGHT_GRAY);
        return chart;
    }

    private static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
