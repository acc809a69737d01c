package io.hashkernel.kernel.kv;

import io.hashkernel.kernel.Kernel;
import io.hashkernel.kernel.KernelError;
import io.hashkernel.kernel.KernelProcess;
import io.hashkernel.kernel.Message;
import io.hashkernel.kernel.Result;
import io.hashkernel.kernel.Rights;

import java.time.Duration;

/**
 * A client of a {@link KvService}: a process of its own with a reply endpoint. One request at a
 * time (not thread-safe). A request the store's crash caught comes back as
 * {@link KernelError#DOMAIN_FAILED} (or {@link KernelError#DOMAIN_DEAD} while it restarts): it was
 * not acknowledged, and may be retried; a put that returned {@code Ok} is durable.
 */
public final class KvClient {
    private final Kernel kernel;
    private final KernelProcess process;
    private final int toServer;
    private final int replies;
    private final long token;
    private final Duration timeout;
    private long seq;

    private KvClient(Kernel kernel, KernelProcess process, int toServer, int replies, long token, Duration timeout) {
        this.kernel = kernel;
        this.process = process;
        this.toServer = toServer;
        this.replies = replies;
        this.token = token;
        this.timeout = timeout;
    }

    static Result<KvClient> connect(Kernel kernel, KernelProcess process, KernelProcess server, int requests,
                                    Duration timeout) {
        Result<Integer> r = kernel.newEndpoint(process, 8);
        if (!r.isOk()) {
            return cast(r);
        }
        int replies = r.orElseThrow();
        Result<Integer> g = kernel.grant(server, requests, process, KvService.clientRights());
        if (!g.isOk()) {
            return cast(g);
        }
        int toServer = g.orElseThrow();
        Message hello = Message.of(KvService.CONNECT, -1, 0, 0).withCapability(replies, Rights.WRITE);
        Result<Void> sent = kernel.send(process, toServer, hello, timeout);
        if (!sent.isOk()) {
            return cast(sent);
        }
        Result<Message> answer = kernel.receive(process, replies, timeout);
        if (!answer.isOk()) {
            return cast(answer);
        }
        return Result.ok(new KvClient(kernel, process, toServer, replies, answer.orElseThrow().word(3), timeout));
    }

    @SuppressWarnings("unchecked")
    private static <T> Result<T> cast(Result<?> err) {
        return (Result<T>) err;
    }

    /** Puts one pair; {@code Ok} once it is durable. */
    public Result<Void> put(long key, long value) {
        return putAll(new long[]{key}, new long[]{value});
    }

    /**
     * Puts up to {@link KvService#MAX_PAIRS} pairs in one request; {@code Ok} once all are
     * durable; {@link KernelError#QUOTA_EXCEEDED} if the store is full (nothing written).
     * {@link KvService#MISSING} is not a value.
     */
    public Result<Void> putAll(long[] keys, long[] values) {
        if (keys == null || values == null || keys.length != values.length || keys.length > KvService.MAX_PAIRS) {
            return Result.err(KernelError.INVALID_ARGUMENT, "a put carries as many values as keys, at most "
                    + KvService.MAX_PAIRS + " pairs");
        }
        long[] words = new long[4 + 2 * keys.length];
        for (int i = 0; i < keys.length; i++) {
            if (values[i] == KvService.MISSING) {
                return Result.err(KernelError.INVALID_ARGUMENT, "Long.MIN_VALUE means absent; it cannot be stored (key "
                        + keys[i] + ")");
            }
            words[4 + 2 * i] = keys[i];
            words[5 + 2 * i] = values[i];
        }
        return call(KvService.PUT, words, keys.length).map(m -> null);
    }

    /** The value of {@code key}, or null if it is absent. */
    public Result<Long> get(long key) {
        return getAll(new long[]{key}).map(v -> v[0] == KvService.MISSING ? null : v[0]);
    }

    /** The values of up to {@link KvService#MAX_KEYS} keys ({@link KvService#MISSING} for an absent one). */
    public Result<long[]> getAll(long[] keys) {
        if (keys == null || keys.length > KvService.MAX_KEYS) {
            return Result.err(KernelError.INVALID_ARGUMENT, "a get carries at most " + KvService.MAX_KEYS + " keys");
        }
        long[] words = new long[4 + keys.length];
        System.arraycopy(keys, 0, words, 4, keys.length);
        return call(KvService.GET, words, keys.length).map(m -> {
            long[] values = new long[keys.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = m.word(3 + i);
            }
            return values;
        });
    }

    private Result<Message> call(long op, long[] words, int n) {
        long mine = ++seq;
        words[0] = op;
        words[1] = token;
        words[2] = mine;
        words[3] = n;
        Result<Void> sent = kernel.send(process, toServer, Message.of(words), timeout);
        if (!sent.isOk()) {
            return cast(sent);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Result<Message> r = kernel.receive(process, replies, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            if (!r.isOk()) {
                return r;
            }
            Message m = r.orElseThrow();
            if (m.word(1) != mine) {
                continue;                                    // the late reply of a request that timed out
            }
            if (m.word(0) != KvService.OK) {
                KernelError e = KernelError.values()[(int) m.word(0) - 1];
                return Result.err(e, switch (e) {
                    case QUOTA_EXCEEDED -> "the store is full: request " + mine + " would take it past its "
                            + "limit of keys (3/4 of its capacity); nothing of it was written";
                    case INVALID_ARGUMENT -> "the server refused request " + mine + " as malformed";
                    default -> "the store did not complete request " + mine + " (" + e
                            + "); nothing of it was acknowledged, retry it";
                });
            }
            return Result.ok(m);
        }
    }

    /** The token that names its connection in requests (for tests that build requests by hand). */
    long token() {
        return token;
    }

    /** The client's process. */
    public KernelProcess process() {
        return process;
    }
}
