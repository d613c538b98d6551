package io.basalt.image.verity;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/**
 * An output stream that passes the data of a dm-verity protected image through to an underlying
 * stream and hashes each 4096-byte block as it goes, so the tree can be written without reading the
 * image again. Finish with {@link #appendHashTree()} (the USR slot layout: data padded to 4096, then
 * superblock and tree) or {@link #writeHashTree(OutputStream)} (separate hash file). Not
 * thread-safe.
 */
public final class VerityOutputStream extends OutputStream {
  private final OutputStream out;
  private final VerityParams params;
  private final LeafHasher hasher;
  private boolean finished;
  private boolean closed;

  VerityOutputStream(OutputStream out, VerityParams params) {
    this.out = Objects.requireNonNull(out, "out");
    this.params = Objects.requireNonNull(params, "params");
    this.hasher = new LeafHasher(params);
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    checkWritable();
    out.write(b, off, len);
    hasher.update(b, off, len);
  }

  /** Data bytes written so far (padding and hash area not counted). */
  public long dataBytes() {
    return hasher.bytes();
  }

  @Override
  public void flush() throws IOException {
    out.flush();
  }

  /**
   * Pads the data with zeros to a multiple of 4096 bytes, then writes the hash area (superblock
   * block, then the tree) to the same stream; the result's hash offset is the padded data size.
   * The stream accepts no more data afterwards.
   *
   * @throws IOException if no data was written or the underlying stream fails
   */
  public VerityResult appendHashTree() throws IOException {
    HashTree tree = finishData();
    long hashOffset = tree.dataBlocks() * HashTree.BLOCK;
    tree.writeHashArea(out);
    out.flush();
    return new VerityResult(tree, params, hashOffset);
  }

  /**
   * Pads the data with zeros to a multiple of 4096 bytes, then writes the hash area to {@code
   * hashOut} (a separate hash device; hash offset 0). {@code hashOut} is flushed, not closed. The
   * stream accepts no more data afterwards.
   *
   * @throws IOException if no data was written or a stream fails
   */
  public VerityResult writeHashTree(OutputStream hashOut) throws IOException {
    Objects.requireNonNull(hashOut, "hashOut");
    HashTree tree = finishData();
    out.flush();
    BufferedOutputStream buffered = new BufferedOutputStream(hashOut, 64 * 1024);
    tree.writeHashArea(buffered);
    buffered.flush();
    return new VerityResult(tree, params, 0);
  }

  /** Closes the underlying stream (without writing a tree if none was written yet). */
  @Override
  public void close() throws IOException {
    if (!closed) {
      closed = true;
      out.close();
    }
  }

  private HashTree finishData() throws IOException {
    checkWritable();
    if (hasher.bytes() == 0) {
      throw new IOException("verity: no data written, nothing to protect");
    }
    byte[] pad = new byte[hasher.paddingNeeded()];
    out.write(pad);
    hasher.update(pad, 0, pad.length);
    finished = true;
    return HashTree.build(params, hasher.leaves());
  }

  private void checkWritable() {
    if (closed) {
      throw new IllegalStateException("verity stream is closed");
    }
    if (finished) {
      throw new IllegalStateException("verity stream is finished: the hash tree was already written");
    }
  }
}
