package io.hashkernel.bench.kernel;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hashkernel.bench.MachineInfo;
import io.hashkernel.kernel.kv.KvDrill;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The kernel substrate's end-to-end benchmark: the key-value service (a store domain durable
 * through the persistent backend, a server thread, clients in their own processes, all over
 * endpoints and capabilities) runs without crashes and with its store domain crashed at an
 * interval, in alternating windows, after the IPC round trip is measured. Exits 1 if an acknowledged write was lost, a frame
 * leaked or an invariant broke.
 */
@Command(name = "kernelbench", mixinStandardHelpOptions = true,
        description = "Run the key-value service on the kernel substrate with and without crashes of its store "
                + "domain; report throughput, crashes, restarts, losses (must be 0) and the IPC round trip.")
public final class KernelBench implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--seconds", defaultValue = "10", description = "How long each of the two runs lasts, its windows added (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--crash-every-ms", defaultValue = "100",
            description = "Milliseconds between crashes in the second run (default ${DEFAULT-VALUE}).")
    long crashEveryMs;

    @Option(names = "--clients", defaultValue = "2", description = "Client threads (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--batch", defaultValue = "16",
            description = "Pairs per put and keys per get, at most 30 (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--keys", defaultValue = "65536", description = "Keys per client (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where the store's files go (default: a temporary directory).")
    Path dir;

    @Option(names = "--rounds", defaultValue = "4", description = "Windows each run is cut into, the two runs "
            + "alternating (calm, crashing, crashing, calm, ...) so that the machine's drift falls on both "
            + "(default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the crash points (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results as JSON.")
    Path json;

    @Option(names = "--proxy-drill", description = "Instead, crash a domain called through its generated proxy "
            + "(no endpoints, no storage) and compare answered calls with and without crashes.")
    boolean proxyDrill;

    /** Runs the benchmark; exits 1 if a check failed. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new KernelBench()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        if (seconds <= 0 || crashEveryMs <= 0 || clients < 1 || clients > 64 || batch < 1 || batch > 30
                || keys < batch || keys > 1 << 20 || rounds < 1 || rounds > 1000) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--seconds and --crash-every-ms must be "
                    + "positive, --clients 1..64, --batch 1..30, --keys from the batch to 2^20 and --rounds 1..1000");
        }
        Duration run = Duration.ofNanos((long) (seconds * 1e9));
        if (proxyDrill) {
            return proxyDrill(run);
        }
        double ipc = IpcRoundTrip.measure(Duration.ofMillis(200), 5);       // first: the drills leave garbage behind
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("kernelbench");
        Duration window = run.dividedBy(rounds);
        KvDrill.Report calm = null;
        KvDrill.Report crashing = null;
        for (int r = 0; r < rounds; r++) {
            for (boolean crash : r % 2 == 0 ? new boolean[]{false, true} : new boolean[]{true, false}) {
                KvDrill.Report one = KvDrill.run(new KvDrill.Options(window, crash ? Duration.ofMillis(crashEveryMs)
                        : null, clients, batch, keys, work, seed + r));
                if (crash) {
                    crashing = crashing == null ? one : crashing.plus(one);
                } else {
                    calm = calm == null ? one : calm.plus(one);
                }
            }
        }
        if (dir == null) {
            Files.deleteIfExists(work);
        }

        System.out.printf("%-36s %14s %14s%n", "", "no crashes", "crash/" + crashEveryMs + " ms");
        row("acknowledged writes/s", calm.writesPerSecond(), crashing.writesPerSecond());
        row("reads/s", calm.readsPerSecond(), crashing.readsPerSecond());
        row("requests refused (met a crash)", calm.refused(), crashing.refused());
        row("crashes", calm.crashes(), crashing.crashes());
        row("restarts", calm.restarts(), crashing.restarts());
        System.out.printf("%-36s %14s %14.1f%n", "mean restart (recovery, reload), ms", "-", crashing.meanRestartMillis());
        row("acknowledged writes", calm.acknowledgedWrites(), crashing.acknowledgedWrites());
        row("lost acknowledged writes", calm.lostAcknowledgedWrites(), crashing.lostAcknowledgedWrites());
        row("reads older than acknowledged", calm.readMismatches(), crashing.readMismatches());
        row("leaked frames", calm.leakedFrames(), crashing.leakedFrames());
        row("invariant violations", calm.invariantViolations().size(), crashing.invariantViolations().size());
        System.out.printf("with crashes / without: writes %.3f, reads %.3f, all %.3f%n",
                crashing.writesPerSecond() / calm.writesPerSecond(), crashing.readsPerSecond() / calm.readsPerSecond(),
                crashing.opsPerSecond() / calm.opsPerSecond());
        System.out.printf("IPC round trip (two processes, two endpoints, spinning): %.0f ns%n", ipc);
        crashing.invariantViolations().stream().limit(10).forEach(v -> System.out.println("violation: " + v));

        if (json != null) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("machine", MachineInfo.current());
            out.put("seconds", seconds);
            out.put("crashEveryMs", crashEveryMs);
            out.put("clients", clients);
            out.put("batch", batch);
            out.put("rounds", rounds);
            out.put("calls", calm.requests() + crashing.requests());
            out.put("crashes", crashing.crashes());
            out.put("restarts", crashing.restarts());
            out.put("acknowledgedWrites", calm.acknowledgedWrites() + crashing.acknowledgedWrites());
            out.put("lostAcknowledgedWrites", calm.lostAcknowledgedWrites() + crashing.lostAcknowledgedWrites());
            out.put("readMismatches", calm.readMismatches() + crashing.readMismatches());
            out.put("leakedFrames", calm.leakedFrames() + crashing.leakedFrames());
            out.put("invariantViolations", calm.invariantViolations().size() + crashing.invariantViolations().size());
            out.put("ipcRoundTripNs", ipc);
            out.put("throughputWithoutCrashes", calm.opsPerSecond());
            out.put("throughputWithCrashes", crashing.opsPerSecond());
            out.put("withoutCrashes", calm);
            out.put("withCrashes", crashing);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), out);
            System.out.println("wrote " + json);
        }
        return calm.passed() && crashing.passed() ? 0 : 1;
    }

    /** The drill of a domain called through its proxy by {@code --clients} threads. */
    private int proxyDrill(Duration run) {
        CrashDrill.Report calm = CrashDrill.run(run, null, clients);
        CrashDrill.Report crashing = CrashDrill.run(run, Duration.ofMillis(crashEveryMs), clients);
        System.out.printf("%-36s %14s %14s%n", "", "no crashes", "crash/" + crashEveryMs + " ms");
        row("answered calls/s", calm.answeredPerSecond(), crashing.answeredPerSecond());
        row("  of which values/s", calm.okPerSecond(), crashing.okPerSecond());
        row("  failed with the domain", calm.failed(), crashing.failed());
        row("  found it dead (restarting)", calm.dead(), crashing.dead());
        row("crashes", calm.crashes(), crashing.crashes());
        row("calls not answered", calm.escaped(), crashing.escaped());
        row("invariant violations", calm.violations().size(), crashing.violations().size());
        row("frames leaked", calm.leaked(), crashing.leaked());
        System.out.printf("answered with crashes / without: %.3f%n", crashing.answeredPerSecond() / calm.answeredPerSecond());
        crashing.violations().stream().limit(10).forEach(v -> System.out.println("violation: " + v));
        return calm.escaped() + crashing.escaped() == 0 && calm.violations().isEmpty() && crashing.violations().isEmpty()
                && calm.leaked() + crashing.leaked() == 0 ? 0 : 1;
    }

    private static void row(String name, double without, double with) {
        System.out.printf("%-36s %14.0f %14.0f%n", name, without, with);
    }
}
