/**
 * Durable HashKernel maps: a {@code long → long} table mapped from a file
 * ({@link io.hashkernel.pm.PersistentLongLongTable}) and a byte-string map on an append-only log
 * with snapshots ({@link io.hashkernel.pm.PersistentBytesMap}), whose acknowledged writes survive a
 * process crash and, in the durable modes, a power cut; and the drills that check the table
 * ({@link io.hashkernel.pm.PowerCutDrill}, {@link io.hashkernel.pm.KillDrill}).
 *
 * <p>The maps are HashKernel's own ({@code io.hashkernel.table}, {@code io.hashkernel.bytes}):
 * this module adds the files, the commit protocol and recovery, not a second map. No restricted
 * FFM calls.
 */
module io.hashkernel.pm {
    requires transitive io.hashkernel.table;
    requires transitive io.hashkernel.bytes;
    requires jdk.nio.mapmode;

    exports io.hashkernel.pm;
}
