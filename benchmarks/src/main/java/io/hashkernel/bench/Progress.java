package io.hashkernel.bench;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.Console;
import java.io.PrintStream;
import java.time.Duration;

/**
 * A progress bar over the cells of a run, on stderr, shown only when a terminal is attached (so
 * nothing of it reaches a redirected output, a JSON file or a CI log). Thread-safe.
 */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    /** A bar over {@code cells} cells when a terminal is attached, else one that shows nothing. */
    static Progress open(int cells, double estimatedSeconds) {
        return open("htbench", " cells", cells, estimatedSeconds);
    }

    /** A bar named {@code task} over {@code steps} steps counted in {@code unit}, shown as above. */
    static Progress open(String task, String unit, int steps, double estimatedSeconds) {
        Console console = System.console();
        if (console == null || !console.isTerminal() || System.getenv("CI") != null) {
            return new Progress(null);
        }
        return new Progress(new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(steps)
                .setUnit(unit, 1)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(1000)
                .setEtaFunction(state -> java.util.Optional.of(Duration.ofSeconds((long) Math.max(0,
                        estimatedSeconds * (1 - state.getCurrent() / (double) Math.max(1, state.getMax()))))))
                .setConsumer(new ConsoleProgressBarConsumer(new PrintStream(System.err, true)))
                .build());
    }

    /** Whether a bar is shown. */
    boolean shown() {
        return bar != null;
    }

    /** {@code n} more cells done. */
    synchronized void step(int n) {
        if (bar != null && n > 0) {
            bar.stepBy(n);
        }
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
