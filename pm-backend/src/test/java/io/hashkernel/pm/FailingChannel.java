package io.hashkernel.pm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.concurrent.atomic.AtomicInteger;

/** A log channel that forwards to a real one and fails writes or forces on demand (a full or failing disk). */
final class FailingChannel extends FileChannel {
    final FileChannel d;
    volatile boolean failWrite;
    volatile boolean failForce;
    /** Writes fail with an unchecked exception, as a channel wrapper's own bug would. */
    volatile boolean failWriteUnchecked;
    final AtomicInteger forces = new AtomicInteger();

    FailingChannel(FileChannel d) {
        this.d = d;
    }

    private void w() throws IOException {
        if (failWrite) {
            throw new IOException("No space left on device (simulated)");
        }
        if (failWriteUnchecked) {
            throw new UncheckedIOException(new IOException("simulated unchecked failure"));
        }
    }

    @Override public int read(ByteBuffer dst) throws IOException { return d.read(dst); }
    @Override public long read(ByteBuffer[] dsts, int o, int l) throws IOException { return d.read(dsts, o, l); }
    @Override public int write(ByteBuffer src) throws IOException { w(); return d.write(src); }
    @Override public long write(ByteBuffer[] srcs, int o, int l) throws IOException { w(); return d.write(srcs, o, l); }
    @Override public long position() throws IOException { return d.position(); }
    @Override public FileChannel position(long p) throws IOException { d.position(p); return this; }
    @Override public long size() throws IOException { return d.size(); }
    @Override public FileChannel truncate(long s) throws IOException { w(); d.truncate(s); return this; }
    @Override public void force(boolean meta) throws IOException {
        if (failForce) {
            throw new IOException("Input/output error (simulated)");
        }
        forces.incrementAndGet();
        d.force(meta);
    }
    @Override public long transferTo(long p, long c, WritableByteChannel t) throws IOException { return d.transferTo(p, c, t); }
    @Override public long transferFrom(ReadableByteChannel s, long p, long c) throws IOException { w(); return d.transferFrom(s, p, c); }
    @Override public int read(ByteBuffer dst, long p) throws IOException { return d.read(dst, p); }
    @Override public int write(ByteBuffer src, long p) throws IOException { w(); return d.write(src, p); }
    @Override public MappedByteBuffer map(MapMode m, long p, long s) throws IOException { return d.map(m, p, s); }
    @Override public FileLock lock(long p, long s, boolean sh) throws IOException { return d.lock(p, s, sh); }
    @Override public FileLock tryLock(long p, long s, boolean sh) throws IOException { return d.tryLock(p, s, sh); }
    @Override protected void implCloseChannel() throws IOException { d.close(); }
}
