package io.hashkernel.pm;

/**
 * When a write to a {@link PersistentLongLongTable} is acknowledged, i.e. when the call that made
 * it returns, and what it then survives.
 *
 * <table>
 *   <caption>What an acknowledged write survives</caption>
 *   <tr><th>mode</th><th>process crash (kill -9, JVM crash)</th><th>power cut, kernel crash</th><th>cost</th></tr>
 *   <tr><td>{@link #EACH}</td><td>yes</td><td>yes</td><td>one flush per single-key write</td></tr>
 *   <tr><td>{@link #BATCH}</td><td>yes</td><td>yes</td><td>one flush per bulk call or session flush</td></tr>
 *   <tr><td>{@link #NONE}</td><td>yes</td><td>no: writes since the last {@code flush()} or {@code close()} may be lost</td><td>no flush</td></tr>
 * </table>
 *
 * <p>{@code EACH} and {@code BATCH} differ only in the bulk calls ({@code putAll},
 * {@code removeAll}) and sessions: under {@code EACH} they flush per element, under
 * {@code BATCH} once per call (a session: once per batch of requests). A single-key write is its
 * own batch in both. A write is visible to other threads before it is acknowledged; after a crash
 * an unacknowledged write may or may not be there, and is never torn.
 */
public enum Durability {
    /** Every acknowledged write, single or in a bulk call, is on stable storage. */
    EACH,
    /** Every acknowledged call is on stable storage; a bulk call's writes share one flush. */
    BATCH,
    /** Acknowledged writes are in the operating system's page cache: they survive the process, not the machine. */
    NONE
}
