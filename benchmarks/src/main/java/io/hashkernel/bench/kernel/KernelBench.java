package io.hashkernel.bench.kernel;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * The kernel's crash drill from the command line: clients call a domain for a while without
 * crashes, then as long again with the domain crashed at an interval, and the two answered-call
 * rates are printed side by side with the drill's checks (every call answered, the invariants
 * after every crash, no frame leaked).
 */
@Command(name = "kernelbench", mixinStandardHelpOptions = true,
        description = "Crash a domain at an interval while clients call it; report answered calls per second "
                + "with and without crashes.")
public final class KernelBench implements Callable<Integer> {
    @Option(names = "--seconds", defaultValue = "10", description = "How long each run calls (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--crash-every-ms", defaultValue = "100",
            description = "Milliseconds between crashes in the second run (default ${DEFAULT-VALUE}).")
    long crashEveryMs;

    @Option(names = "--clients", defaultValue = "1", description = "Client threads (default ${DEFAULT-VALUE}).")
    int clients;

    /** Runs the drill; exits 1 if a check failed. */
    public static void main(String[] args) {
        System.exit(new CommandLine(new KernelBench()).execute(args));
    }

    @Override
    public Integer call() {
        if (seconds <= 0 || crashEveryMs <= 0 || clients < 1 || clients > 64) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--seconds and --crash-every-ms must be "
                    + "positive and --clients between 1 and 64, were " + seconds + ", " + crashEveryMs + ", " + clients);
        }
        Duration run = Duration.ofNanos((long) (seconds * 1e9));
        CrashDrill.Report calm = CrashDrill.run(run, null, clients);
        CrashDrill.Report crashing = CrashDrill.run(run, Duration.ofMillis(crashEveryMs), clients);
        System.out.printf("%-32s %14s %14s%n", "", "no crashes", "crash/" + crashEveryMs + " ms");
        System.out.printf("%-32s %14.0f %14.0f%n", "answered calls/s", calm.answeredPerSecond(), crashing.answeredPerSecond());
        System.out.printf("%-32s %14.0f %14.0f%n", "  of which values/s", calm.okPerSecond(), crashing.okPerSecond());
        System.out.printf("%-32s %14d %14d%n", "  failed with the domain", calm.failed(), crashing.failed());
        System.out.printf("%-32s %14d %14d%n", "  found it dead (restarting)", calm.dead(), crashing.dead());
        System.out.printf("%-32s %14d %14d%n", "crashes", calm.crashes(), crashing.crashes());
        System.out.printf("%-32s %14d %14d%n", "calls not answered", calm.escaped(), crashing.escaped());
        System.out.printf("%-32s %14d %14d%n", "invariant violations", calm.violations().size(), crashing.violations().size());
        System.out.printf("%-32s %14d %14d%n", "frames leaked", calm.leaked(), crashing.leaked());
        System.out.printf("answered with crashes / without: %.3f%n", crashing.answeredPerSecond() / calm.answeredPerSecond());
        boolean good = calm.escaped() + crashing.escaped() == 0 && calm.violations().isEmpty()
                && crashing.violations().isEmpty() && calm.leaked() + crashing.leaked() == 0;
        crashing.violations().stream().limit(10).forEach(v -> System.out.println("violation: " + v));
        return good ? 0 : 1;
    }
}
