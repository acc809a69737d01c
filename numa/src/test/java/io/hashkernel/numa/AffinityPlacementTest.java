package io.hashkernel.numa;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Pinning threads and placing regions on this (one-node) machine, checked against the kernel's view. */
class AffinityPlacementTest {

    private static String allowedList() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
            if (line.startsWith("Cpus_allowed_list:")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        throw new AssertionError("no Cpus_allowed_list in /proc/thread-self/status");
    }

    @Test
    void pinAThreadAndReadItBack() throws Exception {
        assumeTrue(Affinity.available(), "needs Linux and native access");
        CpuList online = Topology.read().onlineCpus();
        int last = online.toArray()[online.size() - 1];
        AtomicReference<Object> seen = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                Affinity.pin(last);
                seen.set(new String[] {Affinity.current().toString(), allowedList()});
                Affinity.pinToNode(Topology.read().nodes().get(0).id());
            } catch (Throwable e) {
                seen.set(e);
            }
        });
        t.join();
        assertTrue(seen.get() instanceof String[], String.valueOf(seen.get()));
        String[] lists = (String[]) seen.get();
        assertEquals(Integer.toString(last), lists[0], "sched_getaffinity after pinning");
        assertEquals(Integer.toString(last), lists[1], "the kernel's Cpus_allowed_list agrees");
    }

    @Test
    void badCpuAndNodeNumbersSayWhatThereIs() {
        assumeTrue(Affinity.available(), "needs Linux and native access");
        CpuList online = Topology.read().onlineCpus();
        IllegalArgumentException cpu = assertThrows(IllegalArgumentException.class, () -> Affinity.pin(online.bound() + 100));
        assertEquals("CPU " + (online.bound() + 100) + " is not online; online CPUs: " + online, cpu.getMessage());
        IllegalArgumentException node = assertThrows(IllegalArgumentException.class, () -> Affinity.pinToNode(99));
        assertTrue(node.getMessage().startsWith("no NUMA node 99; this machine has node(s) "), node.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NodePolicy.bind(99));
        assertThrows(IllegalArgumentException.class, () -> NodePolicy.interleave(CpuList.of(0, 99)));
        assertThrows(IllegalArgumentException.class, () -> Affinity.pin(CpuList.empty()));
    }

    @Test
    void bindAndInterleaveARegionAndReportIt() {
        assumeTrue(Affinity.available(), "needs Linux and native access");
        int node = Topology.read().memoryNodes().toArray()[0];
        try (Region bound = Memory.allocate(8L << 20, 64, NodePolicy.bind(node));
             Region spread = Memory.allocate(8L << 20, 64, NodePolicy.interleaveAll());
             Region plain = Memory.allocate(8L << 20, 64)) {
            assertEquals("bind node " + node + " (applied)", bound.placement().nodePolicy());
            assertEquals("interleave " + Topology.read().memoryNodes() + " (applied)", spread.placement().nodePolicy());
            assertEquals("default (first touch)", plain.placement().nodePolicy());
            assertTrue(bound.placement().describe().contains("bind node " + node), bound.placement().describe());
            bound.segment().fill((byte) 7);   // the pages can be touched where they were bound
            spread.segment().fill((byte) 7);
            assertEquals(7, bound.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, (8L << 20) - 1));
        }
    }

    @Test
    void aPolicyTheKernelRefusesIsReportedAndTheRegionStillWorks() {
        assumeTrue(Affinity.available(), "needs Linux and native access");
        int missing = Topology.read().nodeIds().bound() + 5;      // no such node: the kernel says EINVAL
        try (Region r = Memory.allocate(4L << 20, 64, new NodePolicy(NodePolicy.Mode.BIND, CpuList.of(missing)))) {
            assertTrue(r.placement().nodePolicy().startsWith("bind node " + missing + " (refused: ")
                    && r.placement().nodePolicy().contains("errno"), r.placement().nodePolicy());
            r.segment().fill((byte) 3);
            assertEquals(3, r.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 12345));
        }
    }

    @Test
    void arenaRegionsSayAPolicyWasNotApplied() {
        String before = System.getProperty(Memory.MODE_PROPERTY);
        System.setProperty(Memory.MODE_PROPERTY, "arena");
        try (Region r = Memory.allocate(1 << 20, 64, new NodePolicy(NodePolicy.Mode.BIND, CpuList.of(0)))) {
            assertEquals("bind node 0 (not applied: Arena memory cannot be placed)", r.placement().nodePolicy());
        } finally {
            if (before == null) {
                System.clearProperty(Memory.MODE_PROPERTY);
            } else {
                System.setProperty(Memory.MODE_PROPERTY, before);
            }
        }
    }
}
