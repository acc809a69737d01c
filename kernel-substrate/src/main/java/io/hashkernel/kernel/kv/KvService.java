package io.hashkernel.kernel.kv;

import io.hashkernel.kernel.ContainerId;
import io.hashkernel.kernel.Domain;
import io.hashkernel.kernel.DomainSpec;
import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.KernelProcess;
import io.hashkernel.kernel.KernelThread;
import io.hashkernel.kernel.Message;
import io.hashkernel.kernel.Quota;
import io.hashkernel.kernel.RestartPolicy;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.Rights;
import io.hashkernel.kernel.ThreadSpec;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A key-value service on the kernel substrate: a store domain ({@link KvStore}) whose data lives
 * in a HashKernel table in its own frames and is made durable by the persistent backend before
 * a write is acknowledged; a server thread that takes clients' requests from an endpoint in
 * batches, calls the domain once per batch, and replies on each client's own endpoint; and a
 * supervisor thread that restarts the domain when it crashes. Clients ({@link KvClient}) see
 * an error for a request the crash caught, and retry it.
 *
 * <p>Guarantee: a write acknowledged to a client is durable, and readable after any number of
 * crashes of the store domain (the domain's new incarnation recovers the file and reloads it).
 */
public final class KvService implements AutoCloseable {

    /*
     * Implementation notes.
     *
     * Layout. The service's container holds the store domain (restart policy: never; the
     * supervisor restarts it, so each restart is counted and seen), the server process with the
     * request endpoint and the server thread, and the supervisor process and thread. Clients are
     * processes in a container of their own: each has a reply endpoint, and a capability to the
     * request endpoint (write and grant) given at connect, over which it sends the server a write
     * capability to its reply endpoint.
     *
     * Messages. A request is [op, token, seq, n, words...]; a reply [status, seq, n, values...],
     * status 0 for success or 1 + the KernelError's ordinal. PUT carries n pairs, GET n keys.
     * CONNECT carries the client's reply capability; its reply's last word is the connection's
     * token: the connection's index in its low 20 bits under 44 random ones. Every client sends
     * over the same request endpoint, so the token is what tells the server who asks: a request
     * whose token is not one the server gave out is dropped unanswered and unstored, so a client
     * cannot write or read in another's name, nor have its replies steered. A malformed request
     * (too short, n not matching its words, or a value the store cannot hold) is answered
     * INVALID_ARGUMENT and never stored: it must not reach the store, whose exception would crash
     * the domain and fail every request of the batch.
     *
     * Acknowledgement. The server gathers the writes of every request it received into one
     * putAll of the domain, which returns once the redo log's group is durable (group commit),
     * and only then replies. A crash at any point of that call (before or after the log, halfway
     * through the table) makes the call fail; the server replies with the error, and no pair of
     * that batch was acknowledged. Durable but unacknowledged pairs are the client's retry.
     */

    /** The value that means "absent" (a store cannot hold it). */
    public static final long MISSING = Long.MIN_VALUE;
    /** The most pairs one put request carries. */
    public static final int MAX_PAIRS = (Message.MAX_WORDS - 4) / 2;
    /** The most keys one get request carries. */
    public static final int MAX_KEYS = Message.MAX_WORDS - 4;

    static final long CONNECT = 1;
    static final long PUT = 2;
    static final long GET = 3;
    static final long OK = 0;

    /**
     * How to run a service.
     *
     * @param file            the store's file (created if absent)
     * @param capacity        the table's slots; the store holds up to 3/4 of it in keys, and refuses
     *                        a put that would take it further ({@link KernelError#QUOTA_EXCEEDED})
     * @param checkpointBytes redo log after which the store checkpoints (bounds a restart's replay)
     * @param crashes         the fault injection switch the store passes through
     * @param serverCpu       the CPU the server thread is pinned to, or {@link ThreadSpec#ANY_CPU}
     * @param timeout         how long a client waits for a reply before it gives up on a request
     */
    public record Config(Path file, long capacity, long checkpointBytes, CrashSwitch crashes, int serverCpu,
                         Duration timeout) {
        public Config {
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(crashes, "crashes");
            Objects.requireNonNull(timeout, "timeout");
        }

        /** A service of 2^18 slots in {@code file}, checkpointing every 4 MiB of log, not pinned, 5 s timeouts. */
        public static Config of(Path file) {
            return new Config(file, 1 << 18, 4 << 20, new CrashSwitch(), ThreadSpec.ANY_CPU, Duration.ofSeconds(5));
        }

        /** This config with {@code slots} slots. */
        public Config capacity(long slots) {
            return new Config(file, slots, checkpointBytes, crashes, serverCpu, timeout);
        }

        /** This config with the server pinned to {@code cpu}. */
        public Config serverCpu(int cpu) {
            return new Config(file, capacity, checkpointBytes, crashes, cpu, timeout);
        }
    }

    private static final int CLIENT_OBJECTS = 1024;
    private static final long INDEX_MASK = (1 << 20) - 1;
    private static final int BATCH = 64;
    // A connection's token: 44 unguessable bits over its index, so one client cannot speak for another.
    private final SecureRandom tokenSource = new SecureRandom();

    private final Kernel kernel;
    private final Config config;
    private final ContainerId container;
    private final ContainerId clients;
    private final Domain<KvStore> store;
    private final KernelProcess server;
    private final int requests;
    private final List<KernelThread> threads = new ArrayList<>();
    private final AtomicLong restarts = new AtomicLong();
    private final AtomicLong restartNanos = new AtomicLong();
    private final AtomicLong failedRestarts = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();

    private KvService(Kernel kernel, Config config, ContainerId container, ContainerId clients, Domain<KvStore> store,
                      KernelProcess server, int requests) {
        this.kernel = kernel;
        this.config = config;
        this.container = container;
        this.clients = clients;
        this.store = store;
        this.server = server;
        this.requests = requests;
    }

    /**
     * Starts a service in two new children of {@code parent}: one for the service (its domain's
     * table needs about {@code 16 × capacity} bytes of 2 MiB frames), one for its clients. On a
     * failure nothing of it remains, and the error says which step failed.
     */
    public static Result<KvService> start(Kernel kernel, ContainerId parent, Config config) {
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(config, "config");
        long tableFrames = Math.ceilDiv(config.capacity() * 16 + (config.capacity() >> 2) * 16 + 4096, 2L << 20) + 1;
        Result<ContainerId> c = kernel.newContainer(parent, new Quota(64, tableFrames, 64));
        if (!c.isOk()) {
            return cast(c);
        }
        ContainerId container = c.orElseThrow();
        Result<ContainerId> cl = kernel.newContainer(parent, new Quota(0, 0, CLIENT_OBJECTS));
        if (!cl.isOk()) {
            kernel.killContainer(container);
            return cast(cl);
        }
        Result<KvService> r = build(kernel, config, container, cl.orElseThrow());
        if (!r.isOk()) {
            kernel.killContainer(container);
            kernel.killContainer(cl.orElseThrow());
        }
        return r;
    }

    private static Result<KvService> build(Kernel kernel, Config config, ContainerId container, ContainerId clients) {
        Result<Domain<KvStore>> d = kernel.newDomain(container, new DomainSpec<>("kv-store", KvStore.class,
                ctx -> DurableKvStore.open(ctx, config.file(), config.capacity(), config.checkpointBytes(), config.crashes()),
                RestartPolicy.never()));
        if (!d.isOk()) {
            return cast(d);
        }
        Result<KernelProcess> p = kernel.newProcess(container, "kv-server");
        if (!p.isOk()) {
            return cast(p);
        }
        KernelProcess server = p.orElseThrow();
        Result<Integer> ep = kernel.newEndpoint(server, 1024);
        if (!ep.isOk()) {
            return cast(ep);
        }
        KvService s = new KvService(kernel, config, container, clients, d.orElseThrow(), server, ep.orElseThrow());
        Result<KernelThread> t = kernel.newThread(server, new ThreadSpec("kv-server", config.serverCpu(),
                ThreadSpec.Idle.BACKOFF, s.new Server()));
        if (!t.isOk()) {
            return cast(t);
        }
        s.threads.add(t.orElseThrow());
        Result<KernelProcess> sp = kernel.newProcess(container, "kv-supervisor");
        if (!sp.isOk()) {
            return cast(sp);
        }
        Result<KernelThread> st = kernel.newThread(sp.orElseThrow(), ThreadSpec.of("kv-supervisor", s::supervise));
        if (!st.isOk()) {
            return cast(st);
        }
        s.threads.add(st.orElseThrow());
        return Result.ok(s);
    }

    @SuppressWarnings("unchecked")
    private static <T> Result<T> cast(Result<?> err) {
        return (Result<T>) err;
    }

    /** The supervisor's duty cycle: restarts the store domain when it is dead. */
    private int supervise() {
        if (store.isAlive()) {
            return 0;
        }
        long start = System.nanoTime();
        Result<Void> r = kernel.restartDomain(store);
        if (r.isOk()) {
            restartNanos.addAndGet(System.nanoTime() - start);
            restarts.incrementAndGet();
        } else if (r.error() == KernelError.DOMAIN_FAILED) {
            failedRestarts.incrementAndGet();                // tried again at the next cycle
        }
        return 1;
    }

    /**
     * Connects a new client: a process in the clients' container with its reply endpoint, which
     * introduces itself to the server.
     */
    public Result<KvClient> connect(String name) {
        Result<KernelProcess> p = kernel.newProcess(clients, name);
        if (!p.isOk()) {
            return cast(p);
        }
        KernelProcess process = p.orElseThrow();
        Result<KvClient> r = KvClient.connect(kernel, process, server, requests, config.timeout());
        if (!r.isOk()) {
            kernel.kill(process);
        }
        return r;
    }

    /** The store domain. */
    public Domain<KvStore> store() {
        return store;
    }

    /** The switch that injects crashes into the store. */
    public CrashSwitch crashes() {
        return config.crashes();
    }

    /** Restarts the supervisor made. */
    public long restarts() {
        return restarts.get();
    }

    /** The time the restarts took, on average, in milliseconds (recovery of the file and reload included); 0 if none. */
    public double meanRestartMillis() {
        long n = restarts.get();
        return n == 0 ? 0 : restartNanos.get() / 1e6 / n;
    }

    /** Restarts whose factory failed (each is tried again). */
    public long failedRestarts() {
        return failedRestarts.get();
    }

    /** Batches of requests the server took. */
    public long batches() {
        return batches.get();
    }

    /** The container of the clients' processes (to give their threads room, say). */
    public ContainerId clientContainer() {
        return clients;
    }

    /**
     * Stops the service: closes the store's file cleanly, then kills the service's and the
     * clients' containers (every thread, endpoint and frame of them) and waits for the threads.
     */
    @Override
    public void close() {
        store.call(s -> {
            ((DurableKvStore) s).close();
            return null;
        });
        kernel.killContainer(container);
        kernel.killContainer(clients);
        for (KernelThread t : threads) {
            try {
                t.join(Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** The server thread's duty cycle: one batch of requests, one call of the store for its writes and one for its reads. */
    private final class Server implements ThreadSpec.Body {
        private final List<Message> inbox = new ArrayList<>();
        private int[] replySlots = new int[16];
        private long[] tokens = new long[16];
        // Per request of the batch, from the first pass: its connection (or -1), and whether it is well formed.
        private final int[] asker = new int[BATCH];
        private final boolean[] valid = new boolean[BATCH];
        private int connections;
        private long[] putKeys = new long[256];
        private long[] putValues = new long[256];
        private long[] getKeys = new long[256];
        private long[] getValues = new long[256];
        private int puts;
        private int gets;

        @Override
        public int doWork() {
            inbox.clear();
            if (!kernel.receiveAll(server, requests, inbox, BATCH, Duration.ZERO).isOk()) {
                return 0;
            }
            batches.incrementAndGet();
            puts = 0;
            gets = 0;
            for (int j = 0; j < inbox.size(); j++) {
                Message m = inbox.get(j);
                asker[j] = connection(m);
                valid[j] = asker[j] >= 0 && wellFormed(m);
                if (!valid[j]) {
                    continue;                                // answered below, or not at all; never stored
                }
                int n = (int) m.word(3);
                if (m.word(0) == PUT) {
                    ensure(puts + n);
                    for (int i = 0; i < n; i++) {
                        putKeys[puts] = m.word(4 + 2 * i);
                        putValues[puts++] = m.word(5 + 2 * i);
                    }
                } else {
                    ensure(gets + n);
                    for (int i = 0; i < n; i++) {
                        getKeys[gets++] = m.word(4 + i);
                    }
                }
            }
            Result<Boolean> stored = puts == 0 ? Result.ok(true) : store.call(s -> s.putAll(putKeys, putValues, puts));
            Result<Void> written = !stored.isOk() ? cast(stored) : stored.orElseThrow() ? Result.ok(null)
                    : Result.err(KernelError.QUOTA_EXCEEDED, "the store is full");
            Result<Void> read = gets == 0 ? Result.ok(null) : store.call(s -> {
                s.getAll(getKeys, getValues, gets);
                return null;
            });
            int got = 0;
            for (int j = 0; j < inbox.size(); j++) {
                Message m = inbox.get(j);
                if (m.length() > 0 && m.word(0) == CONNECT) {
                    connect(m);
                    continue;
                }
                int connection = asker[j];
                if (connection < 0) {
                    continue;                                // not a connection: no one to answer
                }
                long op = m.word(0);
                long[] reply;
                if (!valid[j]) {
                    reply = new long[]{1 + KernelError.INVALID_ARGUMENT.ordinal(), m.length() > 2 ? m.word(2) : 0, 0};
                } else {
                    int n = (int) m.word(3);
                    Result<Void> outcome = op == PUT ? written : read;
                    if (!outcome.isOk()) {
                        reply = new long[]{1 + outcome.error().ordinal(), m.word(2), 0};
                    } else if (op == GET) {
                        reply = new long[3 + n];
                        reply[1] = m.word(2);
                        reply[2] = n;
                        System.arraycopy(getValues, got, reply, 3, n);
                    } else {
                        reply = new long[]{OK, m.word(2), 0};
                    }
                    if (op == GET) {
                        got += n;
                    }
                }
                kernel.trySend(server, replySlots[connection], Message.of(reply));   // a dead client's reply is dropped
            }
            return inbox.size();
        }

        /** The connection whose token the request carries, or -1 if it carries none of them. */
        private int connection(Message m) {
            if (m.length() < 2 || m.word(0) == CONNECT) {
                return -1;
            }
            long token = m.word(1);
            int index = (int) (token & INDEX_MASK);
            return index < connections && tokens[index] == token ? index : -1;
        }

        /** A PUT of n pairs (no value {@link #MISSING}) or a GET of n keys that carries them all. */
        private static boolean wellFormed(Message m) {
            if (m.length() < 4) {
                return false;
            }
            long op = m.word(0);
            long n = m.word(3);
            if (op == GET) {
                return n >= 0 && n <= MAX_KEYS && m.length() == 4 + n;
            }
            if (op != PUT || n < 0 || n > MAX_PAIRS || m.length() != 4 + 2 * n) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (m.word(5 + 2 * i) == MISSING) {
                    return false;                            // the store would throw, and crash for everyone's batch
                }
            }
            return true;
        }

        private void connect(Message m) {
            if (m.capability() == Message.NONE || connections > INDEX_MASK) {
                return;
            }
            if (connections == replySlots.length) {
                replySlots = Arrays.copyOf(replySlots, connections * 2);
                tokens = Arrays.copyOf(tokens, connections * 2);
            }
            long token = tokenSource.nextLong() & ~INDEX_MASK | connections;
            replySlots[connections] = m.capability();
            tokens[connections] = token;
            kernel.trySend(server, m.capability(), Message.of(OK, m.length() > 2 ? m.word(2) : 0, 1, token));
            connections++;
        }

        private void ensure(int n) {
            if (n > putKeys.length || n > getKeys.length) {
                int size = Math.max(n, 2 * putKeys.length);
                putKeys = Arrays.copyOf(putKeys, size);
                putValues = Arrays.copyOf(putValues, size);
                getKeys = Arrays.copyOf(getKeys, size);
                getValues = Arrays.copyOf(getValues, size);
            }
        }
    }

    static Rights clientRights() {
        return new Rights(Rights.WRITE_BIT | Rights.GRANT_BIT);
    }
}
