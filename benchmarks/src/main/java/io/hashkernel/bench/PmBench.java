package io.hashkernel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hashkernel.pm.Durability;
import io.hashkernel.pm.KillDrill;
import io.hashkernel.pm.Persistence;
import io.hashkernel.pm.PersistentBytesMap;
import io.hashkernel.pm.PersistentLongLongTable;
import io.hashkernel.pm.PowerCutDrill;
import io.hashkernel.pm.RecoveryReport;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * pmbench: HashKernel's durable table ({@code io.hashkernel.pm}) measured beside RocksDB with the
 * same keys, and its crash drills. Three jobs, one per run:
 * <ul>
 *   <li>throughput (default): put and get Mops/s for each persistence way and durability, the
 *       recovery time of a crash image per GiB, and RocksDB's synced and unsynced
 *       {@code WriteBatch}es of the same size and point gets;</li>
 *   <li>{@code --crash-cycles N}: the kill -9 drill ({@link KillDrill});</li>
 *   <li>{@code --power-cuts N}: the simulated power-cut drill ({@link PowerCutDrill}).</li>
 * </ul>
 */
@Command(name = "pmbench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "The durable HashKernel table beside RocksDB, and its crash drills.")
public final class PmBench implements Callable<Integer> {

    @Option(names = "--durability", split = ",", defaultValue = "none,batch,each",
            description = "Durability modes to measure (default ${DEFAULT-VALUE}).")
    List<String> durability;

    @Option(names = "--persistence", split = ",", defaultValue = "in-place,redo-log",
            description = "Persistence ways to measure (default ${DEFAULT-VALUE}).")
    List<String> persistence;

    @Option(names = "--threads", defaultValue = "2", description = "Threads putting and getting (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--table-mib", defaultValue = "128",
            description = "Table size in MiB (a power of two); filled to 0.75 (default ${DEFAULT-VALUE}).")
    int tableMib;

    @Option(names = "--batch", defaultValue = "1000",
            description = "Writes per bulk call and per RocksDB WriteBatch (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seconds", defaultValue = "3", description = "Seconds per measurement (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--dir", description = "Where the files go (default: a new directory under the system temp dir, removed after).")
    Path dir;

    @Option(names = "--no-rocksdb", description = "Skip RocksDB.")
    boolean noRocksdb;

    @Option(names = "--crash-cycles", defaultValue = "0", description = "Run the kill -9 drill with this many kills instead.")
    int crashCycles;

    @Option(names = "--power-cuts", defaultValue = "0", description = "Run the power-cut drill with this many cuts instead.")
    int powerCuts;

    @Option(names = "--bytes-entries", defaultValue = "0", paramLabel = "N",
            description = "Measure the durable byte map instead: N entries of 16-byte keys and 100-byte values "
                    + "loaded, overwritten and read, and its recovery timed.")
    long bytesEntries;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the drills (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Option(names = "--report", paramLabel = "DIR", description = "Also write DIR/report.html with a chart (PNG).")
    Path report;

    private final PrintStream out = System.out;

    /** Runs pmbench; exits 1 where a drill found a loss. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new PmBench()).setCaseInsensitiveEnumValuesAllowed(true).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (threads < 1 || threads > 256 || batch < 1 || batch > 1 << 20 || seconds <= 0 || tableMib < 1
                || Integer.bitCount(tableMib) != 1 || crashCycles < 0 || powerCuts < 0 || bytesEntries < 0) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--threads must be 1..256, --batch 1..2^20, "
                    + "--seconds positive, --table-mib a power of two, --crash-cycles, --power-cuts and --bytes-entries "
                    + "at least 0");
        }
        boolean temporary = dir == null;
        Path work = temporary ? Files.createTempDirectory("pmbench") : Files.createDirectories(dir);
        try {
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("machine", MachineInfo.current());
            boolean good = true;
            if (powerCuts > 0) {
                good &= powerCuts(result);
            }
            if (crashCycles > 0) {
                good &= crashCycles(work, result);
            }
            if (bytesEntries > 0) {
                bytesMap(work.resolve("bytes"), result);
            }
            if (powerCuts == 0 && crashCycles == 0 && bytesEntries == 0) {
                throughput(work, result);
            }
            if (json != null) {
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), result);
                out.println("wrote " + json);
            }
            return good ? 0 : 1;
        } finally {
            if (temporary) {
                try (Stream<Path> files = Files.walk(work)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- the durable byte map

    /**
     * The durable byte map on one thread: bulk loads of {@code batch} pairs (one sync each,
     * BATCH), single overwrites under each durability for {@code seconds}, gets, and the time
     * to reopen it from its logs and from a snapshot.
     */
    private void bytesMap(Path dir, Map<String, Object> result) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        out.printf("pmbench bytes: %d entries, 16-byte keys, 100-byte values, one thread, bulk calls of %d, %.1f s each%n",
                bytesEntries, batch, seconds);
        long start = System.nanoTime();
        try (PersistentBytesMap map = PersistentBytesMap.builder(dir)
                .map(o -> o.expectedEntries(bytesEntries)).open()) {
            byte[][] keys = new byte[batch][];
            byte[][] values = new byte[batch][];
            for (long i = 0; i < bytesEntries; i += batch) {
                int n = (int) Math.min(batch, bytesEntries - i);
                if (n < batch) {
                    keys = new byte[n][];
                    values = new byte[n][];
                }
                for (int j = 0; j < n; j++) {
                    keys[j] = StoreBench.key(i + j).get();
                    values[j] = StoreBench.value(i + j);
                }
                map.putAll(keys, values);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            m.put("loadMops", bytesEntries / secs / 1e6);
            out.printf("  load (putAll, BATCH): %.3f M/s%n", bytesEntries / secs / 1e6);
        }
        for (Durability d : new Durability[] {Durability.NONE, Durability.BATCH}) {
            for (boolean behind : d == Durability.NONE ? new boolean[] {true, false} : new boolean[] {false}) {
                try (PersistentBytesMap map = PersistentBytesMap.builder(dir).durability(d).writeBehind(behind)
                        .map(o -> o.expectedEntries(bytesEntries)).open()) {
                    if (d == Durability.NONE && behind) {
                        report(m, "recoveryFromLogs", map.recovery());
                    }
                    double mops = timed(i -> map.set(StoreBench.key(i).get(), StoreBench.value(i)));
                    String name = "put" + (behind ? "WriteBehind" : d == Durability.NONE ? "None" : "Batch");
                    m.put(name + "Mops", mops);
                    out.printf("  put, %-22s %.3f M/s%n", d + (behind ? " write-behind:" : ":"), mops);
                    if (d == Durability.BATCH) {
                        double gets = timed(i -> map.get(StoreBench.key(i).get()));
                        m.put("getMops", gets);
                        out.printf("  get:                       %.3f M/s%n", gets);
                        map.checkpoint();
                    }
                }
            }
        }
        try (PersistentBytesMap map = PersistentBytesMap.builder(dir).open()) {
            report(m, "recoveryFromSnapshot", map.recovery());
        }
        result.put("bytesMap", m);
    }

    /** Operations per microsecond of {@code op} over random entries for {@code seconds}. */
    private double timed(java.util.function.LongConsumer op) {
        long state = Keys.seed(seed, 0);
        long ops = 0;
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        long now;
        do {
            for (int i = 0; i < 256; i++) {
                state = Keys.next(state);
                op.accept(Keys.below(state, bytesEntries));
            }
            ops += 256;
        } while ((now = System.nanoTime()) < end);
        return ops / ((now - start) / 1e3);
    }

    private void report(Map<String, Object> m, String name, PersistentBytesMap.Recovery r) {
        double gib = r.fileBytes() / (double) (1L << 30);
        m.put(name + "Millis", r.millis());
        m.put(name + "MillisPerGiB", r.millis() / gib);
        out.printf("  reopen %-14s %.0f ms for %.2f GiB of files (%.0f ms/GiB), %d snapshot + %d log records%n",
                name.substring("recoveryFrom".length()).toLowerCase() + ":", r.millis(), gib, r.millis() / gib,
                r.snapshotRecords(), r.logRecords());
    }

    // ---------------------------------------------------------------- drills

    private boolean powerCuts(Map<String, Object> result) {
        long start = System.nanoTime();
        PowerCutDrill.Report r;
        try (Progress bar = Progress.open("pmbench power cuts", " cuts", powerCuts, powerCuts / 300.0)) {
            int[] done = {0};
            r = PowerCutDrill.run(powerCuts, seed, n -> {
                bar.step(n - done[0]);
                done[0] = n;
            });
        }
        double secs = (System.nanoTime() - start) / 1e9;
        out.printf("power cuts %d (and %d more during recovery; %d inside a clear), acknowledged writes %d, lost %d, "
                        + "torn %d, recovery failures %d, %.1f s%n", r.cuts(), r.cutsDuringRecovery(), r.cutsDuringClear(),
                r.acknowledged(), r.lost(), r.torn(), r.recoveryFailures(), secs);
        r.failures().forEach(f -> out.println("  " + f));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cuts", r.cuts());
        m.put("cutsDuringRecovery", r.cutsDuringRecovery());
        m.put("cutsDuringClear", r.cutsDuringClear());
        m.put("acknowledged", r.acknowledged());
        m.put("lost", r.lost());
        m.put("torn", r.torn());
        m.put("recoveryFailures", r.recoveryFailures());
        m.put("units", List.of(8, 64, 4096));
        m.put("seconds", secs);
        m.put("failures", r.failures());
        result.put("powerCuts", m);
        return r.passed();
    }

    private boolean crashCycles(Path work, Map<String, Object> result) throws IOException, InterruptedException {
        KillDrill.Report r;
        try (Progress bar = Progress.open("pmbench kill -9", " kills", crashCycles, crashCycles * 1.2)) {
            r = KillDrill.run(work, crashCycles, 1000, seed, n -> bar.step(1));
        }
        double mean = r.recoveryMillis().stream().mapToDouble(Double::doubleValue).average().orElse(0);
        double max = r.recoveryMillis().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        out.printf("kill -9 cycles %d, acknowledged writes %d, lost %d, torn %d, recovery failures %d, "
                + "recovery %.1f ms mean, %.1f ms max (2 MiB table)%n", r.cycles(), r.acknowledged(), r.lost(), r.torn(),
                r.recoveryFailures(), mean, max);
        r.failures().forEach(f -> out.println("  " + f));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cycles", r.cycles());
        m.put("acknowledged", r.acknowledged());
        m.put("lost", r.lost());
        m.put("torn", r.torn());
        m.put("recoveryFailures", r.recoveryFailures());
        m.put("recoveryMillisMean", mean);
        m.put("recoveryMillisMax", max);
        m.put("failures", r.failures());
        result.put("crashCycles", m);
        return r.passed();
    }

    // ---------------------------------------------------------------- throughput

    /** One measured subject: its put and get rates. */
    record Row(String subject, String persistence, String durability, double putMops, double getMops,
               double batchedGetMops, double recoveryMs, double recoveryMsPerGiB, long recoveryReplayedEntries,
               double cleanOpenMs, String mapping) {
    }

    private void throughput(Path work, Map<String, Object> result) throws Exception {
        long slots = ((long) tableMib << 20) / 16;
        long keys = slots / 4 * 3;
        List<Row> rows = new ArrayList<>();
        out.printf("pmbench: %d threads, %d MiB table (%d slots, %d keys, fill 0.75), bulk calls of %d, %.1f s each%n",
                threads, tableMib, slots, keys, batch, seconds);
        for (String way : persistence) {
            Persistence p = Persistence.valueOf(way.toUpperCase().replace('-', '_'));
            Path file = work.resolve("table-" + way + ".hkt");
            long created = System.nanoTime();
            try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).capacity(slots).persistence(p)
                    .durability(Durability.NONE).open()) {
                fill(t, keys);
            }
            out.printf("  %s: file created and filled in %.1f s%n", way, (System.nanoTime() - created) / 1e9);
            for (String mode : durability) {
                Durability d = Durability.valueOf(mode.toUpperCase());
                rows.add(measure(file, p, d, keys, work));
                print(rows.getLast());
            }
            Files.deleteIfExists(file);
            Files.deleteIfExists(file.resolveSibling(file.getFileName() + ".log"));
        }
        if (!noRocksdb) {
            rows.addAll(rocksdb(work.resolve("rocksdb"), keys));
        }
        Map<String, Object> ratios = ratios(rows);
        ratios.forEach((k, v) -> out.printf("  %-52s %8.2f%n", k, (Double) v));
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("threads", threads);
        config.put("tableMiB", tableMib);
        config.put("keys", keys);
        config.put("batch", batch);
        config.put("seconds", seconds);
        config.put("keyDistribution", "uniform (xorshift), puts update existing keys");
        result.put("config", config);
        result.put("results", rows);
        result.put("ratios", ratios);
        if (report != null) {
            out.println("wrote " + writeReport(rows, ratios));
        }
    }

    private void print(Row r) {
        out.printf("  %-10s %-9s %-6s put %9.4f Mops/s  get %7.2f Mops/s  batched get %7.2f Mops/s%s%n", r.subject(),
                r.persistence(), r.durability(), r.putMops(), r.getMops(), r.batchedGetMops(),
                r.recoveryMs() > 0 ? String.format("  recovery %.0f ms (%.0f ms/GiB, %d log entries replayed),"
                        + " clean open %.2f ms", r.recoveryMs(), r.recoveryMsPerGiB(), r.recoveryReplayedEntries(),
                        r.cleanOpenMs()) : "");
    }

    private void fill(PersistentLongLongTable t, long keys) {
        long[] k = new long[4096];
        long[] v = new long[4096];
        for (long next = 1; next <= keys; ) {
            int n = (int) Math.min(k.length, keys - next + 1);
            for (int i = 0; i < n; i++) {
                k[i] = next + i;
                v[i] = next + i;
            }
            t.putAll(k, 0, v, 0, n);
            next += n;
        }
    }

    /** Puts (bulk calls of {@code batch}, single puts under EACH) and gets, then a crash image's recovery. */
    private Row measure(Path file, Persistence p, Durability d, long keys, Path work) throws Exception {
        double cleanOpen;
        double put;
        double get;
        double batchedGet;
        String mapping;
        long clean = System.nanoTime();
        try (PersistentLongLongTable t = PersistentLongLongTable.builder(file).persistence(p).durability(d).open()) {
            cleanOpen = (System.nanoTime() - clean) / 1e6;
            mapping = t.memoryDescription();
            long mask = Long.highestOneBit(keys) - 1;
            put = run((id, x) -> {
                if (d == Durability.EACH) {
                    long[] s = {x};
                    long ops = 0;
                    do {
                        for (int i = 0; i < 16; i++) {
                            long key = (next(s) & mask) + 1;
                            t.put(key, key + 1);
                        }
                        ops += 16;
                    } while (!stop.get());
                    return ops;
                }
                long[] k = new long[batch];
                long[] v = new long[batch];
                long[] s = {x};
                long ops = 0;
                do {
                    for (int i = 0; i < batch; i++) {
                        k[i] = (next(s) & mask) + 1;
                        v[i] = k[i] + 2;
                    }
                    t.putAll(k, v);
                    ops += batch;
                } while (!stop.get());
                return ops;
            });
            get = run((id, x) -> {
                long[] s = {x};
                long ops = 0;
                long sink = 0;
                do {
                    for (int i = 0; i < 1024; i++) {
                        sink += t.get((next(s) & mask) + 1);
                    }
                    ops += 1024;
                } while (!stop.get());
                return ops + (sink == 42 ? 1 : 0);
            });
            batchedGet = run((id, x) -> {
                long[] k = new long[1024];
                long[] v = new long[1024];
                long[] s = {x};
                long ops = 0;
                do {
                    for (int i = 0; i < k.length; i++) {
                        k[i] = (next(s) & mask) + 1;
                    }
                    t.getAll(k, v);
                    ops += k.length;
                } while (!stop.get());
                return ops;
            });
            // A crash image: the file (and log) as a killed process would leave them.
            t.flush();
            Files.copy(file, work.resolve("crash.hkt"), StandardCopyOption.REPLACE_EXISTING);
            Path log = file.resolveSibling(file.getFileName() + ".log");
            if (Files.exists(log)) {
                Files.copy(log, work.resolve("crash.hkt.log"), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        RecoveryReport rr;
        try (PersistentLongLongTable r = PersistentLongLongTable.builder(work.resolve("crash.hkt")).persistence(p)
                .durability(d).open()) {
            rr = r.recovery();
        }
        Files.deleteIfExists(work.resolve("crash.hkt"));
        Files.deleteIfExists(work.resolve("crash.hkt.log"));
        return new Row("hashkernel", p.name().toLowerCase().replace('_', '-'), d.name().toLowerCase(), put, get,
                batchedGet, rr.millis(), rr.millisPerGiB(), rr.replayedEntries(), cleanOpen, mapping);
    }

    private List<Row> rocksdb(Path path, long keys) throws Exception {
        RocksDB.loadLibrary();
        List<Row> rows = new ArrayList<>();
        try (LRUCache cache = new LRUCache(2L * tableMib << 20);
             BloomFilter bloom = new BloomFilter(10);
             Options options = new Options().setCreateIfMissing(true)
                     .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(cache).setFilterPolicy(bloom));
             RocksDB db = RocksDB.open(options, path.toString());
             WriteOptions unsynced = new WriteOptions();
             WriteOptions synced = new WriteOptions().setSync(true);
             ReadOptions reads = new ReadOptions()) {
            long filled = System.nanoTime();
            try (WriteBatch wb = new WriteBatch()) {
                for (long k = 1; k <= keys; k++) {
                    wb.put(bytes(k), bytes(k));
                    if (k % 4096 == 0 || k == keys) {
                        db.write(unsynced, wb);
                        wb.clear();
                    }
                }
            }
            db.flush(new org.rocksdb.FlushOptions().setWaitForFlush(true));
            db.compactRange();
            out.printf("  rocksdb %s: filled and compacted in %.1f s (block cache %d MiB, bloom filter 10 bits/key)%n",
                    RocksDB.rocksdbVersion(), (System.nanoTime() - filled) / 1e9, 2 * tableMib);
            long mask = Long.highestOneBit(keys) - 1;
            double[] puts = new double[2];
            WriteOptions[] modes = {unsynced, synced};
            for (int m = 0; m < 2; m++) {
                WriteOptions wo = modes[m];
                puts[m] = run((id, x) -> {
                    long[] s = {x};
                    long ops = 0;
                    try (WriteBatch wb = new WriteBatch()) {
                        do {
                            wb.clear();
                            for (int i = 0; i < batch; i++) {
                                long key = (next(s) & mask) + 1;
                                wb.put(bytes(key), bytes(key + 2));
                            }
                            db.write(wo, wb);
                            ops += batch;
                        } while (!stop.get());
                    }
                    return ops;
                });
            }
            double get = run((id, x) -> {
                long[] s = {x};
                long ops = 0;
                long sink = 0;
                byte[] value = new byte[8];
                do {
                    for (int i = 0; i < 256; i++) {
                        sink += db.get(reads, bytes((next(s) & mask) + 1), value);
                    }
                    ops += 256;
                } while (!stop.get());
                return ops + (sink == 42 ? 1 : 0);
            });
            rows.add(new Row("rocksdb", "wal", "none", puts[0], get, 0, 0, 0, 0, 0, "WriteBatch, sync=false"));
            rows.add(new Row("rocksdb", "wal", "batch", puts[1], get, 0, 0, 0, 0, 0, "WriteBatch, sync=true"));
            print(rows.get(0));
            print(rows.get(1));
        }
        return rows;
    }

    private static byte[] bytes(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (v >>> (56 - 8 * i));
        }
        return b;
    }

    private static Map<String, Object> ratios(List<Row> rows) {
        Map<String, Object> ratios = new LinkedHashMap<>();
        Row syncedRocks = find(rows, "rocksdb", "wal", "batch");
        Row unsyncedRocks = find(rows, "rocksdb", "wal", "none");
        for (String way : List.of("in-place", "redo-log")) {
            Row durable = find(rows, "hashkernel", way, "batch");
            Row none = find(rows, "hashkernel", way, "none");
            if (durable != null && syncedRocks != null) {
                ratios.put(way + " batch put / rocksdb synced batch put", durable.putMops() / syncedRocks.putMops());
                ratios.put(way + " get / rocksdb get", durable.getMops() / syncedRocks.getMops());
                ratios.put(way + " batched get / rocksdb get", durable.batchedGetMops() / syncedRocks.getMops());
            }
            if (none != null && unsyncedRocks != null) {
                ratios.put(way + " none put / rocksdb unsynced batch put", none.putMops() / unsyncedRocks.putMops());
            }
        }
        return ratios;
    }

    private static Row find(List<Row> rows, String subject, String persistence, String durability) {
        return rows.stream().filter(r -> r.subject().equals(subject) && r.persistence().equals(persistence)
                && r.durability().equals(durability)).findFirst().orElse(null);
    }

    // ---------------------------------------------------------------- timing

    /** A thread's loop: operations done until {@link #stop}. */
    @FunctionalInterface
    private interface Loop {
        long run(int thread, long seed) throws Exception;
    }

    private final AtomicBoolean stop = new AtomicBoolean();

    /** Runs {@code loop} on {@link #threads} threads for {@link #seconds}; Mops/s summed over them. */
    private double run(Loop loop) throws InterruptedException {
        stop.set(false);
        long[] ops = new long[threads];
        Throwable[] failed = new Throwable[1];
        List<Thread> ts = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < threads; i++) {
            int id = i;
            ts.add(Thread.ofPlatform().name("pmbench-" + i).start(() -> {
                try {
                    ops[id] = loop.run(id, 0x9E3779B97F4A7C15L * (id + 1));
                } catch (Throwable e) {
                    synchronized (failed) {
                        failed[0] = e;
                    }
                    stop.set(true);
                }
            }));
        }
        Thread.sleep((long) (seconds * 1000));
        stop.set(true);
        for (Thread t : ts) {
            t.join();
        }
        double secs = (System.nanoTime() - start) / 1e9;
        if (failed[0] != null) {
            throw new IllegalStateException("a pmbench thread failed", failed[0]);
        }
        long total = 0;
        for (long o : ops) {
            total += o;
        }
        return total / secs / 1e6;
    }

    /** xorshift64: cheap, so that the key generator is not what is measured. */
    private static long next(long[] s) {
        long x = s[0];
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        s[0] = x;
        return x;
    }

    // ---------------------------------------------------------------- report

    private Path writeReport(List<Row> rows, Map<String, Object> ratios) {
        try {
            Files.createDirectories(report);
            DefaultCategoryDataset data = new DefaultCategoryDataset();
            for (Row r : rows) {
                String name = r.subject() + " " + r.persistence() + " " + r.durability();
                data.addValue(r.putMops(), "put", name);
                data.addValue(r.getMops(), "get", name);
            }
            JFreeChart chart = ChartFactory.createBarChart("pmbench: Mops/s (" + threads + " threads, " + tableMib
                    + " MiB, batches of " + batch + ")", null, "Mops/s (log)", data, PlotOrientation.HORIZONTAL, true,
                    false, false);
            LogarithmicAxis axis = new LogarithmicAxis("Mops/s (log)");
            axis.setAllowNegativesFlag(false);
            axis.setStrictValuesFlag(false);
            chart.getCategoryPlot().setRangeAxis(axis);
            ChartUtils.saveChartAsPNG(report.resolve("pmbench.png").toFile(), chart, 960, 560);
            StringBuilder html = new StringBuilder("<!doctype html><meta charset=utf-8><title>pmbench</title>"
                    + "<h1>pmbench</h1><img src=pmbench.png alt='put and get Mops/s'><table border=1>"
                    + "<tr><th>subject<th>persistence<th>durability<th>put Mops/s<th>get Mops/s<th>batched get"
                    + "<th>recovery ms/GiB");
            for (Row r : rows) {
                html.append(String.format("<tr><td>%s<td>%s<td>%s<td>%.4f<td>%.2f<td>%.2f<td>%.0f", r.subject(),
                        r.persistence(), r.durability(), r.putMops(), r.getMops(), r.batchedGetMops(),
                        r.recoveryMsPerGiB()));
            }
            html.append("</table><h2>Ratios</h2><ul>");
            ratios.forEach((k, v) -> html.append(String.format("<li>%s: %.2f", k, (Double) v)));
            html.append("</ul>");
            Path page = report.resolve("report.html");
            Files.writeString(page, html);
            return page;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
