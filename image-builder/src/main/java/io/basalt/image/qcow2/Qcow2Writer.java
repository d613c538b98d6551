package io.basalt.image.qcow2;

import io.basalt.host.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;

/**
 * Converts a raw disk image to qcow2 version 3 (QEMU docs/interop/qcow2.txt) with 64 KiB clusters
 * and 16-bit refcounts, storing only clusters that hold a non-zero byte; all-zero clusters stay
 * unallocated and read as zeros (no backing file). The raw image is read twice (scan, then copy)
 * and must not change in between. Output is a pure function of the raw bytes. Stateless and
 * thread-safe.
 *
 * <p>File layout: header cluster, L1 table, refcount table, refcount blocks, L2 tables (only those
 * covering data), then the data clusters in guest order. Every cluster has refcount 1, so all L1/L2
 * entries carry the COPIED flag (bit 63).
 */
public final class Qcow2Writer {
  static final int CLUSTER_BITS = 16;
  static final int CLUSTER = 1 << CLUSTER_BITS;

  /** Entries per L2 table (8-byte entries in one cluster). */
  static final int L2_ENTRIES = CLUSTER / 8;

  /** refcount_order 4: 16-bit refcounts, the QEMU default. */
  static final int REFCOUNT_ORDER = 4;

  static final int REFCOUNTS_PER_BLOCK = CLUSTER * 8 / (1 << REFCOUNT_ORDER);
  static final int HEADER_LENGTH = 104;

  /** The header's first four bytes, "QFI\xfb". */
  public static final int MAGIC = 0x514649fb;

  static final long COPIED = 1L << 63;

  private Qcow2Writer() {}

  /** What was written. Immutable, thread-safe. */
  public record Summary(long virtualSize, long dataClusters, long totalClusters) {
    /** The qcow2 file's size in bytes. */
    public long fileSize() {
      return totalClusters * CLUSTER;
    }
  }

  /**
   * Converts {@code raw} to qcow2 written as {@code qcow2}, through a temporary file in the same
   * directory moved into place once complete; on failure nothing is left at {@code qcow2}.
   *
   * @throws Qcow2Exception naming the raw file if its size is not a positive multiple of 512 or it
   *     changes while being converted
   * @throws IOException if reading or writing fails
   */
  public static Summary convert(Path raw, Path qcow2) throws IOException {
    return AtomicFiles.writeOutput(
        qcow2,
        tmp -> {
          try (SeekableByteChannel in = Files.newByteChannel(raw, StandardOpenOption.READ);
              SeekableByteChannel out =
                  Files.newByteChannel(
                      tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            return convert(in, out, raw.toString());
          }
        });
  }

  /**
   * Converts the whole of {@code raw} into {@code out} (fresh, empty channel) from position 0.
   *
   * @param name what {@code raw} is, for error messages
   * @throws Qcow2Exception naming the source if its size is not a positive multiple of 512 or it
   *     changes while being converted
   * @throws IOException if reading or writing fails
   */
  public static Summary convert(SeekableByteChannel raw, SeekableByteChannel out, String name)
      throws IOException {
    long size = raw.size();
    if (size <= 0 || size % 512 != 0) {
      throw new Qcow2Exception(
          name + ": size " + size + " is not a positive multiple of 512 bytes");
    }
    long guestClusters = (size + CLUSTER - 1) / CLUSTER;
    if (guestClusters > Integer.MAX_VALUE) {
      throw new Qcow2Exception(name + ": " + size + " bytes is too large");
    }
    ByteBuffer buf = ByteBuffer.allocate(CLUSTER);
    BitSet data = new BitSet((int) guestClusters);
    for (int c = 0; c < guestClusters; c++) {
      readCluster(raw, c, size, buf, name);
      if (!isZero(buf)) {
        data.set(c);
      }
    }
    checkSize(raw, size, name);

    Layout l = Layout.of(guestClusters, data);
    writeAt(out, 0, header(size, l));
    // L1 table (spec "Cluster mapping"): entry i -> L2 table covering guest clusters i*8192..
    ByteBuffer l1 = ByteBuffer.allocate((int) (l.l1Clusters * CLUSTER));
    long l2Index = 0;
    for (int i = 0; i < l.l1Size; i++) {
      if (l.l2Present.get(i)) {
        l1.putLong(i * 8, ((l.l2Start + l2Index++) * CLUSTER) | COPIED);
      }
    }
    writeAt(out, l.l1Start * CLUSTER, l1.clear());
    // refcount table -> refcount blocks; each block: 16-bit big-endian refcount 1 per used cluster
    ByteBuffer rt = ByteBuffer.allocate((int) (l.rtClusters * CLUSTER));
    for (int i = 0; i < l.rbClusters; i++) {
      rt.putLong(i * 8, (l.rbStart + i) * CLUSTER);
    }
    writeAt(out, l.rtStart * CLUSTER, rt.clear());
    ByteBuffer rb = ByteBuffer.allocate(CLUSTER);
    for (long b = 0; b < l.rbClusters; b++) {
      rb.clear();
      for (int i = 0; i < REFCOUNTS_PER_BLOCK; i++) {
        long cluster = b * REFCOUNTS_PER_BLOCK + i;
        rb.putShort((short) (cluster < l.totalClusters ? 1 : 0));
      }
      writeAt(out, (l.rbStart + b) * CLUSTER, rb.flip());
    }
    // L2 tables: guest cluster -> host data cluster, data clusters numbered in guest order
    ByteBuffer l2 = ByteBuffer.allocate(CLUSTER);
    long host = l.dataStart;
    l2Index = 0;
    for (int i = 0; i < l.l1Size; i++) {
      if (!l.l2Present.get(i)) {
        continue;
      }
      l2.clear();
      for (int j = 0; j < L2_ENTRIES; j++) {
        long g = (long) i * L2_ENTRIES + j;
        l2.putLong(g < guestClusters && data.get((int) g) ? (host++ * CLUSTER) | COPIED : 0);
      }
      writeAt(out, (l.l2Start + l2Index++) * CLUSTER, l2.flip());
    }
    // data clusters, second pass over the raw image
    long at = l.dataStart;
    for (int c = data.nextSetBit(0); c >= 0; c = data.nextSetBit(c + 1)) {
      readCluster(raw, c, size, buf, name);
      if (isZero(buf)) {
        throw new Qcow2Exception(
            name
                + ": changed while being converted (cluster at byte "
                + (long) c * CLUSTER
                + " is now zero)");
      }
      writeAt(out, at++ * CLUSTER, buf.flip());
    }
    checkSize(raw, size, name);
    return new Summary(size, l.dataClusters, l.totalClusters);
  }

  private static void checkSize(SeekableByteChannel raw, long size, String name)
      throws IOException {
    if (raw.size() != size) {
      throw new Qcow2Exception(
          name
              + ": changed size while being converted (was "
              + size
              + " bytes, now "
              + raw.size()
              + ")");
    }
  }

  /**
   * Reads guest cluster {@code c} into {@code buf} (zero-padded past the end), buf left
   * flipped-ready.
   */
  private static void readCluster(
      SeekableByteChannel raw, long c, long size, ByteBuffer buf, String name) throws IOException {
    buf.clear();
    long off = c * CLUSTER;
    int want = (int) Math.min(CLUSTER, size - off);
    buf.limit(want);
    raw.position(off);
    while (buf.hasRemaining()) {
      if (raw.read(buf) < 0) {
        throw new Qcow2Exception(
            name + ": changed size while being converted (ends before byte " + (off + want) + ")");
      }
    }
    buf.limit(CLUSTER);
    while (buf.hasRemaining()) {
      buf.put((byte) 0);
    }
  }

  private static boolean isZero(ByteBuffer buf) {
    for (int i = 0; i < CLUSTER; i += 8) {
      if (buf.getLong(i) != 0) {
        return false;
      }
    }
    return true;
  }

  /** The version-3 header (qcow2.txt "Header"), big-endian, in a cluster of its own. */
  private static ByteBuffer header(long size, Layout l) {
    ByteBuffer h = ByteBuffer.allocate(CLUSTER).order(ByteOrder.BIG_ENDIAN);
    h.putInt(MAGIC); // 0 magic "QFI\xfb"
    h.putInt(3); // 4 version
    h.putLong(0); // 8 backing_file_offset: none
    h.putInt(0); // 16 backing_file_size
    h.putInt(CLUSTER_BITS); // 20 cluster_bits
    h.putLong(size); // 24 size (virtual disk size in bytes)
    h.putInt(0); // 32 crypt_method: none
    h.putInt((int) l.l1Size); // 36 l1_size (entries)
    h.putLong(l.l1Start * CLUSTER); // 40 l1_table_offset
    h.putLong(l.rtStart * CLUSTER); // 48 refcount_table_offset
    h.putInt((int) l.rtClusters); // 56 refcount_table_clusters
    h.putInt(0); // 60 nb_snapshots
    h.putLong(0); // 64 snapshots_offset
    h.putLong(0); // 72 incompatible_features: none (not dirty, no extended L2, zlib if any)
    h.putLong(0); // 80 compatible_features: no lazy refcounts
    h.putLong(0); // 88 autoclear_features
    h.putInt(REFCOUNT_ORDER); // 96 refcount_order
    h.putInt(HEADER_LENGTH); // 100 header_length; the zeros after it end the extension list
    h.clear();
    return h;
  }

  private static void writeAt(SeekableByteChannel ch, long offset, ByteBuffer b)
      throws IOException {
    ch.position(offset);
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** Cluster indices of each region; the refcount structures are sized to cover every cluster. */
  private static final class Layout {
    long l1Size;
    long l1Start;
    long l1Clusters;
    long rtStart;
    long rtClusters;
    long rbStart;
    long rbClusters;
    long l2Start;
    long l2Count;
    long dataStart;
    long dataClusters;
    long totalClusters;
    BitSet l2Present;

    static Layout of(long guestClusters, BitSet data) {
      Layout l = new Layout();
      l.l1Size = (guestClusters + L2_ENTRIES - 1) / L2_ENTRIES;
      l.l1Clusters = Math.max(1, (l.l1Size * 8 + CLUSTER - 1) / CLUSTER);
      l.l2Present = new BitSet((int) l.l1Size);
      for (int c = data.nextSetBit(0); c >= 0; c = data.nextSetBit(c + 1)) {
        l.l2Present.set(c / L2_ENTRIES);
      }
      l.l2Count = l.l2Present.cardinality();
      l.dataClusters = data.cardinality();
      long fixed = 1 + l.l1Clusters + l.l2Count + l.dataClusters;
      long rb = 1;
      long rt = 1;
      while (true) { // grow the refcount structures until they cover themselves too
        long total = fixed + rb + rt;
        long needRb = (total + REFCOUNTS_PER_BLOCK - 1) / REFCOUNTS_PER_BLOCK;
        long needRt = Math.max(1, (needRb * 8 + CLUSTER - 1) / CLUSTER);
        if (needRb <= rb && needRt <= rt) {
          break;
        }
        rb = Math.max(rb, needRb);
        rt = Math.max(rt, needRt);
      }
      l.l1Start = 1;
      l.rtStart = l.l1Start + l.l1Clusters;
      l.rtClusters = rt;
      l.rbStart = l.rtStart + rt;
      l.rbClusters = rb;
      l.l2Start = l.rbStart + rb;
      l.dataStart = l.l2Start + l.l2Count;
      l.totalClusters = l.dataStart + l.dataClusters;
      return l;
    }
  }
}
