package io.basalt.image.pipeline;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A channel over a fresh, empty file that takes the file's sha256 while it is written: writes at
 * the hashed frontier are hashed as they pass, a forward jump hashes the skipped bytes as the zeros
 * they read as (sparse regions of a disk image), and only a write that lands before the frontier (a
 * back-patched header) makes {@link #finish()} read the file again from the start. Reads and seeks
 * pass through. Not thread-safe.
 */
final class HashingChannel implements SeekableByteChannel {
  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

  private final SeekableByteChannel ch;
  private final MessageDigest md = sha256();

  /** Bytes [0, hashed) of the file are in {@code md}. */
  private long hashed;

  /** Whether a write went before the frontier, so the digest no longer follows the file. */
  private boolean rewritten;

  /** The size and sha256 of what was written, and whether the file had to be read back. */
  record Digest(long size, String sha256, boolean readBack) {}

  HashingChannel(SeekableByteChannel ch) {
    this.ch = Objects.requireNonNull(ch, "channel");
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    long pos = ch.position();
    if (rewritten || pos < hashed) {
      rewritten = true;
      return ch.write(src);
    }
    ByteBuffer view = src.duplicate();
    int n = ch.write(src);
    zeros(pos - hashed);
    view.limit(view.position() + n);
    md.update(view);
    hashed = pos + n;
    return n;
  }

  private void zeros(long n) {
    for (long left = n; left > 0; ) {
      ByteBuffer z = ZEROS.duplicate();
      z.limit((int) Math.min(left, z.capacity()));
      left -= z.remaining();
      md.update(z);
    }
  }

  /**
   * The sha256 of the file as it is now: the digest made while writing, completed with zeros up to
   * the file's size, or (after a back-patch) of the file read again from the start.
   *
   * @throws IOException if the file cannot be read back
   */
  Digest finish() throws IOException {
    long size = ch.size();
    if (rewritten || size < hashed) {
      return readBack(ch);
    }
    zeros(size - hashed);
    hashed = size;
    return new Digest(size, HexFormat.of().formatHex(md.digest()), false);
  }

  /**
   * The size and sha256 of the whole of {@code ch}, read from the start.
   *
   * @throws IOException if it cannot be read
   */
  static Digest readBack(SeekableByteChannel ch) throws IOException {
    MessageDigest again = sha256();
    ByteBuffer buf = ByteBuffer.allocate(1 << 20);
    ch.position(0);
    long size = 0;
    int n;
    while ((n = ch.read(buf.clear())) > 0) {
      again.update(buf.flip());
      size += n;
    }
    return new Digest(size, HexFormat.of().formatHex(again.digest()), true);
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return ch.read(dst);
  }

  @Override
  public long position() throws IOException {
    return ch.position();
  }

  @Override
  public HashingChannel position(long newPosition) throws IOException {
    ch.position(newPosition);
    return this;
  }

  @Override
  public long size() throws IOException {
    return ch.size();
  }

  @Override
  public HashingChannel truncate(long size) throws IOException {
    if (size < hashed) {
      rewritten = true;
    }
    ch.truncate(size);
    return this;
  }

  @Override
  public boolean isOpen() {
    return ch.isOpen();
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
