package io.basalt.image.qcow2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class Qcow2WriterTest {
  static final int C = 65536;

  /** A raw image of {@code size} bytes, zero except the given byte runs; reads only. */
  static final class SparseRaw implements SeekableByteChannel {
    final long size;
    final TreeMap<Long, byte[]> runs = new TreeMap<>();
    long pos;
    int reads;
    long sizeAfterReads = -1;
    int growAfter = Integer.MAX_VALUE;

    SparseRaw(long size, Map<Long, byte[]> runs) {
      this.size = size;
      this.runs.putAll(runs);
    }

    @Override
    public int read(ByteBuffer dst) {
      reads++;
      if (pos >= size()) {
        return -1;
      }
      int n = (int) Math.min(dst.remaining(), size() - pos);
      byte[] chunk = bytes(pos, n);
      dst.put(chunk);
      pos += n;
      return n;
    }

    /** Bytes [off, off + n): zeros overlaid with the runs that intersect them. */
    byte[] bytes(long off, int n) {
      byte[] chunk = new byte[n];
      for (Map.Entry<Long, byte[]> e : runs.entrySet()) {
        long from = Math.max(off, e.getKey());
        long to = Math.min(off + n, e.getKey() + e.getValue().length);
        for (long i = from; i < to; i++) {
          chunk[(int) (i - off)] = e.getValue()[(int) (i - e.getKey())];
        }
      }
      return chunk;
    }

    @Override
    public long size() {
      return reads > growAfter ? size + 512 : size;
    }

    @Override
    public int write(ByteBuffer src) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long position() {
      return pos;
    }

    @Override
    public SeekableByteChannel position(long p) {
      pos = p;
      return this;
    }

    @Override
    public SeekableByteChannel truncate(long s) {
      throw new UnsupportedOperationException();
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  /** A growable in-memory output channel. */
  static final class Out implements SeekableByteChannel {
    byte[] b = new byte[0];
    long pos;

    @Override
    public int write(ByteBuffer src) {
      int n = src.remaining();
      if (pos + n > b.length) {
        b = Arrays.copyOf(b, (int) (pos + n));
      }
      src.get(b, (int) pos, n);
      pos += n;
      return n;
    }

    @Override
    public int read(ByteBuffer dst) {
      throw new UnsupportedOperationException();
    }

    @Override
    public long position() {
      return pos;
    }

    @Override
    public SeekableByteChannel position(long p) {
      pos = p;
      return this;
    }

    @Override
    public long size() {
      return b.length;
    }

    @Override
    public SeekableByteChannel truncate(long s) {
      throw new UnsupportedOperationException();
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  /** An independent reader of the qcow2 subset we write: header, L1, L2, refcounts. */
  static final class Reader {
    final ByteBuffer f;
    final long size;
    final long l1Off;
    final int l1Size;
    final int clusterBits;

    Reader(byte[] file) {
      f = ByteBuffer.wrap(file);
      assertEquals(0x514649fb, f.getInt(0));
      assertEquals(3, f.getInt(4));
      clusterBits = f.getInt(20);
      size = f.getLong(24);
      l1Size = f.getInt(36);
      l1Off = f.getLong(40);
      assertEquals(0, f.getLong(72), "incompatible features");
      assertEquals(4, f.getInt(96), "refcount_order");
      assertEquals(104, f.getInt(100), "header_length");
    }

    /** Host offset of guest cluster g, 0 if unallocated. */
    long host(long g) {
      int entries = (1 << clusterBits) / 8;
      long l1e = f.getLong((int) (l1Off + (g / entries) * 8));
      if (l1e == 0) {
        return 0;
      }
      assertTrue(l1e < 0, "COPIED on L1 entries");
      long l2 = l1e & 0x00fffffffffffe00L;
      long l2e = f.getLong((int) (l2 + (g % entries) * 8));
      if (l2e == 0) {
        return 0;
      }
      assertTrue(l2e < 0, "COPIED on L2 entries");
      return l2e & 0x00fffffffffffe00L;
    }

    int refcount(long hostCluster) {
      long rtOff = f.getLong(48);
      int perBlock = (1 << clusterBits) * 8 / 16;
      long rbOff = f.getLong((int) (rtOff + (hostCluster / perBlock) * 8));
      return rbOff == 0 ? 0 : f.getShort((int) (rbOff + (hostCluster % perBlock) * 2)) & 0xffff;
    }
  }

  static byte[] fill(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 7 + seed | 1);
    }
    return b;
  }

  @Test
  void onlyNonZeroClustersAreStoredAndMappedBack() throws IOException {
    long size = 1200L * 1024 * 1024; // needs 3 L2 tables (512 MiB each)
    Map<Long, byte[]> runs =
        Map.of(
            5000L,
            fill(10, 1), // cluster 0
            (long) C * 3 - 2,
            fill(4, 2), // straddles clusters 2 and 3
            700L * 1024 * 1024,
            fill(C, 3), // second L2 range, one full cluster
            size - 3,
            fill(3, 4)); // the very end
    SparseRaw raw = new SparseRaw(size, runs);
    Out out = new Out();
    Qcow2Writer.Summary s = Qcow2Writer.convert(raw, out, "raw");
    assertEquals(5, s.dataClusters());
    Reader r = new Reader(out.b);
    assertEquals(size, r.size);
    assertEquals(16, r.clusterBits);
    assertEquals(3, r.l1Size);
    assertEquals(s.fileSize(), out.b.length);
    long guestClusters = size / C;
    int mapped = 0;
    for (long g = 0; g < guestClusters; g++) {
      long h = r.host(g);
      byte[] expect = raw.bytes(g * C, C);
      boolean zero = Arrays.equals(expect, new byte[C]);
      if (zero) {
        assertEquals(0, h, "zero cluster " + g + " is not stored");
      } else {
        mapped++;
        assertArrayEquals(expect, Arrays.copyOfRange(out.b, (int) h, (int) h + C), "cluster " + g);
      }
    }
    assertEquals(5, mapped);
    // every cluster of the file has refcount 1, none beyond
    long clusters = out.b.length / C;
    for (long c = 0; c < clusters; c++) {
      assertEquals(1, r.refcount(c), "refcount of host cluster " + c);
    }
    assertEquals(0, r.refcount(clusters));
  }

  @Test
  void sameRawBytesWithDifferentHostMetadataGiveIdenticalQcow2() throws IOException {
    try (FileSystem fs =
        Jimfs.newFileSystem(
            Configuration.unix().toBuilder()
                .setAttributeViews("basic", "owner", "posix")
                .build())) {
      byte[] rawBytes = new byte[3 * C + 512];
      System.arraycopy(fill(777, 9), 0, rawBytes, C + 5, 777);
      Path a = fs.getPath("/a.raw");
      Path b = fs.getPath("/b.raw");
      Files.write(a, rawBytes);
      Files.write(b, rawBytes);
      Files.setLastModifiedTime(b, FileTime.fromMillis(42));
      Files.setOwner(b, fs.getUserPrincipalLookupService().lookupPrincipalByName("eve"));
      Qcow2Writer.convert(a, fs.getPath("/a.qcow2"));
      Qcow2Writer.convert(b, fs.getPath("/b.qcow2"));
      assertArrayEquals(
          Files.readAllBytes(fs.getPath("/a.qcow2")), Files.readAllBytes(fs.getPath("/b.qcow2")));
    }
  }

  @Test
  void allZeroImageHasNoDataClusters() throws IOException {
    Out out = new Out();
    Qcow2Writer.Summary s = Qcow2Writer.convert(new SparseRaw(10L * C, Map.of()), out, "zeros");
    assertEquals(0, s.dataClusters());
    Reader r = new Reader(out.b);
    assertEquals(0, r.f.getLong((int) r.l1Off), "no L2 table at all");
    assertEquals(4, out.b.length / C, "header, L1, refcount table, one refcount block");
  }

  @Test
  void badSourcesAreNamedAndLeaveNoOutput() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path odd = fs.getPath("/odd.raw");
      Files.write(odd, new byte[1000]);
      Files.createDirectories(fs.getPath("/out"));
      Qcow2Exception e =
          assertThrows(
              Qcow2Exception.class, () -> Qcow2Writer.convert(odd, fs.getPath("/out/odd.qcow2")));
      assertTrue(
          e.getMessage().startsWith("/odd.raw: size 1000 is not a positive multiple of 512"),
          e.getMessage());
      try (Stream<Path> s = Files.list(fs.getPath("/out"))) {
        assertEquals(List.of(), s.toList());
      }
    }
    SparseRaw growing = new SparseRaw(4L * C, Map.of(0L, fill(8, 1)));
    growing.growAfter = 4; // grows once the first pass has read its 4 clusters
    Qcow2Exception e =
        assertThrows(
            Qcow2Exception.class, () -> Qcow2Writer.convert(growing, new Out(), "disk.raw"));
    assertTrue(
        e.getMessage().startsWith("disk.raw: changed size while being converted"), e.getMessage());
  }
}
