package io.hashkernel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hashkernel.numa.MachineMemory;
import io.hashkernel.numa.Memory;
import io.hashkernel.numa.Region;
import io.hashkernel.prefetch.BatchPipeline;
import io.hashkernel.prefetch.MemoryLimitProbe;
import io.hashkernel.prefetch.Prefetchers;
import io.hashkernel.table.ConcurrentLongLongTable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * htbench: DRAMHiT's throughput experiments for HashKernel and its peers, one after another, each
 * in a child JVM with this JVM's flags (as a real application or JMH runs one map), reported as a
 * table and as JSON. {@code --no-fork} runs them in this JVM.
 */
@Command(name = "htbench", mixinStandardHelpOptions = true, version = "htbench 0.1",
        sortOptions = false,
        description = {
            "Measures find or insert throughput (Mops/s) of HashKernel and its peers on a table far",
            "larger than the last-level cache, and the memory each needs per entry.",
            "Each implementation runs in its own JVM started with this JVM's flags (so -Xmx applies)."})
public final class HtBench implements Callable<Integer> {
    static final double BYTES_PER_SLOT = 16;

    @Option(names = "--impl", split = ",", paramLabel = "IMPL",
            description = "Implementations, comma-separated: ${COMPLETION-CANDIDATES}. Default: all.",
            converter = ImplConverter.class, completionCandidates = ImplNames.class)
    List<Impl> impls = List.of(Impl.values());

    @Option(names = "--op", paramLabel = "OP", description = "find or insert. Default: ${DEFAULT-VALUE}.")
    String op = "find";

    @Option(names = "--dist", paramLabel = "DIST", description = "Key distribution: uniform. Default: ${DEFAULT-VALUE}.")
    String dist = "uniform";

    @Option(names = "--table-mib", paramLabel = "MIB",
            description = "Memory of the HashKernel table in MiB (16 bytes a slot); peers hold the same entries."
                    + " Default: sized from the machine (1024 with 16 GiB of RAM or more).")
    Long tableMiB;

    @Option(names = "--fill", paramLabel = "F", description = "Fraction of slots filled. Default: ${DEFAULT-VALUE}.")
    double fill = 0.75;

    @Option(names = "--threads", paramLabel = "T", description = "Worker threads. Default: all cpus.")
    Integer threads;

    @Option(names = "--batch", paramLabel = "B",
            description = "Requests per prefetched batch of the batched implementation. Default: ${DEFAULT-VALUE}.")
    int batch = ConcurrentLongLongTable.DEFAULT_BATCH;

    @Option(names = "--depth", paramLabel = "D",
            description = "Batches in flight (a batch is probed D rounds after its prefetch) in the batched"
                    + " implementation. Default: ${DEFAULT-VALUE}.")
    int depth = ConcurrentLongLongTable.DEFAULT_DEPTH;

    @Option(names = "--limit", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Measure the memory limit (random 64-byte reads/s over a region as large as the table)"
                    + " first and report each result as a percentage of it (default); --no-limit skips it.")
    boolean limit = true;

    @Option(names = "--seconds", paramLabel = "S", description = "Measured time per implementation. Default: ${DEFAULT-VALUE}.")
    double seconds = 3;

    @Option(names = "--warmup", paramLabel = "S",
            description = "Untimed run before each find measurement, for the JIT. Default: ${DEFAULT-VALUE}.")
    double warmup = 1;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the key streams. Default: ${DEFAULT-VALUE}.")
    long seed = 42;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

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
     * @param limitMops the memory limit in million lines per second (null when not measured)
     * @param limit     every shape of the limit probe, best first
     */
    record Report(MachineInfo machine, Double limitMops, List<MemoryLimitProbe.Result> limit,
                  Map<String, Object> config, List<CellResult> results, List<Map<String, String>> skipped) {
    }

    @Override
    public Integer call() throws Exception {
        validate();
        MachineInfo machine = MachineInfo.current();
        long mib = tableMiB != null ? tableMiB : defaultTableMiB(machine);
        int t = threads != null ? threads : machine.cpus();
        long capacity = (long) (mib * (double) (1L << 20) / BYTES_PER_SLOT);
        long entries = (long) (capacity * fill);
        out.printf(Locale.ROOT, "htbench: %s, %s keys, %d threads, table %d MiB%s = %,d slots, %,d entries (fill %.2f), %.1f s each%n",
                op, dist, t, mib, tableMiB == null ? " (default)" : "", capacity, entries, fill, seconds);
        out.println("machine: " + machine.describe());
        out.println("memory:  " + machine.memoryMechanism());
        out.println("prefetch: " + Prefetchers.describe(Prefetchers.selected()) + ", batch " + batch + ", depth " + depth);
        List<MemoryLimitProbe.Result> limits = limit ? measureLimit(mib, t) : List.of();
        Double limitMops = limits.isEmpty() ? null : limits.get(0).mops();
        out.println();

        List<CellResult> results = new ArrayList<>();
        List<Map<String, String>> skipped = new ArrayList<>();
        boolean failed = false;
        for (Impl impl : impls) {
            CellSpec spec = new CellSpec(impl.id, op, dist, t, capacity, entries, seconds, warmup, seed, batch, depth);
            String skip = heapShortfall(impl, entries);
            if (skip != null) {
                out.println("skipped " + impl.id + ": " + skip);
                skipped.add(Map.of("impl", impl.id, "reason", skip));
                continue;
            }
            try {
                CellResult r = fork ? runForked(spec) : new CellRunner(spec).run();
                if (r.wrong() != 0) {
                    err.printf("%s returned %,d wrong values: its result is invalid%n", impl.id, r.wrong());
                    failed = true;
                }
                results.add(r);
            } catch (CellFailedException e) {
                err.println(impl.id + " failed: " + e.getMessage());
                skipped.add(Map.of("impl", impl.id, "reason", "failed: " + e.getMessage()));
                failed = true;
            }
        }
        out.println();
        out.print(ResultTable.render(results, limitMops));
        if (json != null) {
            Map<String, Object> config = new LinkedHashMap<>();
            config.put("op", op);
            config.put("dist", dist);
            config.put("threads", t);
            config.put("tableMiB", mib);
            config.put("fill", fill);
            config.put("seconds", seconds);
            config.put("warmupSeconds", warmup);
            config.put("seed", seed);
            config.put("batch", batch);
            config.put("depth", depth);
            config.put("prefetch", Prefetchers.selected().name());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValue(json.toFile(), new Report(machine, limitMops, limits, config, results, skipped));
            out.println("wrote " + json);
        }
        return failed ? 1 : 0;
    }

    private void validate() {
        List<String> problems = new ArrayList<>();
        if (!op.equals("find") && !op.equals("insert")) {
            problems.add("--op must be find or insert, was '" + op + "'");
        }
        if (!dist.equals("uniform")) {
            problems.add("--dist must be uniform, was '" + dist + "'");
        }
        if (!(fill > 0 && fill < 1)) {
            problems.add("--fill must be above 0 and below 1, was " + fill);
        }
        if (tableMiB != null && tableMiB < 1) {
            problems.add("--table-mib must be at least 1, was " + tableMiB);
        }
        if (threads != null && threads < 1) {
            problems.add("--threads must be at least 1, was " + threads);
        }
        if (batch < 1 || batch > BatchPipeline.MAX_BATCH) {
            problems.add("--batch must be between 1 and " + BatchPipeline.MAX_BATCH + ", was " + batch);
        }
        if (depth < 1 || depth > BatchPipeline.MAX_DEPTH) {
            problems.add("--depth must be between 1 and " + BatchPipeline.MAX_DEPTH + ", was " + depth);
        }
        if (!(seconds > 0)) {
            problems.add("--seconds must be positive, was " + seconds);
        }
        if (!(warmup >= 0)) {
            problems.add("--warmup must be zero or positive, was " + warmup);
        }
        if (impls.isEmpty()) {
            problems.add("--impl names no implementation; choose from: " + Impl.allIds());
        }
        if (!problems.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), String.join("; ", problems));
        }
    }

    /**
     * The memory-limit probe over a region the size of the table, written first so that every page
     * is backed (reads of untouched anonymous memory all hit one zero page), with the default
     * prefetch strategy, for {@code --seconds} per shape.
     */
    private List<MemoryLimitProbe.Result> measureLimit(long mib, int t) throws InterruptedException {
        try (Region region = Memory.allocate(mib << 20, Memory.HUGE_PAGE_SIZE)) {
            region.segment().fill((byte) 1);
            List<MemoryLimitProbe.Result> results = MemoryLimitProbe.measureBest(region.segment(), t, seconds,
                    Prefetchers.selected());
            for (MemoryLimitProbe.Result r : results) {
                out.println("limit:   " + r.describe() + (r == results.get(0) ? "  <- limitMops" : ""));
            }
            return results;
        }
    }

    /** 1 GiB with 16 GiB of RAM or more; else a sixteenth of RAM (at least 64 MiB), a power of two. */
    static long defaultTableMiB(MachineInfo machine) {
        long ramMiB = machine.memoryBytes() >> 20;
        if (ramMiB == 0 || ramMiB >= 16 * 1024) {
            return 1024;
        }
        return Math.max(64, Long.highestOneBit(ramMiB / 16));
    }

    /** Why a heap peer cannot hold the entries in this heap (children get the same -Xmx), or null. */
    static String heapShortfall(Impl impl, long entries) {
        if (impl.heapBytesPerEntry == 0) {
            return null;
        }
        long needed = (long) (entries * (double) impl.heapBytesPerEntry * 1.25); // 25% GC headroom
        long max = Runtime.getRuntime().maxMemory();
        if (needed <= max) {
            return null;
        }
        long gib = (needed + (1L << 30) - 1) >> 30;
        return String.format(Locale.ROOT,
                "%,d entries need about %s of heap (%d bytes/entry + GC headroom), this JVM has %s; rerun with -Xmx%dg",
                entries, MachineMemory.format(needed), impl.heapBytesPerEntry, MachineMemory.format(max), gib);
    }

    /** A cell's JVM exited without a result. */
    static final class CellFailedException extends Exception {
        private static final long serialVersionUID = 1L;

        CellFailedException(String message) {
            super(message);
        }
    }

    private CellResult runForked(CellSpec spec) throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> jvmArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        command.addAll(jvmArgs);
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("--enable-native-access"))) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("--sun-misc-unsafe-memory-access"))) {
            // JCTools (a peer) still uses sun.misc.Unsafe; HashKernel does not. Keep its warnings
            // out of the report.
            command.add("--sun-misc-unsafe-memory-access=allow");
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(CellMain.class.getName());
        command.add(mapper.writeValueAsString(spec));
        Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        CellResult result = null;
        List<String> tail = new ArrayList<>();
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = lines.readLine()) != null; ) {
                if (line.startsWith(CellMain.RESULT_PREFIX)) {
                    result = mapper.readValue(line.substring(CellMain.RESULT_PREFIX.length()), CellResult.class);
                } else {
                    out.println(line);
                    tail.add(line);
                }
            }
        }
        int code = child.waitFor();
        if (result == null || code != 0) {
            throw new CellFailedException("its JVM exited with status " + code + " (see its messages above)"
                    + (tail.isEmpty() ? "" : ": " + tail.get(tail.size() - 1)));
        }
        return result;
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
