package io.hashkernel.kafka;

import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The durable store: what a restarted instance finds in its state directory, and its refusals. */
class PersistentStoreTest {

    static Bytes k(String s) {
        return Bytes.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] v(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theSupplierMakesADurableStorePerTask() {
        KeyValueBytesStoreSupplier s = HashKernelStores.persistentKeyValueStore("counts");
        assertEquals("counts", s.name());
        assertEquals("hashkernel-persistent", s.metricsScope());
        KeyValueStore<Bytes, byte[]> store = s.get();
        assertTrue(store.persistent());
        assertFalse(store.isOpen());
        assertTrue(store != s.get(), "a new store for each task");
        assertThrows(NullPointerException.class, () -> HashKernelStores.persistentKeyValueStore(null));
        assertThrows(NullPointerException.class, () -> HashKernelStores.persistentKeyValueStore("x", null));
    }

    @Test
    void aReopenedStoreHoldsWhatWasCommitted(@TempDir Path dir) throws Exception {
        MockProcessorContext<Object, Object> context = StoreModelProperties.contextIn(dir);
        KeyValueStore<Bytes, byte[]> store = StoreModelProperties.openPersistent(context);
        for (int i = 0; i < 1000; i++) {
            store.put(k("key-" + i), v("value-" + i));
        }
        store.delete(k("key-7"));
        store.putAll(List.of(KeyValue.pair(k("key-8"), null), KeyValue.pair(k("new"), v("n"))));
        store.commit(Map.of());
        KeyValueIterator<Bytes, byte[]> open = store.all();
        store.close();
        assertFalse(store.isOpen());
        assertThrows(InvalidStateStoreException.class, open::hasNext, "closing closed the iterator");
        assertThrows(InvalidStateStoreException.class, () -> store.get(k("key-1")));
        Path files = context.getStateStoreContext().stateDir().toPath().resolve("hashkernel").resolve("model");
        assertTrue(Files.isDirectory(files), "the map's files are in the task's state directory: " + files);

        KeyValueStore<Bytes, byte[]> reopened = StoreModelProperties.openPersistent(context);
        try {
            assertEquals(999, reopened.approximateNumEntries());
            assertArrayEquals(v("value-1"), reopened.get(k("key-1")));
            assertNull(reopened.get(k("key-7")));
            assertNull(reopened.get(k("key-8")));
            assertArrayEquals(v("n"), reopened.get(k("new")));
            List<String> range = new ArrayList<>();
            try (KeyValueIterator<Bytes, byte[]> it = reopened.range(k("key-10"), k("key-12"))) {
                it.forEachRemaining(kv -> range.add(new String(kv.key.get(), StandardCharsets.UTF_8)));
            }
            assertEquals(List.of("key-10", "key-100", "key-101", "key-102", "key-103", "key-104", "key-105", "key-106",
                    "key-107", "key-108", "key-109", "key-11", "key-110", "key-111", "key-112", "key-113", "key-114",
                    "key-115", "key-116", "key-117", "key-118", "key-119", "key-12"), range);
        } finally {
            reopened.close();
        }
    }

    @Test
    void aSecondStoreOnTheSameDirectoryIsRefusedClearly(@TempDir Path dir) {
        MockProcessorContext<Object, Object> context = StoreModelProperties.contextIn(dir);
        KeyValueStore<Bytes, byte[]> first = StoreModelProperties.openPersistent(context);
        try {
            ProcessorStateException e = assertThrows(ProcessorStateException.class,
                    () -> StoreModelProperties.openPersistent(context));
            assertTrue(e.getMessage().contains("LOCKED"), e.getMessage());
            first.put(k("still"), v("works"));
        } finally {
            first.close();
        }
    }
}
