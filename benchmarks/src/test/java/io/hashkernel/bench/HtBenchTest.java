package io.hashkernel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hashkernel.table.ConcurrentLongLongTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HtBenchTest {

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = HtBench.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).execute(args);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void badOptionsSayWhatIsAllowed() {
        Run op = run("--op", "scan");
        assertEquals(2, op.code());
        assertTrue(op.err().contains("--op must be find, insert or mixed:R with R the percentage of finds (0 to 100),"
                + " was 'scan'"), op.err());
        Run mixed = run("--op", "mixed:101");
        assertTrue(mixed.err().contains("was 'mixed:101'"), mixed.err());
        Run dist = run("--dist", "zipf:abc");
        assertTrue(dist.err().contains("--dist must be uniform or zipf:S with S the exponent"), dist.err());

        Run fill = run("--fill", "1.5");
        assertTrue(fill.err().contains("--fill must be above 0 and below 1, was 1.5"), fill.err());

        Run impl = run("--impl", "hashkernel-unbatched,redis");
        assertEquals(2, impl.code());
        assertTrue(impl.err().contains("unknown implementation 'redis'")
                && impl.err().contains("hashkernel, hashkernel-unbatched, hashkernel-partitioned, hashkernel-growing, chm, nbhml, agrona,"
                        + " fastutil, eclipse, chronicle"), impl.err());

        Run batch = run("--batch", "0");
        assertEquals(2, batch.code());
        assertTrue(batch.err().contains("--batch must be between 1 and 4096, was 0"), batch.err());

        Run threads = run("--threads", "1,0");
        assertTrue(threads.err().contains("--threads must be at least 1, was [1, 0]"), threads.err());
    }

    @Test
    void everyPeerRunsFindAndMixedWithinItsContract(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("r.json");
        // In this JVM (no fork): every peer but Chronicle Map, which needs JVM flags a child gets.
        Run r = run("--no-fork", "--impl",
                "hashkernel,hashkernel-unbatched,chm,nbhml,agrona,fastutil,eclipse,hashkernel-partitioned",
                "--op", "find,mixed:50", "--dist", "uniform,zipf:1.09", "--table-mib", "1", "--threads", "2",
                "--seconds", "0.1", "--warmup", "0", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("find uniform, table 1 MiB, 2 threads, memory limit"), r.out());
        assertTrue(r.out().contains("mixed:50 zipf:1.09, table 1 MiB, 2 threads"), r.out());
        assertTrue(r.out().contains("* single-writer map: its writes ran on one thread"), r.out());
        assertTrue(r.out().contains("<- limitMops"), r.out());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertTrue(report.get("machine").get("cpus").asInt() > 0);
        assertTrue(report.get("machine").get("prefetch").asText().length() > 0);
        JsonNode machine = report.get("machine");
        assertTrue(machine.get("numa").asText().contains("NUMA node"), machine.toString());
        assertTrue(machine.get("nodes").size() >= 1 && machine.get("nodes").get(0).has("cpus"), machine.toString());
        assertTrue(machine.get("cpusUsed").asText().matches("[0-9,-]+"), machine.toString());
        assertTrue(machine.get("thp").asText().length() > 0);
        JsonNode pages = machine.get("tableHugePages");
        assertEquals(3, pages.size(), "one entry per HashKernel table: " + pages);
        for (JsonNode p : pages) {
            assertTrue(p.get("hugePageBytes").asLong() >= 0 && p.get("fraction").asDouble() <= 1.0, p.toString());
        }
        assertTrue(report.get("limitMops").asDouble() > 0, report.toString());
        assertEquals(3, report.get("limit").size(), "every shape of the limit probe");
        assertEquals(1, report.get("limits").size());
        assertEquals(report.get("limitMops").asDouble(), report.get("limits").get(0).get("limitMops").asDouble());
        assertEquals(ConcurrentLongLongTable.DEFAULT_BATCH, report.get("config").get("batch").asInt());
        assertEquals(8 * 4, report.get("results").size());
        Set<String> cells = new HashSet<>();
        for (JsonNode result : report.get("results")) {
            String impl = result.get("impl").asText();
            String op = result.get("op").asText();
            assertTrue(cells.add(impl + " " + op + " " + result.get("dist").asText()), "one result per cell");
            boolean singleWriter = Set.of("agrona", "fastutil", "eclipse").contains(impl);
            assertEquals(singleWriter ? "single-writer" : "concurrent", result.get("contract").asText());
            assertEquals(singleWriter && op.startsWith("mixed") ? 1 : 2, result.get("threads").asInt(), result.toString());
            assertEquals(2, result.get("threadsAsked").asInt());
            assertEquals(1, result.get("tableMiB").asInt());
            assertEquals(49152, result.get("entries").asLong()); // 0.75 of 65,536 slots
            assertTrue(result.get("mops").asDouble() > 0, result.toString());
            assertTrue(result.get("bytesPerEntry").asDouble() > 0, result.toString());
            assertEquals(0, result.get("wrong").asLong(), "every lookup found its value: " + result);
            assertTrue(result.get("limitMops").asDouble() > 0, "the limit measured beside it: " + result);
        }
        assertTrue(r.out().contains("limit: M random 64-byte lines/s measured beside the row"), r.out());
        JsonNode unbatched = report.get("results").get(4);
        assertEquals("hashkernel-unbatched", unbatched.get("impl").asText());
        assertEquals((65536 * 16 + 64) / 49152.0, unbatched.get("bytesPerEntry").asDouble(), 1e-9);
        assertTrue(report.get("results").get(0).get("memory").asText().contains("prefetch"));
    }

    @Test
    void theGrowingTableStartsSmallAndGrows(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("g.json");
        Run r = run("--no-fork", "--impl", "hashkernel-growing", "--op", "insert,find", "--dist", "uniform",
                "--table-mib", "1", "--threads", "2", "--seconds", "0.2", "--warmup", "0", "--initial-capacity", "16",
                "--no-limit", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertEquals(16, report.get("config").get("initialCapacity").asLong());
        assertEquals(2, report.get("results").size());
        assertTrue(report.get("results").get(0).get("limitMops").isNull(), "--no-limit: no limit beside it");
        for (JsonNode result : report.get("results")) {
            assertEquals(0, result.get("wrong").asLong(), result.toString());
            assertTrue(result.get("mops").asDouble() > 0, result.toString());
            assertTrue(result.get("memory").asText().matches(".*grown to \\d+ slots in [1-9]\\d* migrations.*"),
                    result.toString());
        }
        Run bad = run("--initial-capacity", "0");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--initial-capacity must be between 1 and 2^58 slots, was 0"), bad.err());
    }

    @Test
    void insertInChildJvmsWithAReport(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("i.json");
        Path html = dir.resolve("report");
        Run r = run("--impl", "hashkernel,hashkernel-unbatched,agrona,chronicle", "--op", "insert",
                "--dist", "uniform,zipf:1.2", "--table-mib", "1", "--threads", "2", "--seconds", "0.5",
                "--warmup", "0.2", "--batch", "7", "--no-limit", "--json", json.toString(), "--report", html.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertTrue(report.get("limitMops").isNull(), "--no-limit");
        assertEquals(4 * 2, report.get("results").size(), report.toString());
        for (JsonNode result : report.get("results")) {
            assertEquals("insert", result.get("op").asText());
            long entries = result.get("entries").asLong();
            if (result.get("dist").asText().equals("uniform")) {
                assertEquals(49152, entries, "the first round inserted every entry: " + result);
                assertTrue(result.get("ops").asLong() >= 49152, result.toString());
                assertTrue(result.get("bytesPerEntry").asDouble() > 0, "a full map's size: " + result);
            } else {
                assertTrue(entries > 0 && entries <= 49152, "distinct keys of a skewed insert: " + result);
                assertTrue(result.get("ops").asLong() > entries, "hot keys written again: " + result);
                assertEquals(entries < 49152, result.get("bytesPerEntry").isNull(),
                        "a map still filling has no size per entry, a full one has: " + result);
            }
            assertEquals(result.get("impl").asText().equals("agrona") ? 1 : 2, result.get("threads").asInt());
        }
        assertTrue(report.get("results").get(0).get("memory").asText().contains("batch 7"));
        String page = Files.readString(html.resolve("report.html"));
        assertTrue(page.contains("<img src=\"mops-1.png\"") && page.contains("<img src=\"bytes-per-entry.png\""), page);
        for (String png : new String[] {"mops-1.png", "bytes-per-entry.png"}) {
            byte[] bytes = Files.readAllBytes(html.resolve(png));
            assertTrue(bytes.length > 1000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', png);
        }
    }

    @Test
    void paperPlansTwoTablesWithinItsBudget() {
        CommandLine cl = HtBench.commandLine(System.out, System.err);
        cl.parseArgs("--paper", "--threads", "2", "--budget-minutes", "15");
        HtBench bench = cl.getCommand();
        MachineInfo machine = MachineInfo.of(2, 24L << 30, 0, 1L << 20);
        HtBench.Plan plan = bench.plan(machine);
        assertEquals(4, plan.workloads().size(), plan.toString());
        assertEquals(List.of(1L, 1024L), plan.sizes(), "the cpuinfo cache size, and the default large table");
        assertTrue(bench.estimateSeconds(plan) <= 15 * 60, "estimate " + bench.estimateSeconds(plan));

        cl.parseArgs("--paper", "--threads", "2", "--budget-minutes", "8");
        HtBench.Plan tight = bench.plan(machine);
        assertTrue(tight.sizes().get(1) < 1024, "a smaller large table for a tighter budget: " + tight.sizes());
        assertTrue(bench.estimateSeconds(tight) <= 8 * 60, "estimate " + bench.estimateSeconds(tight));

        MachineInfo withLlc = MachineInfo.of(2, 24L << 30, 32L << 20, 1L << 20);
        assertEquals(16L, HtBench.smallTableMiB(withLlc), "half the LLC");
    }

    @Test
    void progressBarOnlyOnATerminal() {
        try (Progress p = Progress.open(10, 60)) {
            assertEquals(System.console() != null && System.console().isTerminal() && System.getenv("CI") == null,
                    p.shown());
            p.step(3);
        }
        assertEquals(1L << 20, MachineInfo.cacheBytes("1024 KB"));
        assertEquals(32L << 20, MachineInfo.cacheBytes("32 MB"));
        assertEquals(0, MachineInfo.cacheBytes(""));
    }

    @Test
    void aPeerThatCannotFitIsSkippedWithTheHeapItNeeds() {
        long entries = Runtime.getRuntime().maxMemory() / 10; // needs ~8x the heap at 80 bytes each
        String why = HtBench.heapShortfall(Impl.CHM, entries);
        assertTrue(why != null && why.contains("rerun with -Xmx") && why.contains("this JVM has"), why);
        assertEquals(null, HtBench.heapShortfall(Impl.HASHKERNEL_UNBATCHED, entries), "off-heap: never skipped");
        assertEquals(null, HtBench.heapShortfall(Impl.NBHML, 1000));
        long one = (long) (Runtime.getRuntime().maxMemory() / (Impl.CHM.heapBytesPerEntry * 1.25) * 0.75);
        assertEquals(null, HtBench.heapShortfall(Impl.CHM, one), "one map fits");
        String two = HtBench.heapShortfall(Impl.CHM, one, 2);
        assertTrue(two != null && two.startsWith(String.format(java.util.Locale.ROOT, "2 maps of %,d entries need", one)),
                two);
    }

    @Test
    void insertsAreMeasuredAlternatingWithTheFindsOfTheirDistribution(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("a.json");
        // "insert" twice: a workload named twice runs (and is reported) once.
        Run r = run("--no-fork", "--impl", "hashkernel,agrona", "--op", "find,insert,INSERT", "--dist", "uniform,zipf:1.09",
                "--table-mib", "1", "--threads", "2", "--seconds", "0.3", "--warmup", "0", "--no-limit",
                "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertTrue(report.get("config").get("interleave").asBoolean());
        assertEquals(8, report.get("results").size());
        Map<String, JsonNode> byCell = new HashMap<>();
        for (JsonNode result : report.get("results")) {
            String op = result.get("op").asText();
            String dist = result.get("dist").asText();
            byCell.put(result.get("impl").asText() + " " + op + " " + dist, result);
            assertEquals((op.equals("insert") ? "find " : "insert ") + dist, result.get("alternatedWith").asText(),
                    result.toString());
            assertEquals(0, result.get("wrong").asLong(), result.toString());
            assertTrue(result.get("seconds").asDouble() >= 0.25, "every slice measured: " + result);
            if (op.equals("insert") && dist.equals("uniform")) {
                assertEquals(49152, result.get("entries").asLong(), "the first round filled its map: " + result);
                assertTrue(result.get("bytesPerEntry").asDouble() > 0, result.toString());
            }
        }
        for (String impl : new String[] {"hashkernel", "agrona"}) {
            for (String dist : new String[] {"uniform", "zipf:1.09"}) {
                double ratio = byCell.get(impl + " insert " + dist).get("mops").asDouble()
                        / byCell.get(impl + " find " + dist).get("mops").asDouble();
                String line = "against find " + dist + ", measured alternating with it in the same JVM: ";
                int at = r.out().indexOf(line);
                assertTrue(at >= 0, r.out());
                String ratios = r.out().substring(at + line.length(), r.out().indexOf('\n', at));
                assertTrue(ratios.contains(String.format(java.util.Locale.ROOT, "%s %.2fx", impl, ratio)),
                        ratios + " should give " + impl + "'s insert/find " + ratio);
            }
        }

        Path apart = dir.resolve("b.json");
        Run seq = run("--no-fork", "--impl", "hashkernel", "--op", "find,insert", "--dist", "uniform",
                "--table-mib", "1", "--threads", "2", "--seconds", "0.2", "--warmup", "0", "--no-limit",
                "--no-interleave", "--json", apart.toString());
        assertEquals(0, seq.code(), seq.err());
        JsonNode sequential = new ObjectMapper().readTree(apart.toFile());
        assertFalse(sequential.get("config").get("interleave").asBoolean());
        for (JsonNode result : sequential.get("results")) {
            assertTrue(result.get("alternatedWith").isNull(), result.toString());
        }
        assertFalse(seq.out().contains("measured alternating"), seq.out());
    }

    @Test
    void insertsAreReportedAgainstTheClaimLimitAndFindsAreNot(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("c.json");
        Run r = run("--no-fork", "--impl", "hashkernel", "--op", "find,insert", "--dist", "uniform",
                "--table-mib", "1", "--threads", "1", "--seconds", "0.2", "--warmup", "0", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        double claims = report.get("limits").get(0).get("claimMops").asDouble();
        assertTrue(claims > 0, report.get("limits").toString());
        assertTrue(r.out().contains("<- claimMops, for the inserts"), r.out());
        double insert = 0;
        for (JsonNode result : report.get("results")) {
            if (result.get("op").asText().equals("insert")) {
                insert = result.get("mops").asDouble();
            }
        }
        String line = String.format(java.util.Locale.ROOT, "against the claim limit at the start, %.2f M lines/s", claims);
        int at = r.out().indexOf(line);
        assertTrue(at >= 0, r.out());
        assertTrue(r.out().substring(at, r.out().indexOf('\n', at))
                        .endsWith(String.format(java.util.Locale.ROOT, "hashkernel %.0f%%", 100 * insert / claims)),
                r.out());
        assertEquals(1, r.out().split("against the claim limit", -1).length - 1, "under the insert table only: " + r.out());

        Path finds = dir.resolve("f.json");
        Run f = run("--no-fork", "--impl", "hashkernel", "--op", "find", "--dist", "uniform",
                "--table-mib", "1", "--threads", "1", "--seconds", "0.2", "--warmup", "0", "--json", finds.toString());
        assertEquals(0, f.code(), f.err());
        assertTrue(new ObjectMapper().readTree(finds.toFile()).get("limits").get(0).get("claimMops").isNull(),
                "no inserts, no claim limit");
        assertFalse(f.out().contains("claim"), f.out());
    }

    @Test
    void keyStreamsAreDistinctAndInRange() {
        Set<Long> keys = new HashSet<>();
        for (long i = 0; i < 100_000; i++) {
            assertTrue(keys.add(Keys.key(i)), "key(" + i + ") repeats");
        }
        long state = Keys.seed(42, 0);
        long n = 1000;
        int[] counts = new int[(int) n];
        for (int i = 0; i < 1_000_000; i++) {
            state = Keys.next(state);
            long index = Keys.below(state, n);
            assertTrue(index >= 0 && index < n);
            counts[(int) index]++;
        }
        for (int c : counts) {
            assertTrue(c > 800 && c < 1200, "uniform within 20%: " + c);
        }
    }
}
