package io.hashkernel.kafka;

import io.hashkernel.bytes.BytesMap;
import io.hashkernel.pm.PersistentBytesMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.processor.BatchingStateRestoreCallback;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.query.PositionBound;
import org.apache.kafka.streams.query.Query;
import org.apache.kafka.streams.query.QueryConfig;
import org.apache.kafka.streams.query.QueryResult;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.internals.StoreQueryUtils;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * A Kafka Streams key-value store whose state is a HashKernel {@link BytesMap}: in memory a
 * {@code ConcurrentBytesMap}, durable a {@code PersistentBytesMap} in the task's state directory.
 * Gets and puts are hash lookups off the Java heap; ranges are answered from a sorted snapshot of
 * the keys.
 *
 * <p>Guarantees, as Kafka's own stores give them: {@code put(k, null)} deletes; restore from
 * the changelog goes through the batch {@link #putAll}; {@link #range}, {@link #reverseRange},
 * {@link #all}, {@link #reverseAll} and {@link #prefixScan} are inclusive of both bounds (a
 * {@code null} bound is open), in unsigned lexicographic key order, and never throw
 * {@code ConcurrentModificationException}: they iterate a snapshot of the keys taken when they
 * are created, and read each key's value when they reach it (a key deleted meanwhile is
 * skipped). Cost: a range or scan copies and sorts the matching keys, after a pass over every key
 * (a hash table has no order): use the ranges for occasional scans, not per record. Operations on
 * a store that is not open, and iterators of a closed store, throw
 * {@link InvalidStateStoreException}; closing the store closes its open iterators.
 */
final class HashKernelKeyValueStore implements KeyValueStore<Bytes, byte[]> {

    /** Opens the map for a task: in memory, or durable in its state directory. */
    interface Opener {
        BytesMap open(StateStoreContext context, String name);
    }

    private final String name;
    private final boolean persistent;
    private final Opener opener;
    private final Position position = Position.emptyPosition();
    private final Set<SnapshotIterator> openIterators = ConcurrentHashMap.newKeySet();
    private StateStoreContext context;
    private volatile BytesMap map;
    private volatile boolean open;

    HashKernelKeyValueStore(String name, boolean persistent, Opener opener) {
        this.name = name;
        this.persistent = persistent;
        this.opener = opener;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void init(StateStoreContext context, StateStore root) {
        this.map = opener.open(context, name);
        this.context = context;
        if (root != null) {
            context.register(root, (BatchingStateRestoreCallback) this::restoreAll);
        }
        open = true;
    }

    /** The changelog's records in one batch (one write of the map); a null value is a delete. */
    private void restoreAll(Collection<KeyValue<byte[], byte[]>> records) {
        byte[][] keys = new byte[records.size()][];
        byte[][] values = new byte[keys.length][];
        int i = 0;
        for (KeyValue<byte[], byte[]> r : records) {
            keys[i] = r.key;
            values[i++] = r.value;
        }
        map.putAll(keys, values);
    }

    /** A put, or a delete where {@code value} is null (the store's and the changelog's convention). */
    private static void write(BytesMap m, byte[] key, byte[] value) {
        if (value == null) {
            m.remove(key);
        } else {
            m.set(key, value);
        }
    }

    @Override
    public boolean persistent() {
        return persistent;
    }

    /**
     * Kafka commits: a durable store forces its log (what Kafka then records in its checkpoint
     * file is on disk); an in-memory one has nothing to do.
     */
    @Override
    public void commit(Map<TopicPartition, Long> changelogOffsets) {
        if (openMap() instanceof PersistentBytesMap p) {
            p.flush();
        }
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    private BytesMap openMap() {
        BytesMap m = map;
        if (!open || m == null) {
            throw new InvalidStateStoreException("Store " + name + " is currently closed.");
        }
        return m;
    }

    private static byte[] keyBytes(Bytes key) {
        return Objects.requireNonNull(key, "key cannot be null").get();
    }

    @Override
    public byte[] get(Bytes key) {
        return openMap().get(keyBytes(key));
    }

    @Override
    public void put(Bytes key, byte[] value) {
        write(openMap(), keyBytes(key), value);
        StoreQueryUtils.updatePosition(position, context);
    }

    @Override
    public byte[] putIfAbsent(Bytes key, byte[] value) {
        BytesMap m = openMap();
        byte[] k = keyBytes(key);
        if (value == null) {
            return m.get(k); // putting null where absent changes nothing
        }
        byte[] current = m.putIfAbsent(k, value);
        StoreQueryUtils.updatePosition(position, context);
        return current;
    }

    @Override
    public void putAll(List<KeyValue<Bytes, byte[]>> entries) {
        BytesMap m = openMap();
        byte[][] keys = new byte[entries.size()][];
        byte[][] values = new byte[keys.length][];
        for (int i = 0; i < keys.length; i++) {
            KeyValue<Bytes, byte[]> e = entries.get(i);
            keys[i] = keyBytes(e.key);
            values[i] = e.value;
        }
        m.putAll(keys, values); // one write of the map (one flush, where it is durable)
        StoreQueryUtils.updatePosition(position, context);
    }

    @Override
    public byte[] delete(Bytes key) {
        byte[] old = openMap().remove(keyBytes(key));
        StoreQueryUtils.updatePosition(position, context);
        return old;
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> range(Bytes from, Bytes to) {
        return range(from, to, false);
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> reverseRange(Bytes from, Bytes to) {
        return range(from, to, true);
    }

    private KeyValueIterator<Bytes, byte[]> range(Bytes from, Bytes to, boolean reverse) {
        byte[] lo = from == null ? null : from.get();
        byte[] hi = to == null ? null : to.get();
        if (lo != null && hi != null && Arrays.compareUnsigned(lo, hi) > 0) {
            // Kafka's stores answer an inverted range (often a serde that does not keep order) empty.
            return iterator(k -> false, reverse);
        }
        return iterator(k -> (lo == null || Arrays.compareUnsigned(k, lo) >= 0)
                && (hi == null || Arrays.compareUnsigned(k, hi) <= 0), reverse);
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> all() {
        return iterator(k -> true, false);
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> reverseAll() {
        return iterator(k -> true, true);
    }

    @Override
    public <PS extends Serializer<P>, P> KeyValueIterator<Bytes, byte[]> prefixScan(P prefix, PS prefixKeySerializer) {
        Objects.requireNonNull(prefix, "prefix cannot be null");
        Objects.requireNonNull(prefixKeySerializer, "prefixKeySerializer cannot be null");
        byte[] p = prefixKeySerializer.serialize(null, prefix);
        return iterator(k -> k.length >= p.length && Arrays.equals(k, 0, p.length, p, 0, p.length), false);
    }

    private KeyValueIterator<Bytes, byte[]> iterator(Predicate<byte[]> wanted, boolean reverse) {
        BytesMap m = openMap();
        List<byte[]> keys = new ArrayList<>();
        m.forEachKey(k -> {
            if (wanted.test(k)) {
                keys.add(k);
            }
        });
        keys.sort(reverse ? (a, b) -> Arrays.compareUnsigned(b, a) : Arrays::compareUnsigned);
        SnapshotIterator it = new SnapshotIterator(m, keys);
        openIterators.add(it);
        return it;
    }

    @Override
    public long approximateNumEntries() {
        return openMap().size();
    }

    @Override
    public void close() {
        if (!open && map == null) {
            return;
        }
        open = false;
        for (SnapshotIterator it : List.copyOf(openIterators)) {
            it.close();
        }
        BytesMap m = map;
        map = null;
        if (m != null) {
            m.close();
        }
    }

    @Override
    public Position getPosition() {
        return position;
    }

    @Override
    public <R> QueryResult<R> query(Query<R> query, PositionBound positionBound, QueryConfig config) {
        return StoreQueryUtils.handleBasicQueries(query, positionBound, config, this, position, context);
    }

    /** Keys copied and sorted at creation; values read as each key is reached. */
    private final class SnapshotIterator implements KeyValueIterator<Bytes, byte[]> {
        private final BytesMap source;
        private final List<byte[]> keys;
        private int at;
        private KeyValue<Bytes, byte[]> next;
        private volatile boolean closed;

        SnapshotIterator(BytesMap source, List<byte[]> keys) {
            this.source = source;
            this.keys = keys;
        }

        @Override
        public boolean hasNext() {
            if (closed) {
                throw new InvalidStateStoreException("the iterator of store " + name + " is closed");
            }
            while (next == null && at < keys.size()) {
                byte[] k = keys.get(at++);
                byte[] v;
                try {
                    v = source.get(k);
                } catch (IllegalStateException e) {
                    throw new InvalidStateStoreException("Store " + name + " is closed", e);
                }
                if (v != null) {
                    next = KeyValue.pair(Bytes.wrap(k), v);
                }
            }
            return next != null;
        }

        @Override
        public KeyValue<Bytes, byte[]> next() {
            if (!hasNext()) {
                throw new NoSuchElementException("no more entries in the iterator of store " + name);
            }
            KeyValue<Bytes, byte[]> kv = next;
            next = null;
            return kv;
        }

        @Override
        public Bytes peekNextKey() {
            if (!hasNext()) {
                throw new NoSuchElementException("no more entries in the iterator of store " + name);
            }
            return next.key;
        }

        @Override
        public void close() {
            closed = true;
            openIterators.remove(this);
        }
    }
}
