package io.basalt.image.verity;

import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * Hashes a sequential byte stream block by block (SHA-256(salt || 4096-byte block)) into a {@link
 * DigestList}, copying only the bytes of blocks that arrive split across writes. Not thread-safe.
 */
final class LeafHasher {
  private static final int BLOCK = HashTree.BLOCK;

  private final MessageDigest md = VerityParams.Sha256.newDigest();
  private final byte[] salt;
  private final byte[] partial = new byte[BLOCK];
  private int fill;
  private long bytes;
  private final DigestList leaves = new DigestList();

  LeafHasher(VerityParams params) {
    this.salt = params.saltUnsafe();
  }

  /** Bytes fed so far. */
  long bytes() {
    return bytes;
  }

  /** Bytes missing to complete the current block (0 when at a block boundary). */
  int paddingNeeded() {
    return fill == 0 ? 0 : BLOCK - fill;
  }

  DigestList leaves() {
    return leaves;
  }

  void update(byte[] b, int off, int len) {
    bytes += len;
    if (fill > 0) {
      int n = Math.min(len, BLOCK - fill);
      System.arraycopy(b, off, partial, fill, n);
      fill += n;
      off += n;
      len -= n;
      if (fill < BLOCK) {
        return;
      }
      hash(partial, 0);
      fill = 0;
    }
    while (len >= BLOCK) {
      hash(b, off);
      off += BLOCK;
      len -= BLOCK;
    }
    System.arraycopy(b, off, partial, 0, len);
    fill = len;
  }

  /**
   * Goes back to stream offset {@code pos} (at most {@link #bytes()}), as if only the first {@code
   * pos} bytes had been fed: digests of blocks at or after {@code pos}'s block are dropped. {@code
   * blockPrefix} must hold the stream's bytes from the start of that block up to {@code pos}
   * ({@code pos % 4096} bytes); when {@code pos} lies in the block still being filled they are
   * already here and {@code blockPrefix} may be null.
   */
  void rewind(long pos, byte[] blockPrefix) {
    if (pos < 0 || pos > bytes) {
      throw new IllegalArgumentException("rewind to " + pos + " outside [0, " + bytes + "]");
    }
    long block = pos / BLOCK;
    int prefix = (int) (pos % BLOCK);
    if (block < leaves.size()) {
      if (prefix > 0 && (blockPrefix == null || blockPrefix.length < prefix)) {
        throw new IllegalArgumentException(
            "rewind to " + pos + " needs the " + prefix + " bytes before it in its block");
      }
      leaves.truncate(block);
      if (prefix > 0) {
        System.arraycopy(blockPrefix, 0, partial, 0, prefix);
      }
    }
    fill = prefix;
    bytes = pos;
  }

  /** Consumes the remaining bytes of {@code buf}. */
  void update(ByteBuffer buf) {
    if (buf.hasArray()) {
      int n = buf.remaining();
      update(buf.array(), buf.arrayOffset() + buf.position(), n);
      buf.position(buf.position() + n);
      return;
    }
    byte[] tmp = new byte[Math.min(buf.remaining(), 64 * 1024)];
    while (buf.hasRemaining()) {
      int n = Math.min(tmp.length, buf.remaining());
      buf.get(tmp, 0, n);
      update(tmp, 0, n);
    }
  }

  private void hash(byte[] b, int off) {
    md.update(salt);
    md.update(b, off, BLOCK);
    leaves.append(md);
  }
}
