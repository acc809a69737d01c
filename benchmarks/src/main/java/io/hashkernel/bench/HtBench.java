package io.hashkernel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hashkernel.numa.MachineMemory;
import io.hashkernel.numa.Memory;
import io.hashkernel.numa.Region;
import io.hashkernel.prefetch.batch.BatchPipeline;
import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.table.ConcurrentLongLongTable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.module.ModuleFinder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * htbench: DRAMHiT's throughput experiments for HashKernel and its peers, one after another, each
 * implementation in a child JVM with this JVM's flags (as a real application or JMH runs one map),
 * reported as tables, as JSON and as an HTML report with charts. {@code --no-fork} runs them in
 * this JVM; {@code --paper} runs DRAMHiT's matrix within a stated time budget.
 */
@Command(name = "htbench", mixinStandardHelpOptions = true, version = "htbench 0.1",
        sortOptions = false,
        description = {
            "Measures find, insert or mixed throughput (Mops/s) of HashKernel and its peers, uniform or",
            "Zipf-skewed, on tables in and far above the cache, beside the machine's memory limit, and",
            "the memory each needs per entry.",
            "Each implementation runs in its own JVM started with this JVM's flags (so -Xmx applies)."})
public final class HtBench implements Callable<Integer> {
    static final double BYTES_PER_SLOT = 16;

    @Option(names = "--impl", split = ",", paramLabel = "IMPL",
            description = "Implementations, comma-separated: ${COMPLETION-CANDIDATES}. Default: all.",
            converter = ImplConverter.class, completionCandidates = ImplNames.class)
    List<Impl> impls = List.of(Impl.values());

    @Option(names = "--op", split = ",", paramLabel = "OP",
            description = "find, insert or mixed:R (R %% finds, the rest puts of present keys); a list runs each."
                    + " Default: find.")
    List<String> ops = List.of("find");

    @Option(names = "--dist", split = ",", paramLabel = "DIST",
            description = "Key distribution: uniform or zipf:S (exponent S); a list runs each. Default: uniform.")
    List<String> dists = List.of("uniform");

    @Option(names = "--table-mib", split = ",", paramLabel = "MIB",
            description = "Memory of the HashKernel table in MiB (16 bytes a slot); peers hold the same entries;"
                    + " a list runs each. Default: sized from the machine (1024 with 16 GiB of RAM or more).")
    List<Long> tableMiB;

    @Option(names = "--fill", paramLabel = "F", description = "Fraction of slots filled. Default: ${DEFAULT-VALUE}.")
    double fill = 0.75;

    @Option(names = "--threads", split = ",", paramLabel = "T",
            description = "Worker threads; a list such as 1,2 runs each. Default: all cpus.")
    List<Integer> threads;

    @Option(names = "--batch", paramLabel = "B",
            description = "Requests per prefetched batch of the batched implementation. Default: ${DEFAULT-VALUE}.")
    int batch = ConcurrentLongLongTable.DEFAULT_BATCH;

    @Option(names = "--depth", paramLabel = "D",
            description = "Batches in flight (a batch is probed D rounds after its prefetch) in the batched"
                    + " implementation. Default: ${DEFAULT-VALUE}.")
    int depth = ConcurrentLongLongTable.DEFAULT_DEPTH;

    @Option(names = "--owners", paramLabel = "N",
            description = "hashkernel-partitioned: 0 = one partition per worker thread, drained by the workers"
                    + " (DRAMHiT-P's arrangement); N = N partitions with an owner thread each, besides the"
                    + " workers. Default: ${DEFAULT-VALUE}.")
    int owners = 0;

    @Option(names = "--initial-capacity", paramLabel = "SLOTS",
            description = "Slots hashkernel-growing starts with (it grows to hold the entries while they are"
                    + " inserted). Default: ${DEFAULT-VALUE}.")
    long initialCapacity = 1024;

    @Option(names = "--limit", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Measure the memory limit (random 64-byte reads/s over a region as large as the table)"
                    + " first, then again beside each workload (its best shape, in slices interleaved with the"
                    + " measurement), and report each result as a percentage of the limit measured beside it;"
                    + " where the run has inserts, also their claim limit (a CAS and an exchange a random line) at"
                    + " the start (default); --no-limit skips all of it.")
    boolean limit = true;

    @Option(names = "--interleave", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Measure each insert workload in slices alternating with the find (or mixed) workload of"
                    + " its distribution on the same implementation, in one JVM, so that the ratio of the two is"
                    + " free of the machine's drift between minutes (default; the loaded map and the insert's map"
                    + " are held at once, where the heap allows); --no-interleave runs the workloads one after"
                    + " another.")
    boolean interleave = true;

    @Option(names = "--seconds", paramLabel = "S",
            description = "Measured time per workload. Default: 3 (2 with --paper).")
    Double seconds;

    @Option(names = "--warmup", paramLabel = "S",
            description = "Untimed run before each measurement (an insert's on a map thrown away), for the JIT."
                    + " Default: 1.")
    Double warmup;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the key streams. Default: ${DEFAULT-VALUE}.")
    long seed = 42;

    @Option(names = "--paper", description = {
        "DRAMHiT's matrix: find and insert x uniform and zipf:1.09 x a small table that fits in the cache and a",
        "large one far above it, sized to this machine to finish within --budget-minutes (printed first).",
        "--impl, --threads, --seconds and --warmup still apply; --op, --dist and --table-mib are set by it."})
    boolean paper;

    @Option(names = "--budget-minutes", paramLabel = "M",
            description = "Time --paper may take; its large table shrinks until the estimate fits. Default: ${DEFAULT-VALUE}.")
    double budgetMinutes = 15;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Option(names = "--report", paramLabel = "DIR",
            description = "Also write DIR/report.html with charts (PNG): Mops/s per implementation and workload"
                    + " beside the memory limit, and bytes per entry.")
    Path report;

    @Option(names = "--fork", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Run each implementation in its own JVM with this JVM's flags (default);"
                    + " --no-fork runs them here, one after another.")
    boolean fork = true;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final PrintStream out;
    private final PrintStream err;

    HtBench(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Runs htbench; exits with 0 when every requested cell ran (or was skipped for lack of heap) correctly. */
    public static void main(String[] args) {
        int code = commandLine(System.out, System.err).execute(args);
        System.exit(code);
    }

    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(new HtBench(out, err));
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(err, true));
        return cl;
    }

    /**
     * Report as written to JSON.
     *
     * @param limitMops the memory limit in million lines per second for the largest table and the
     *                  most threads run (null when not measured)
     * @param limit     every shape of that limit probe, best first
     * @param limits    the limit for every table size and thread count run
     * @param budget    for {@code --paper}: the estimate, the budget and the time taken (else null)
     */
    record Report(MachineInfo machine, Double limitMops, List<MemoryLimitProbe.Result> limit, List<Limit> limits,
                  Map<String, Object> config, Budget budget, List<CellResult> results,
                  List<Map<String, String>> skipped) {
    }

    /**
     * The memory limit for one table size and thread count.
     *
     * @param tableMiB  the region's size (the table's)
     * @param threads   reader threads
     * @param limitMops the best shape's M lines/s
     * @param shapes    every shape, best first
     * @param claimMops M lines/s of {@link MemoryLimitProbe.Shape#CLAIMS} (a put's two locked
     *                  instructions a line), the inserts' limit; null when no insert was run
     */
    record Limit(long tableMiB, int threads, double limitMops, List<MemoryLimitProbe.Result> shapes, Double claimMops) {
    }

    /**
     * Time of a {@code --paper} run.
     *
     * @param estimatedSeconds estimate printed before the run
     * @param budgetSeconds    what it may take
     * @param elapsedSeconds   what it took
     */
    record Budget(double estimatedSeconds, double budgetSeconds, double elapsedSeconds) {
    }

    /**
     * What to run.
     *
     * @param sizes     table sizes in MiB, smallest first
     * @param threads   thread counts
     * @param workloads the workloads, each run on every size and thread count
     * @param seconds   measured time per workload
     * @param warmup    warm-up per read workload
     * @param sizeNotes why a size was chosen
     */
    record Plan(List<Long> sizes, List<Integer> threads, List<Workload> workloads, double seconds, double warmup,
                Map<Long, String> sizeNotes) {
        /** Whether a workload inserts (and so the inserts' claim limit is measured). */
        boolean inserts() {
            return workloads.stream().anyMatch(w -> !w.readsLoadedMap());
        }
    }

    /** The Zipf exponent of DRAMHiT's skewed runs. */
    static final String PAPER_ZIPF = "zipf:1.09";

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        MachineInfo machine = MachineInfo.current();
        Plan plan = plan(machine);
        out.println("machine: " + machine.describe());
        out.println("memory:  " + machine.memoryMechanism());
        out.println("numa:    " + machine.numa() + "; this JVM may run on cpus " + machine.cpusUsed());
        out.println("prefetch: " + Prefetchers.describe(Prefetchers.selected()) + ", batch " + batch + ", depth " + depth);
        for (long mib : plan.sizes()) {
            long capacity = capacity(mib);
            out.printf(Locale.ROOT, "table:   %d MiB = %,d slots, %,d entries (fill %.2f)%s%n", mib, capacity,
                    entries(capacity), fill, plan.sizeNotes().getOrDefault(mib, ""));
        }
        out.printf(Locale.ROOT, "runs:    %s x %s x threads %s, %.1f s each (warm-up %.1f s)%n",
                plan.workloads(), impls.stream().map(i -> i.id).toList(), plan.threads(), plan.seconds(), plan.warmup());
        double estimate = estimateSeconds(plan);
        if (paper) {
            out.printf(Locale.ROOT, "budget:  %.0f min; estimated %.1f min%s%n", budgetMinutes, estimate / 60,
                    estimate > budgetMinutes * 60 ? " (over the budget even with the smallest large table: fewer"
                            + " --impl or a shorter --seconds would fit)" : "");
        }

        List<CellResult> results = new ArrayList<>();
        List<Map<String, String>> skipped = new ArrayList<>();
        List<Limit> limits = new ArrayList<>();
        boolean failed = false;
        int cells = plan.sizes().size() * plan.threads().size() * impls.size() * plan.workloads().size();
        try (Progress progress = Progress.open(cells, estimate)) {
            for (long mib : plan.sizes()) {
                long capacity = capacity(mib);
                long entries = entries(capacity);
                for (int t : plan.threads()) {
                    out.println();
                    out.printf(Locale.ROOT, "== table %d MiB, %d threads ==%n", mib, t);
                    MemoryLimitProbe.Result best = null;
                    if (limit) {
                        Limit l = measureLimit(mib, t, plan.seconds(), plan.inserts());
                        limits.add(l);
                        best = l.shapes().get(0);
                    }
                    for (Impl impl : impls) {
                        String skip = heapShortfall(impl, entries);
                        boolean together = interleave && skip == null && interleaves(plan.workloads());
                        String apart = together ? heapShortfall(impl, entries, 2) : null;
                        if (apart != null) {
                            together = false;
                            out.println(impl.id + ": its inserts run after its reads, not alternating with them: "
                                    + apart);
                        }
                        CellSpec cell = new CellSpec(impl.id, plan.workloads(), t, capacity, entries, plan.seconds(),
                                plan.warmup(), seed, batch, depth, owners, initialCapacity,
                                best == null ? null : best.shape().name(), best == null ? 0 : best.batch(), together);
                        if (skip != null) {
                            out.println("skipped " + impl.id + ": " + skip);
                            skipped.add(Map.of("impl", impl.id, "tableMiB", Long.toString(mib), "reason", skip));
                            progress.step(plan.workloads().size());
                            continue;
                        }
                        try {
                            List<CellResult> rs = fork ? runForked(cell, impl, progress)
                                    : new CellRunner(cell).run(r -> progress.step(1));
                            for (CellResult r : rs) {
                                if (r.wrong() != 0) {
                                    err.printf("%s returned %,d wrong values: its result is invalid%n", impl.id, r.wrong());
                                    failed = true;
                                }
                            }
                            results.addAll(rs);
                        } catch (CellFailedException e) {
                            err.println(impl.id + " failed: " + e.getMessage());
                            skipped.add(Map.of("impl", impl.id, "tableMiB", Long.toString(mib),
                                    "reason", "failed: " + e.getMessage()));
                            failed = true;
                        }
                    }
                }
            }
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        out.println();
        out.print(ResultTable.render(results, limits));
        Budget budget = paper ? new Budget(estimate, budgetMinutes * 60, elapsed) : null;
        if (paper) {
            out.printf(Locale.ROOT, "took %.1f min of a %.0f min budget (estimated %.1f)%n", elapsed / 60,
                    budgetMinutes, estimate / 60);
        }
        Limit main = limits.isEmpty() ? null : limits.get(limits.size() - 1);
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("paper", paper);
        config.put("op", plan.workloads().stream().map(Workload::op).distinct().toList());
        config.put("dist", plan.workloads().stream().map(Workload::dist).distinct().toList());
        config.put("threads", plan.threads());
        config.put("tableMiB", plan.sizes());
        config.put("fill", fill);
        config.put("seconds", plan.seconds());
        config.put("warmupSeconds", plan.warmup());
        config.put("seed", seed);
        config.put("batch", batch);
        config.put("depth", depth);
        config.put("owners", owners);
        config.put("initialCapacity", initialCapacity);
        config.put("prefetch", Prefetchers.selected().name());
        config.put("lineCompare", results.stream().map(CellResult::lineCompare).filter(Objects::nonNull)
                .findFirst().orElse(null));
        config.put("fork", fork);
        config.put("interleave", interleave);
        if (config.get("lineCompare") != null) {
            out.println("line compare (HashKernel): " + config.get("lineCompare"));
        }
        Report r = new Report(machine.withTableHugePages(tableHugePages(results)), main == null ? null : main.limitMops(), main == null ? List.of() : main.shapes(),
                limits, config, budget, results, skipped);
        if (json != null) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), r);
            out.println("wrote " + json);
        }
        if (report != null) {
            out.println("wrote " + ReportWriter.write(report, r));
        }
        return failed ? 1 : 0;
    }

    /** Per HashKernel table size: its bytes backed by huge pages, and the fraction of the table. */
    private List<Map<String, Object>> tableHugePages(List<CellResult> results) {
        List<Map<String, Object>> pages = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (CellResult r : results) {
            if (r.hugePageBytes() != null && seen.add(r.impl() + "/" + r.tableMiB())) {
                long tableBytes = capacity(r.tableMiB()) * (long) BYTES_PER_SLOT;
                Map<String, Object> p = new LinkedHashMap<>();
                p.put("impl", r.impl());
                p.put("tableMiB", r.tableMiB());
                p.put("hugePageBytes", r.hugePageBytes());
                p.put("fraction", r.hugePageBytes() / (double) tableBytes);
                pages.add(p);
            }
        }
        return pages;
    }

    Plan plan(MachineInfo machine) {
        List<String> problems = new ArrayList<>();
        List<Workload> workloads = new ArrayList<>();
        List<String> opList = paper ? List.of("find", "insert") : ops;
        List<String> distList = paper ? List.of("uniform", PAPER_ZIPF) : dists;
        for (String op : opList) {
            for (String d : distList) {
                try {
                    Workload w = new Workload(op, d);
                    if (!workloads.contains(w)) { // a workload named twice runs once
                        workloads.add(w);
                    }
                } catch (IllegalArgumentException e) {
                    if (!problems.contains(e.getMessage())) {
                        problems.add(e.getMessage());
                    }
                }
            }
        }
        if (!(fill > 0 && fill < 1)) {
            problems.add("--fill must be above 0 and below 1, was " + fill);
        }
        if (tableMiB != null && tableMiB.stream().anyMatch(m -> m < 1)) {
            problems.add("--table-mib must be at least 1, was " + tableMiB);
        }
        if (threads != null && threads.stream().anyMatch(t -> t < 1)) {
            problems.add("--threads must be at least 1, was " + threads);
        }
        if (batch < 1 || batch > BatchPipeline.MAX_BATCH) {
            problems.add("--batch must be between 1 and " + BatchPipeline.MAX_BATCH + ", was " + batch);
        }
        if (depth < 1 || depth > BatchPipeline.MAX_DEPTH) {
            problems.add("--depth must be between 1 and " + BatchPipeline.MAX_DEPTH + ", was " + depth);
        }
        if (seconds != null && !(seconds > 0)) {
            problems.add("--seconds must be positive, was " + seconds);
        }
        if (warmup != null && !(warmup >= 0)) {
            problems.add("--warmup must be zero or positive, was " + warmup);
        }
        if (initialCapacity < 1 || initialCapacity > 1L << 58) {
            problems.add("--initial-capacity must be between 1 and 2^58 slots, was " + initialCapacity);
        }
        if (owners < 0 || owners > 1024) {
            problems.add("--owners must be between 0 (the workers drain their partitions) and 1024, was " + owners);
        }
        if (!(budgetMinutes > 0)) {
            problems.add("--budget-minutes must be positive, was " + budgetMinutes);
        }
        if (impls.isEmpty()) {
            problems.add("--impl names no implementation; choose from: " + Impl.allIds());
        }
        if (!problems.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), String.join("; ", problems));
        }
        List<Integer> ts = threads != null ? List.copyOf(new LinkedHashSet<>(threads)) : List.of(machine.cpus());
        double secs = seconds != null ? seconds : paper ? 2 : 3;
        double warm = warmup != null ? warmup : 1;
        Map<Long, String> notes = new LinkedHashMap<>();
        if (!paper) {
            List<Long> sizes = tableMiB != null ? tableMiB.stream().distinct().sorted().toList()
                    : List.of(defaultTableMiB(machine));
            if (tableMiB == null) {
                notes.put(sizes.get(0), " (default)");
            }
            return new Plan(sizes, ts, workloads, secs, warm, notes);
        }
        long small = smallTableMiB(machine);
        notes.put(small, machine.llcBytes() > 0 ? " (small: half the LLC)"
                : " (small: the " + MachineMemory.format(machine.cacheBytesReported()) + " cache /proc/cpuinfo reports)");
        long large = defaultTableMiB(machine);
        Plan p = new Plan(List.of(small, large), ts, workloads, secs, warm, notes);
        while (large > 64 * small && estimateSeconds(p) > budgetMinutes * 60) {
            large /= 2;
            p = new Plan(List.of(small, large), ts, workloads, secs, warm, notes);
        }
        notes.put(large, " (large: " + (machine.llcBytes() > 0
                ? String.format(Locale.ROOT, "%.0fx the LLC", large * (double) (1L << 20) / machine.llcBytes())
                : "far above any cache") + ", the largest within the budget)");
        return p;
    }

    private long capacity(long mib) {
        return (long) (mib * (double) (1L << 20) / BYTES_PER_SLOT);
    }

    private long entries(long capacity) {
        return (long) (capacity * fill);
    }

    /**
     * Seconds a plan should take here: per size and thread count the limit probe; per
     * implementation a JVM start, the load at its measured rate, and each workload's warm-up and
     * measurement, with time for collections over a heap map.
     */
    double estimateSeconds(Plan plan) {
        double total = 0;
        boolean reads = plan.workloads().stream().anyMatch(Workload::readsLoadedMap);
        for (long mib : plan.sizes()) {
            long entries = entries(capacity(mib));
            for (int t : plan.threads()) {
                if (limit) {
                    total += (plan.inserts() ? 4 : 3) * plan.seconds() + mib / 512.0; // the read shapes, the claims
                    // each cell's own region and the probe beside each workload
                    total += impls.size() * (mib / 512.0
                            + plan.workloads().size() * plan.seconds() * CellRunner.PROBE_SHARE);
                }
                for (Impl impl : impls) {
                    total += 2; // JVM start, heap measurement
                    if (reads) {
                        total += entries / (impl.loadMopsEstimate * 1e6);
                    }
                    for (Workload w : plan.workloads()) {
                        total += plan.seconds() + plan.warmup() + 0.5;
                        total += entries * (double) impl.heapBytesPerEntry / 2e9; // collections over a heap map
                    }
                }
            }
        }
        return total;
    }

    /**
     * The memory-limit probe over a region the size of the table, written first so that every page
     * is backed (reads of untouched anonymous memory all hit one zero page), with the default
     * prefetch strategy, for {@code secs} per shape; where {@code claims}, the inserts' limit too
     * ({@link MemoryLimitProbe.Shape#CLAIMS}, batches of 64 as the table's).
     */
    private Limit measureLimit(long mib, int t, double secs, boolean claims) throws InterruptedException {
        try (Region region = Memory.allocate(mib << 20, Memory.HUGE_PAGE_SIZE)) {
            MemoryLimitProbe.prepare(region.segment());
            long huge = region.hugePageBytes();
            if (huge >= 0) {
                out.printf(Locale.ROOT, "limit:   region of %d MiB, %.0f%% on huge pages (%s)%n", mib,
                        100.0 * huge / region.byteSize(), region.placement().describe());
            }
            List<MemoryLimitProbe.Result> results = MemoryLimitProbe.measureBest(region.segment(), t, secs,
                    Prefetchers.selected());
            for (MemoryLimitProbe.Result r : results) {
                out.println("limit:   " + r.describe() + (r == results.get(0) ? "  <- limitMops" : ""));
            }
            Double claimMops = null;
            if (claims) {
                MemoryLimitProbe.Result c = MemoryLimitProbe.measure(region.segment(), t, 64, secs,
                        MemoryLimitProbe.Shape.CLAIMS, Prefetchers.selected());
                out.println("limit:   " + c.describe() + "  <- claimMops, for the inserts");
                claimMops = c.mops();
            }
            return new Limit(mib, t, results.get(0).mops(), results, claimMops);
        }
    }

    /**
     * The small table of --paper: half the last-level cache where the machine reports it, else the
     * cache size {@code /proc/cpuinfo} reports (a per-core cache on some CPUs), at least 1 MiB, a
     * power of two.
     */
    static long smallTableMiB(MachineInfo machine) {
        long bytes = machine.llcBytes() > 0 ? machine.llcBytes() / 2 : machine.cacheBytesReported();
        return Math.max(1, Long.highestOneBit(Math.max(1, bytes >> 20)));
    }

    /** 1 GiB with 16 GiB of RAM or more; else a sixteenth of RAM (at least 64 MiB), a power of two. */
    static long defaultTableMiB(MachineInfo machine) {
        long ramMiB = machine.memoryBytes() >> 20;
        if (ramMiB == 0 || ramMiB >= 16 * 1024) {
            return 1024;
        }
        return Math.max(64, Long.highestOneBit(ramMiB / 16));
    }

    /** Whether an insert workload and a reading one share a distribution (and so would be measured alternating). */
    static boolean interleaves(List<Workload> workloads) {
        for (Workload i : workloads) {
            for (Workload r : workloads) {
                if (i.alternatesWith(r)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Why a heap peer cannot hold the entries in this heap (children get the same -Xmx), or null. */
    static String heapShortfall(Impl impl, long entries) {
        return heapShortfall(impl, entries, 1);
    }

    /** Why a heap peer cannot hold {@code maps} maps of the entries at once in this heap, or null. */
    static String heapShortfall(Impl impl, long entries, int maps) {
        if (impl.heapBytesPerEntry == 0) {
            return null;
        }
        long needed = (long) (maps * (double) entries * impl.heapBytesPerEntry * 1.25); // 25% GC headroom
        long max = Runtime.getRuntime().maxMemory();
        if (needed <= max) {
            return null;
        }
        long gib = (needed + (1L << 30) - 1) >> 30;
        return String.format(Locale.ROOT,
                "%s%,d entries need about %s of heap (%d bytes/entry + GC headroom), this JVM has %s; rerun with -Xmx%dg",
                maps == 1 ? "" : maps + " maps of ", entries, MachineMemory.format(needed), impl.heapBytesPerEntry,
                MachineMemory.format(max), gib);
    }

    /** A cell's JVM exited without a result. */
    static final class CellFailedException extends Exception {
        private static final long serialVersionUID = 1L;

        CellFailedException(String message) {
            super(message);
        }
    }

    static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final boolean VECTOR_MODULE_INSTALLED = ModuleFinder.ofSystem().find(VECTOR_MODULE).isPresent();

    private List<CellResult> runForked(CellSpec cell, Impl impl, Progress progress) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> jvmArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        command.addAll(jvmArgs);
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("--enable-native-access"))) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("--sun-misc-unsafe-memory-access"))) {
            // JCTools and Chronicle Map (peers) still use sun.misc.Unsafe; HashKernel does not.
            // Keep their warnings out of the report.
            command.add("--sun-misc-unsafe-memory-access=allow");
        }
        if (VECTOR_MODULE_INSTALLED && jvmArgs.stream().noneMatch(a -> a.contains(VECTOR_MODULE))) {
            // HashKernel's table compares a line's keys with the Vector API where it is loaded.
            command.add("--add-modules=" + VECTOR_MODULE);
        }
        command.addAll(impl.jvmFlags());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(CellMain.class.getName());
        command.add(mapper.writeValueAsString(cell));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<CellResult> results = new ArrayList<>();
        List<String> tail = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.startsWith(CellMain.RESULT_PREFIX)) {
                    results.add(mapper.readValue(line.substring(CellMain.RESULT_PREFIX.length()), CellResult.class));
                    progress.step(1);
                } else {
                    out.println(line);
                    tail.add(line);
                }
            }
        }
        int code = child.waitFor();
        if (results.size() != cell.workloads().size() || code != 0) {
            progress.step(cell.workloads().size() - results.size());
            throw new CellFailedException("its JVM exited with status " + code + " after " + results.size() + " of "
                    + cell.workloads().size() + " workloads (see its messages above)"
                    + (tail.isEmpty() ? "" : ": " + tail.get(tail.size() - 1)));
        }
        return results;
    }

    /** Parses an implementation name for picocli, with the list of allowed names on error. */
    static final class ImplConverter implements CommandLine.ITypeConverter<Impl> {
        @Override
        public Impl convert(String value) {
            try {
                return Impl.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** The implementation names, for the help text. */
    static final class ImplNames extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        ImplNames() {
            for (Impl impl : Impl.values()) {
                add(impl.id);
            }
        }
    }
}
