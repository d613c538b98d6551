package io.basalt.image.verity;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.security.DigestException;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hashes the data blocks of a file (SHA-256(salt || 4096-byte block) each, a partial last block
 * zero-padded as {@code veritysetup} pads it) on several threads: the file is cut into 4 MiB
 * chunks read with positional reads, each chunk's digests are computed by one thread, and the
 * chunks' digests are appended in file order, so the result is the same for any thread count or
 * timing. Stateless; each {@link #hash} call uses its own threads.
 */
final class FileLeafHasher {
  static final int BLOCK = HashTree.BLOCK;
  /** Bytes per task: 1024 blocks (a divisor of {@link DigestList#PER_CHUNK} blocks). */
  static final int CHUNK = 1024 * BLOCK;

  private FileLeafHasher() {}

  /** The threads used by default: every processor. */
  static int defaultThreads() {
    return Runtime.getRuntime().availableProcessors();
  }

  /**
   * The digests of the blocks of {@code in[0, size)} in order.
   *
   * @param threads hashing threads (1 hashes on the calling thread)
   * @throws IOException naming {@code what} if the file ends before {@code size} or cannot be read
   */
  static DigestList hash(FileChannel in, long size, VerityParams params, int threads, Path what) throws IOException {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    byte[] salt = params.saltUnsafe();
    long chunks = (size + CHUNK - 1) / CHUNK;
    DigestList out = new DigestList();
    if (threads == 1 || chunks <= 1) {
      Worker w = new Worker(salt);
      for (long c = 0; c < chunks; c++) {
        w.hashChunk(in, c * CHUNK, Math.min(size, (c + 1) * CHUNK), what, out);
      }
      return out;
    }
    AtomicInteger n = new AtomicInteger();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, "verity-hash-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    ThreadLocal<Worker> workers = ThreadLocal.withInitial(() -> new Worker(salt));
    ArrayDeque<Future<byte[]>> pending = new ArrayDeque<>();
    int window = threads * 2;
    try {
      for (long c = 0; c < chunks; c++) {
        long from = c * CHUNK;
        long to = Math.min(size, from + CHUNK);
        pending.add(pool.submit(() -> workers.get().digests(in, from, to, what)));
        if (pending.size() >= window) {
          out.appendAll(take(pending));
        }
      }
      while (!pending.isEmpty()) {
        out.appendAll(take(pending));
      }
      return out;
    } finally {
      pool.shutdownNow();
      try {
        pool.awaitTermination(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static byte[] take(ArrayDeque<Future<byte[]>> pending) throws IOException {
    try {
      return pending.pollFirst().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while hashing");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      throw new IOException("hashing failed: " + cause, cause);
    }
  }

  /** One thread's digest and read buffer. */
  private static final class Worker {
    private final MessageDigest md = VerityParams.Sha256.newDigest();
    private final byte[] salt;
    private final byte[] buf = new byte[CHUNK];

    Worker(byte[] salt) {
      this.salt = salt;
    }

    /** Digests of the blocks of {@code in[from, to)}, 32 bytes each, in order. */
    byte[] digests(FileChannel in, long from, long to, Path what) throws IOException {
      int len = (int) (to - from);
      ByteBuffer bb = ByteBuffer.wrap(buf, 0, len);
      long pos = from;
      while (bb.hasRemaining()) {
        int r = in.read(bb, pos);
        if (r < 0) {
          throw new EOFException(what + ": ended at byte " + pos + " while being hashed, expected " + (from + len) + " bytes");
        }
        pos += r;
      }
      int blocks = (len + BLOCK - 1) / BLOCK;
      java.util.Arrays.fill(buf, len, blocks * BLOCK, (byte) 0);
      byte[] d = new byte[blocks * DigestList.DIGEST];
      try {
        for (int i = 0; i < blocks; i++) {
          md.update(salt);
          md.update(buf, i * BLOCK, BLOCK);
          md.digest(d, i * DigestList.DIGEST, DigestList.DIGEST);
        }
      } catch (DigestException e) {
        throw new IllegalStateException("SHA-256 digest did not fit 32 bytes", e);
      }
      return d;
    }

    void hashChunk(FileChannel in, long from, long to, Path what, DigestList out) throws IOException {
      out.appendAll(digests(in, from, to, what));
    }
  }
}
