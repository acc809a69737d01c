package io.hashkernel.numa;

import org.junit.jupiter.api.Test;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Fixture sysfs trees of three machines parse to the right topology; the real one parses too. */
class TopologyTest {

    private static Topology fixture(String name) throws URISyntaxException {
        return Topology.read(Path.of(TopologyTest.class.getResource("/sysfs/" + name).toURI()));
    }

    @Test
    void laptopIsOneNodeOfFourCoresWithSmt() throws Exception {
        Topology t = fixture("laptop");
        assertTrue(t.fromSysfs());
        assertEquals(List.of(new Topology.Node(0, CpuList.parse("0-7"), 16L << 30)), t.nodes());
        assertEquals(CpuList.parse("0-7"), t.onlineCpus());
        assertTrue(t.offlineCpus().isEmpty());
        assertEquals(1, t.packages());
        assertEquals(4, t.cores(), "8 cpus, SMT siblings n and n+4");
        assertEquals(8L << 20, t.llcBytes().getAsLong());
        assertEquals("1 NUMA node [node 0: cpus 0-7, 16.0 GiB], 1 socket, 4 cores, 8 cpus online, LLC 8 MiB",
                t.describe());
    }

    @Test
    void twoSocketServerWithSmt() throws Exception {
        Topology t = fixture("two-socket-smt");
        assertEquals(2, t.nodes().size());
        assertEquals(CpuList.parse("0-7,16-23"), t.node(0).cpus());
        assertEquals(CpuList.parse("8-15,24-31"), t.node(1).cpus());
        assertEquals(64L << 30, t.node(1).memoryBytes());
        assertEquals(CpuList.parse("0-1"), t.memoryNodes());
        assertEquals(2, t.packages());
        assertEquals(16, t.cores());
        assertEquals(32, t.cpus().size());
        assertEquals(1, t.cpus().get(24).node(), "cpu 24 is on node 1");
        assertEquals(1, t.cpus().get(24).packageId());
        assertEquals(32L << 20, t.llcBytes().getAsLong());
    }

    @Test
    void offlineCpusAndAMemorylessNode() throws Exception {
        Topology t = fixture("offline-memoryless");
        assertEquals(CpuList.parse("0-5"), t.onlineCpus());
        assertEquals(CpuList.parse("6-7"), t.offlineCpus());
        assertEquals(CpuList.parse("4-5"), t.node(1).cpus(), "offline cpus 6-7 left out of node 1");
        assertFalse(t.node(1).hasMemory());
        assertEquals(CpuList.of(0), t.memoryNodes());
        assertTrue(t.llcBytes().isEmpty(), "no cache directory in this tree");
        assertTrue(t.describe().contains("node 1: cpus 4-5, no memory") && t.describe().contains("(offline: 6-7)"),
                t.describe());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.node(7));
        assertEquals("no NUMA node 7; this machine has node(s) 0-1", e.getMessage());
        IllegalArgumentException noMemory = assertThrows(IllegalArgumentException.class,
                () -> NodePolicy.check(CpuList.of(1), t));
        assertEquals("NUMA node 1 has no memory; nodes with memory: 0", noMemory.getMessage());
    }

    @Test
    void aTreeWithoutNodesIsOneNodeOfEveryOnlineCpu(@org.junit.jupiter.api.io.TempDir Path empty) {
        Topology t = Topology.read(empty);
        assertFalse(t.fromSysfs());
        assertEquals(1, t.nodes().size());
        assertEquals(Runtime.getRuntime().availableProcessors(), t.onlineCpus().size());
        assertTrue(t.describe().contains("(sysfs has none: assumed)"), t.describe());
    }

    @Test
    void thisMachine() {
        Topology t = Topology.read();
        assertFalse(t.nodes().isEmpty());
        assertTrue(t.onlineCpus().size() >= 1);
        assertEquals(t.onlineCpus().size(), t.cpus().size());
        assertFalse(t.memoryNodes().isEmpty(), t.describe());
    }

    @Test
    void cpuListsParseAndPrintInTheKernelsFormat() {
        assertEquals("0-3,8,10-11", CpuList.parse("0-3,8,10-11\n").toString());
        assertEquals(CpuList.of(3, 1, 2, 2), CpuList.parse("1-3"));
        assertEquals(7, CpuList.parse("0-3,8,10-11").size());
        assertTrue(CpuList.parse(" ").isEmpty());
        assertEquals("0-1", CpuList.parse("0-3").minus(CpuList.parse("2-5")).toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuList.parse("0-3,x"));
        assertTrue(e.getMessage().contains("part 'x'") && e.getMessage().contains("0-3,8"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuList.parse("5-2"));
        assertThrows(IllegalArgumentException.class, () -> CpuList.of(-1));
    }
}
