package io.hashkernel.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hashkernel.table.ConcurrentLongLongTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
        assertTrue(op.err().contains("--op must be find or insert, was 'scan'"), op.err());

        Run fill = run("--fill", "1.5");
        assertTrue(fill.err().contains("--fill must be above 0 and below 1, was 1.5"), fill.err());

        Run impl = run("--impl", "hashkernel-unbatched,redis");
        assertEquals(2, impl.code());
        assertTrue(impl.err().contains("unknown implementation 'redis'")
                && impl.err().contains("hashkernel, hashkernel-unbatched, chm, nbhml"), impl.err());

        Run batch = run("--batch", "0");
        assertEquals(2, batch.code());
        assertTrue(batch.err().contains("--batch must be between 1 and 4096, was 0"), batch.err());
    }

    @Test
    void findRunsEveryImplementationAndWritesJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("r.json");
        Run r = run("--no-fork", "--table-mib", "1", "--threads", "2", "--seconds", "0.2", "--warmup", "0",
                "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        for (String impl : new String[] {"hashkernel", "hashkernel-unbatched", "chm", "nbhml"}) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(impl + " ") && l.contains("%")), r.out());
        }
        assertTrue(r.out().contains("% of limit") && r.out().contains("<- limitMops"), r.out());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertTrue(report.get("machine").get("cpus").asInt() > 0);
        assertTrue(report.get("limitMops").asDouble() > 0, report.toString());
        assertEquals(3, report.get("limit").size(), "every shape of the limit probe");
        assertEquals(report.get("limitMops").asDouble(), report.get("limit").get(0).get("mops").asDouble());
        assertEquals("find", report.get("config").get("op").asText());
        assertEquals(ConcurrentLongLongTable.DEFAULT_BATCH, report.get("config").get("batch").asInt());
        assertEquals(4, report.get("results").size());
        for (JsonNode result : report.get("results")) {
            assertEquals("find", result.get("op").asText());
            assertEquals("uniform", result.get("dist").asText());
            assertEquals(2, result.get("threads").asInt());
            assertEquals(1, result.get("tableMiB").asInt());
            assertEquals(49152, result.get("entries").asLong()); // 0.75 of 65,536 slots
            assertTrue(result.get("mops").asDouble() > 0, result.toString());
            assertTrue(result.get("bytesPerEntry").asDouble() > 0, result.toString());
            assertEquals(0, result.get("wrong").asLong(), "every lookup found its value");
        }
        JsonNode hk = report.get("results").get(1);
        assertEquals("hashkernel-unbatched", hk.get("impl").asText());
        assertTrue(report.get("results").get(0).get("memory").asText().contains("prefetch"));
        assertEquals((65536 * 16 + 64) / 49152.0, hk.get("bytesPerEntry").asDouble(), 1e-9);
    }

    @Test
    void insertInAChildJvmByDefault(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("i.json");
        Run r = run("--impl", "hashkernel,hashkernel-unbatched", "--op", "insert", "--table-mib", "1", "--threads", "2",
                "--seconds", "5", "--batch", "7", "--no-limit", "--json", json.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode report = new ObjectMapper().readTree(json.toFile());
        assertTrue(report.get("limitMops").isNull(), "--no-limit");
        for (JsonNode result : report.get("results")) {
            assertEquals("insert", result.get("op").asText());
            assertEquals(49152, result.get("entries").asLong(), "inserted every entry within the time");
            assertEquals(49152, result.get("ops").asLong());
        }
        assertTrue(report.get("results").get(0).get("memory").asText().contains("batch 7"));
    }

    @Test
    void aPeerThatCannotFitIsSkippedWithTheHeapItNeeds() {
        long entries = Runtime.getRuntime().maxMemory() / 10; // needs ~8x the heap at 80 bytes each
        String why = HtBench.heapShortfall(Impl.CHM, entries);
        assertTrue(why != null && why.contains("rerun with -Xmx") && why.contains("this JVM has"), why);
        assertEquals(null, HtBench.heapShortfall(Impl.HASHKERNEL_UNBATCHED, entries), "off-heap: never skipped");
        assertEquals(null, HtBench.heapShortfall(Impl.NBHML, 1000));
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
