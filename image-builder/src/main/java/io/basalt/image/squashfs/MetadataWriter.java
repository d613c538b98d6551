package io.basalt.image.squashfs;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds one squashfs metadata table (inode, directory, fragment, export, id or xattr table): the
 * bytes are cut into 8 KiB blocks, each compressed when that helps and written behind a 16-bit
 * header (bit 15 set = stored uncompressed; squashfs 4.0 "metadata blocks"). Blocks are closed as
 * soon as they fill, so {@link #ref()} always names the block the next byte lands in. Not
 * thread-safe.
 */
final class MetadataWriter {
  static final int BLOCK = 8192;

  private final Codec codec;
  private final byte[] block = new byte[BLOCK];
  private final byte[] scratch;
  private int fill;
  private final LeBuffer out = new LeBuffer(BLOCK);
  private final List<Long> blockStarts = new ArrayList<>();

  MetadataWriter(Codec codec) {
    this.codec = codec;
    this.scratch = new byte[codec.bound(BLOCK)];
  }

  /**
   * The position the next byte gets: compressed offset of its block from the table start in the
   * upper bits, offset inside the uncompressed block in the low 16 bits (a squashfs inode ref).
   */
  long ref() {
    return ((long) out.size() << 16) | fill;
  }

  /** Number of uncompressed bytes written so far. */
  long uncompressedSize() {
    return (long) blockStarts.size() * BLOCK + fill;
  }

  void write(LeBuffer b) throws IOException {
    write(b.array(), 0, b.size());
  }

  void write(byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int n = Math.min(len, BLOCK - fill);
      System.arraycopy(b, off, block, fill, n);
      fill += n;
      off += n;
      len -= n;
      if (fill == BLOCK) {
        flush();
      }
    }
  }

  private void flush() throws IOException {
    blockStarts.add((long) out.size());
    int n = codec.compress(block, 0, fill, scratch);
    if (n > 0) {
      out.u16(n);
      out.bytes(scratch, 0, n);
    } else {
      out.u16(fill | 0x8000);
      out.bytes(block, 0, fill);
    }
    fill = 0;
  }

  /** Closes the last partial block and returns the table's bytes. */
  byte[] finish() throws IOException {
    if (fill > 0) {
      flush();
    }
    return out.toByteArray();
  }

  /** Offsets (from the table start) of every block, valid after {@link #finish()}. */
  List<Long> blockStarts() {
    return blockStarts;
  }
}
