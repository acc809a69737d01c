package io.hashkernel.bench.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** kernelbench end to end, briefly: the fields its JSON promises, and bad options refused with what is allowed. */
class KernelBenchTest {

    @Test
    void aShortRunWithCrashesWritesEveryFieldAndLosesNothing(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("k.json");
        int code = new CommandLine(new KernelBench()).execute("--seconds", "1.2", "--rounds", "2",
                "--crash-every-ms", "50", "--keys", "1024", "--dir", dir.toString(), "--json", json.toString());
        assertEquals(0, code, "kernelbench exits 0 when nothing was lost or leaked and no invariant broke");
        JsonNode k = new ObjectMapper().readTree(json.toFile());
        for (String field : new String[]{"calls", "crashes", "restarts", "acknowledgedWrites", "lostAcknowledgedWrites",
                "leakedFrames", "invariantViolations", "ipcRoundTripNs", "throughputWithCrashes",
                "throughputWithoutCrashes"}) {
            assertTrue(k.has(field), "missing " + field + " in " + k);
        }
        assertEquals(0, k.get("lostAcknowledgedWrites").asLong());
        assertEquals(0, k.get("leakedFrames").asLong());
        assertEquals(0, k.get("invariantViolations").asLong());
        assertEquals(0, k.get("readMismatches").asLong());
        assertTrue(k.get("crashes").asLong() >= 4, "two windows of 0.6 s with a crash every 50 ms: " + k.get("crashes"));
        assertTrue(k.get("restarts").asLong() >= k.get("crashes").asLong() - 2, k.toString());
        assertTrue(k.get("acknowledgedWrites").asLong() > 0 && k.get("calls").asLong() > 0, k.toString());
        assertTrue(k.get("ipcRoundTripNs").asDouble() > 0, k.toString());
        assertEquals(0, k.get("withoutCrashes").get("crashes").asLong());
    }

    @Test
    void badOptionsSayWhatIsAllowed() {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new KernelBench()).setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("--batch", "31"));
        assertTrue(err.toString().contains("--batch 1..30"), err.toString());
        assertEquals(2, new CommandLine(new KernelBench()).setErr(new PrintWriter(err)).execute("--rounds", "0"));
        assertTrue(err.toString().contains("--rounds 1..1000"), err.toString());
    }
}
