package io.hashkernel.kernel.kv;

import io.hashkernel.kernel.DomainContext;
import io.hashkernel.pm.Durability;
import io.hashkernel.pm.PersistentLongLongTable;
import io.hashkernel.pm.Persistence;
import io.hashkernel.table.ConcurrentLongLongTable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The store domain: its data in a HashKernel table in the domain's own frames (revoked when the
 * domain dies), made durable by a redo-log {@link PersistentLongLongTable} before it is changed.
 * An incarnation opens the file (recovering it), loads it into a fresh table, and lets the file
 * go as a crash would when it ends.
 */
final class DurableKvStore implements KvStore {
    private final PersistentLongLongTable durable;
    private final ConcurrentLongLongTable table;
    private final CrashSwitch crashes;
    private final long maxKeys;
    private long[] scratch = new long[0];

    private DurableKvStore(PersistentLongLongTable durable, ConcurrentLongLongTable table, CrashSwitch crashes,
                           long maxKeys) {
        this.durable = durable;
        this.table = table;
        this.crashes = crashes;
        this.maxKeys = maxKeys;
    }

    /** A domain factory's work: open and recover the file, load it into the domain's frames. */
    static KvStore open(DomainContext context, Path file, long capacity, long checkpointBytes, CrashSwitch crashes) {
        PersistentLongLongTable durable;
        try {
            durable = PersistentLongLongTable.builder(file).capacity(capacity).missingValue(KvService.MISSING)
                    .persistence(Persistence.REDO_LOG).durability(Durability.BATCH).checkpointBytes(checkpointBytes).open();
        } catch (IOException e) {
            throw new UncheckedIOException("opening the store's file " + file, e);
        }
        context.closeOnRevoke(durable::abandon);
        ConcurrentLongLongTable table = ConcurrentLongLongTable.builder().capacity(capacity)
                .missingValue(KvService.MISSING).memory(context.memory()).build();
        durable.forEach(table::put);
        return new DurableKvStore(durable, table, crashes, capacity / 4 * 3);
    }

    @Override
    public boolean putAll(long[] keys, long[] values, int n) {
        if (table.size() + n > maxKeys && table.size() + absent(keys, n) > maxKeys) {
            return false;
        }
        crashes.at(CrashSwitch.Point.BEFORE_LOG);
        durable.putAll(keys, 0, values, 0, n);
        crashes.at(CrashSwitch.Point.AFTER_LOG);
        int half = n / 2;
        table.putAll(keys, 0, values, 0, half);
        crashes.at(CrashSwitch.Point.MID_TABLE);
        table.putAll(keys, half, values, half, n - half);
        return true;
    }

    /** How many of the {@code n} keys the table does not hold (a key twice in them counts twice). */
    private int absent(long[] keys, int n) {
        if (scratch.length < n) {
            scratch = new long[n];
        }
        table.getAll(keys, 0, scratch, 0, n);
        int absent = 0;
        for (int i = 0; i < n; i++) {
            absent += scratch[i] == KvService.MISSING ? 1 : 0;
        }
        return absent;
    }

    @Override
    public void getAll(long[] keys, long[] values, int n) {
        int half = n / 2;
        table.getAll(keys, 0, values, 0, half);
        crashes.at(CrashSwitch.Point.MID_READ);
        table.getAll(keys, half, values, half, n - half);
    }

    /** Closes the file cleanly (the service's orderly stop); the incarnation can do nothing more. */
    void close() {
        durable.close();
    }

    @Override
    public long size() {
        return table.size();
    }
}
