package io.basalt.image.verity;

import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.security.MessageDigest;
import java.util.BitSet;
import java.util.Objects;

/**
 * A seekable channel over a dm-verity protected image that hashes each 4096-byte block while the
 * data is written in order, and tolerates writers that go back to patch earlier bytes (a squashfs
 * superblock written last at offset 0): blocks rewritten after they were hashed, and everything
 * after a forward jump, are re-read and re-hashed once when the tree is made, everything else is
 * never read again. The underlying channel must be readable as well as writable (a file opened with
 * READ and WRITE). Finish with {@link #appendHashTree()}. Not thread-safe.
 */
public final class VerityChannel implements SeekableByteChannel {
  private static final int BLOCK = HashTree.BLOCK;

  private final SeekableByteChannel ch;
  private final VerityParams params;
  private final LeafHasher hasher;

  /** Blocks below {@code hasher.leaves().size()} whose digest is stale. */
  private final BitSet dirty = new BitSet();

  /** Whether the hasher still follows the data (all writes so far at or before the frontier). */
  private boolean sequential = true;

  private boolean finished;

  /**
   * Wraps a readable and writable channel positioned at 0 of an empty data area, with the salt and
   * UUID derived from {@code seed} (the same seed gives the same hash tree): writes in order are
   * hashed as they pass, blocks patched later are re-read once at the end.
   */
  public static VerityChannel fromSeed(SeekableByteChannel channel, String seed) {
    return Verity.channel(channel, VerityParams.fromSeed(seed));
  }

  VerityChannel(SeekableByteChannel ch, VerityParams params) {
    this.ch = Objects.requireNonNull(ch, "channel");
    this.params = Objects.requireNonNull(params, "params");
    this.hasher = new LeafHasher(params);
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    checkWritable();
    long pos = ch.position();
    if (sequential && pos == hasher.bytes()) {
      ByteBuffer view = src.duplicate();
      int n = ch.write(src);
      view.limit(view.position() + n);
      hasher.update(view);
      return n;
    }
    int n = ch.write(src);
    if (n > 0) {
      touched(pos, n);
    }
    return n;
  }

  private void touched(long pos, int n) {
    long hashed = hasher.leaves().size();
    long first = pos / BLOCK;
    long last = (pos + n - 1) / BLOCK;
    if (last >= hashed) {
      // The write reaches the partially filled block or jumps ahead: stop following the stream;
      // every block from the first unhashed one on is read back at the end.
      sequential = false;
    }
    for (long b = first; b <= Math.min(last, hashed - 1); b++) {
      dirty.set(Math.toIntExact(b));
    }
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
  public VerityChannel position(long newPosition) throws IOException {
    ch.position(newPosition);
    return this;
  }

  @Override
  public long size() throws IOException {
    return ch.size();
  }

  /**
   * Truncates the data; when the writes so far were in order and {@code size} is below the hashed
   * frontier, hashing goes on from {@code size} as writes continue there.
   */
  @Override
  public VerityChannel truncate(long size) throws IOException {
    checkWritable();
    ch.truncate(size);
    if (size < hasher.bytes()) {
      long block = size / BLOCK;
      if (sequential) {
        // A writer that cuts the stream back (e.g. dropping blocks it just wrote) and goes on
        // writing from there: keep following the stream from the cut instead of re-reading
        // everything after it at the end. Only the bytes of the cut block before the cut are
        // read back, and only when that block was already hashed.
        int prefix = (int) (size % BLOCK);
        byte[] head = null;
        if (prefix > 0 && block < hasher.leaves().size()) {
          long keep = ch.position();
          ByteBuffer buf = ByteBuffer.allocate(prefix);
          ch.position(block * BLOCK);
          while (buf.hasRemaining()) {
            if (ch.read(buf) < 0) {
              throw new EOFException("verity: data ended while re-reading block " + block);
            }
          }
          ch.position(keep);
          head = buf.array();
        }
        hasher.rewind(size, head);
      } else {
        hasher.leaves().truncate(block);
      }
      // blocks from the cut on are hashed again when they are written (or re-read at the end)
      int from = Math.toIntExact(block);
      if (from < dirty.length()) {
        dirty.clear(from, dirty.length());
      }
    }
    return this;
  }

  @Override
  public boolean isOpen() {
    return ch.isOpen();
  }

  /** Closes the underlying channel (without writing a tree if none was written yet). */
  @Override
  public void close() throws IOException {
    ch.close();
  }

  /**
   * Pads the data (the channel's size) with zeros to a multiple of 4096 bytes, then writes the hash
   * area (superblock block, then the tree) right after it; the result's hash offset is the padded
   * data size. The channel's position is left at the end of the hash area.
   *
   * @throws IOException if the channel is empty, cannot be read back, or fails
   */
  public VerityResult appendHashTree() throws IOException {
    HashTree tree = finishData();
    long hashOffset = tree.dataBlocks() * BLOCK;
    ch.position(hashOffset);
    OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 64 * 1024);
    tree.writeHashArea(out);
    out.flush();
    return new VerityResult(tree, params, hashOffset);
  }

  private HashTree finishData() throws IOException {
    checkWritable();
    finished = true;
    long size = ch.size();
    if (size == 0) {
      throw new IOException("verity: no data written, nothing to protect");
    }
    long padded = Math.addExact(size, (BLOCK - size % BLOCK) % BLOCK);
    if (padded > size) {
      ch.position(size);
      ByteBuffer zeros = ByteBuffer.allocate((int) (padded - size));
      if (sequential && hasher.bytes() == size) {
        hasher.update(zeros.duplicate()); // completes the last block without reading it back
      }
      writeFully(zeros);
    }
    DigestList leaves = hasher.leaves();
    long blocks = padded / BLOCK;
    if (leaves.size() > blocks) {
      leaves.truncate(blocks);
    }
    MessageDigest md = VerityParams.Sha256.newDigest();
    byte[] salt = params.saltUnsafe();
    ByteBuffer block = ByteBuffer.allocate(BLOCK);
    for (int b = dirty.nextSetBit(0); b >= 0 && b < leaves.size(); b = dirty.nextSetBit(b + 1)) {
      readBlock(b, block);
      md.update(salt);
      md.update(block);
      leaves.set(b, md);
    }
    for (long b = leaves.size(); b < blocks; b++) {
      readBlock(b, block);
      md.update(salt);
      md.update(block);
      leaves.append(md);
    }
    ch.position(padded);
    return HashTree.build(params, leaves);
  }

  private void readBlock(long index, ByteBuffer block) throws IOException {
    block.clear();
    ch.position(index * BLOCK);
    while (block.hasRemaining()) {
      if (ch.read(block) < 0) {
        throw new EOFException("verity: data ended while re-reading block " + index);
      }
    }
    block.flip();
  }

  private void writeFully(ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      ch.write(buf);
    }
  }

  private void checkWritable() {
    if (finished) {
      throw new IllegalStateException(
          "verity channel is finished: the hash tree was already written");
    }
  }
}
