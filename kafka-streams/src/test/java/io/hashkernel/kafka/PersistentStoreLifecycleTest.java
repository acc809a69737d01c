package io.hashkernel.kafka;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static io.hashkernel.kafka.PersistentStoreTest.k;
import static io.hashkernel.kafka.PersistentStoreTest.v;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The durable Kafka store's lifecycle: re-initialisation after close, and what a crash leaves. */
class PersistentStoreLifecycleTest {

    /** Kafka re-initialises the same store object when it revives a task: init after close must work. */
    @Test
    void theSameStoreObjectReopensAfterCloseAndAFailedInitLeavesItClosable(@TempDir Path dir) {
        MockProcessorContext<Object, Object> context = StoreModelProperties.contextIn(dir);
        KeyValueStore<Bytes, byte[]> first = StoreModelProperties.openPersistent(context);
        KeyValueStore<Bytes, byte[]> second = HashKernelStores.persistentKeyValueStore("model").get();
        ProcessorStateException e = assertThrows(ProcessorStateException.class,
                () -> second.init(context.getStateStoreContext(), second));
        assertTrue(e.getMessage().contains("LOCKED"), e.getMessage());
        assertFalse(second.isOpen());
        second.close(); // Kafka closes a store whose init failed
        assertThrows(InvalidStateStoreException.class, () -> second.commit(Map.of()));
        first.put(k("a"), v("1"));
        first.putAll(java.util.List.of(KeyValue.pair(k("b"), v("2")), KeyValue.pair(k("a"), null)));
        first.close();
        first.close();
        first.init(context.getStateStoreContext(), first); // revived
        try {
            assertNull(first.get(k("a")));
            assertArrayEquals(v("2"), first.get(k("b")));
        } finally {
            first.close();
        }
        second.init(context.getStateStoreContext(), second); // unlocked now
        try {
            assertArrayEquals(v("2"), second.get(k("b")));
        } finally {
            second.close();
        }
    }

    /**
     * A process crash (the files as the page cache holds them) keeps every put before the last
     * commit, and of the later ones a prefix (write-behind: Kafka restores them from the changelog).
     */
    @Test
    void aProcessCrashKeepsEveryCommittedPutAndAPrefixOfTheRest(@TempDir Path dir) throws Exception {
        MockProcessorContext<Object, Object> context = StoreModelProperties.contextIn(dir);
        KeyValueStore<Bytes, byte[]> store = StoreModelProperties.openPersistent(context);
        Path files = context.getStateStoreContext().stateDir().toPath().resolve("hashkernel").resolve("model");
        Path crash = dir.resolve("crash");
        try {
            for (int i = 0; i < 500; i++) {
                store.put(k("k" + i), v("v" + i));
            }
            store.delete(k("k3"));
            store.commit(java.util.Map.of());
            for (int i = 500; i < 20_000; i++) {
                store.put(k("k" + i), new byte[100]); // 2.4 MB, past the 1 MiB buffer: some reach the file
            }
            Files.createDirectories(crash);
            try (Stream<Path> s = Files.list(files)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    if (!p.getFileName().toString().equals("lock")) {
                        Files.copy(p, crash.resolve(p.getFileName()));
                    }
                }
            }
        } finally {
            store.close();
        }
        try (io.hashkernel.pm.PersistentBytesMap m = io.hashkernel.pm.PersistentBytesMap.builder(crash).open()) {
            for (int i = 0; i < 500; i++) {
                assertTrue(i == 3 ? m.get(v("k3")) == null : Arrays.equals(v("v" + i), m.get(v("k" + i))), "k" + i);
            }
            long after = m.size() - 499;
            assertTrue(after > 0 && after < 19_500, "some uncommitted puts reached the file: " + after);
            for (int i = 500; i < 20_000; i++) {
                assertEquals(i < 500 + after, m.get(v("k" + i)) != null, "the uncommitted puts kept are a prefix, at k" + i);
            }
        }
    }
}
