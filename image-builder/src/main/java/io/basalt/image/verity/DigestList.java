package io.basalt.image.verity;

import java.security.DigestException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * A growable list of SHA-256 digests kept in 1 MiB chunks (no 2 GiB array limit; 32 bytes of heap
 * per hashed 4 KiB block). A chunk holds a whole number of hash blocks' worth of digests, so the
 * digests packed into one hash block are always contiguous in one chunk. Not thread-safe.
 */
final class DigestList {
  static final int DIGEST = 32;
  static final int PER_CHUNK = 32768; // 256 hash blocks of 128 digests
  private static final int CHUNK_BYTES = PER_CHUNK * DIGEST;

  private final List<byte[]> chunks = new ArrayList<>();
  private long size;

  long size() {
    return size;
  }

  /** Appends {@code md.digest()} without an intermediate array; resets {@code md}. */
  void append(MessageDigest md) {
    int pos = (int) (size % PER_CHUNK);
    if (pos == 0) {
      chunks.add(new byte[CHUNK_BYTES]);
    }
    digestInto(md, chunks.get(chunks.size() - 1), pos * DIGEST);
    size++;
  }

  /** Appends the digests packed in {@code digests} (a multiple of 32 bytes long). */
  void appendAll(byte[] digests) {
    if (digests.length % DIGEST != 0) {
      throw new IllegalArgumentException(
          "digest bytes " + digests.length + " not a multiple of " + DIGEST);
    }
    int off = 0;
    while (off < digests.length) {
      int pos = (int) (size % PER_CHUNK);
      if (pos == 0) {
        chunks.add(new byte[CHUNK_BYTES]);
      }
      int n = Math.min(PER_CHUNK - pos, (digests.length - off) / DIGEST);
      System.arraycopy(digests, off, chunks.get(chunks.size() - 1), pos * DIGEST, n * DIGEST);
      off += n * DIGEST;
      size += n;
    }
  }

  /** Replaces digest {@code index} with {@code md.digest()}; resets {@code md}. */
  void set(long index, MessageDigest md) {
    checkIndex(index);
    digestInto(md, chunks.get((int) (index / PER_CHUNK)), (int) (index % PER_CHUNK) * DIGEST);
  }

  /** Keeps the first {@code n} digests (no-op when {@code n >= size()}). */
  void truncate(long n) {
    if (n < 0) {
      throw new IllegalArgumentException("negative size " + n);
    }
    if (n >= size) {
      return;
    }
    int keepChunks = (int) ((n + PER_CHUNK - 1) / PER_CHUNK);
    while (chunks.size() > keepChunks) {
      chunks.remove(chunks.size() - 1);
    }
    size = n;
  }

  /** A copy of digest {@code index}. */
  byte[] get(long index) {
    checkIndex(index);
    byte[] out = new byte[DIGEST];
    System.arraycopy(
        chunks.get((int) (index / PER_CHUNK)), (int) (index % PER_CHUNK) * DIGEST, out, 0, DIGEST);
    return out;
  }

  /**
   * The chunk holding digest {@code index}; digest {@code index} starts at {@link #offsetInChunk}.
   */
  byte[] chunkOf(long index) {
    checkIndex(index);
    return chunks.get((int) (index / PER_CHUNK));
  }

  static int offsetInChunk(long index) {
    return (int) (index % PER_CHUNK) * DIGEST;
  }

  private void checkIndex(long index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException("digest " + index + " of " + size);
    }
  }

  private static void digestInto(MessageDigest md, byte[] buf, int off) {
    try {
      md.digest(buf, off, DIGEST);
    } catch (DigestException e) {
      throw new IllegalStateException("SHA-256 digest did not fit 32 bytes", e);
    }
  }
}
