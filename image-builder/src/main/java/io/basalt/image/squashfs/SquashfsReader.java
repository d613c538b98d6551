package io.basalt.image.squashfs;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.tukaani.xz.XZInputStream;

/**
 * Reads single files out of a squashfs 4.0 image (Linux fs/squashfs/squashfs_fs.h): the superblock,
 * directory lookups by path, and regular files' data and fragment blocks, compressed with gzip, xz
 * or zstd. Enough to take one file (the boot loader) and the build time out of a {@code usr.img}
 * without mounting it; not a general extractor (no symlinks followed, no xattrs). Not thread-safe.
 */
public final class SquashfsReader {
  private static final int SUPERBLOCK_SIZE = 96;
  private static final int METADATA_SIZE = 8192;
  private static final int UNCOMPRESSED_DATA = 1 << 24;
  private static final int NO_FRAGMENT = 0xffffffff;

  private final SeekableByteChannel ch;
  private final long base;
  private final int mtime;
  private final int blockSize;
  private final int compression;
  private final long rootInode;
  private final long inodeTable;
  private final long dirTable;
  private final long fragmentTable;
  private final int fragments;

  private SquashfsReader(SeekableByteChannel ch, long base) throws IOException {
    this.ch = ch;
    this.base = base;
    ByteBuffer sb = read(base, SUPERBLOCK_SIZE);
    int magic = sb.getInt(0);
    if (magic != SquashfsWriter.MAGIC) {
      throw new IOException(
          String.format(
              java.util.Locale.ROOT,
              "not a squashfs image: magic 0x%08x, expected 0x%08x",
              magic,
              SquashfsWriter.MAGIC));
    }
    if (sb.getShort(28) != 4) {
      throw new IOException("squashfs major version " + sb.getShort(28) + ", expected 4");
    }
    mtime = sb.getInt(8);
    blockSize = sb.getInt(12);
    fragments = sb.getInt(16);
    compression = sb.getShort(20) & 0xffff;
    rootInode = sb.getLong(32);
    inodeTable = sb.getLong(64);
    dirTable = sb.getLong(72);
    fragmentTable = sb.getLong(80);
  }

  /**
   * Opens the image that starts at {@code offset} of {@code ch} (the channel stays the caller's).
   *
   * @throws IOException if the superblock is not a squashfs 4.0 one
   */
  public static SquashfsReader open(SeekableByteChannel ch, long offset) throws IOException {
    return new SquashfsReader(ch, offset);
  }

  /** The superblock's modification time (what the builder sets to SOURCE_DATE_EPOCH). */
  public long mtime() {
    return Integer.toUnsignedLong(mtime);
  }

  /**
   * The contents of the regular file at {@code path} (absolute, inside the image), if there is one.
   *
   * @throws IOException if the image cannot be read or is malformed, naming the path
   */
  public Optional<byte[]> readFile(String path) throws IOException {
    if (!path.startsWith("/")) {
      throw new IllegalArgumentException("path must be absolute, found " + path);
    }
    long ref = rootInode;
    for (String name : path.substring(1).split("/")) {
      if (name.isEmpty()) {
        continue;
      }
      Optional<Long> child = lookup(ref, name, path);
      if (child.isEmpty()) {
        return Optional.empty();
      }
      ref = child.get();
    }
    return fileData(ref, path);
  }

  /** The inode ref of {@code name} in the directory at {@code dirRef}. */
  private Optional<Long> lookup(long dirRef, String name, String path) throws IOException {
    Meta in = new Meta(inodeTable + (dirRef >>> 16), (int) (dirRef & 0xffff));
    ByteBuffer h = in.take(16);
    int type = h.getShort(0) & 0xffff;
    long start;
    int offset;
    long size;
    if (type == SquashfsWriter.DIR) {
      ByteBuffer d = in.take(16);
      start = Integer.toUnsignedLong(d.getInt(0));
      size = d.getShort(8) & 0xffff;
      offset = d.getShort(10) & 0xffff;
    } else if (type == SquashfsWriter.DIR + SquashfsWriter.EXTENDED) {
      ByteBuffer d = in.take(24);
      size = Integer.toUnsignedLong(d.getInt(4));
      start = Integer.toUnsignedLong(d.getInt(8));
      offset = d.getShort(18) & 0xffff;
    } else {
      return Optional.empty();
    }
    // the listing's size counts 3 bytes more than it holds (squashfs_fs.h, "." and "..")
    long remaining = size - 3;
    Meta dir = new Meta(dirTable + start, offset);
    byte[] want = name.getBytes(StandardCharsets.UTF_8);
    while (remaining > 0) {
      ByteBuffer hdr = dir.take(12);
      remaining -= 12;
      int count = hdr.getInt(0) + 1;
      long inodeBlock = Integer.toUnsignedLong(hdr.getInt(4));
      for (int i = 0; i < count; i++) {
        ByteBuffer e = dir.take(8);
        int inodeOffset = e.getShort(0) & 0xffff;
        int nameLen = (e.getShort(6) & 0xffff) + 1;
        byte[] n = new byte[nameLen];
        dir.take(nameLen).get(n);
        remaining -= 8 + nameLen;
        if (java.util.Arrays.equals(n, want)) {
          return Optional.of(inodeBlock << 16 | inodeOffset);
        }
      }
    }
    if (remaining < 0) {
      throw new IOException(path + ": squashfs directory listing overruns its size");
    }
    return Optional.empty();
  }

  private Optional<byte[]> fileData(long ref, String path) throws IOException {
    Meta in = new Meta(inodeTable + (ref >>> 16), (int) (ref & 0xffff));
    int type = in.take(16).getShort(0) & 0xffff;
    long blocksStart;
    long fileSize;
    int fragment;
    int fragOffset;
    if (type == SquashfsWriter.REG) {
      ByteBuffer r = in.take(16);
      blocksStart = Integer.toUnsignedLong(r.getInt(0));
      fragment = r.getInt(4);
      fragOffset = r.getInt(8);
      fileSize = Integer.toUnsignedLong(r.getInt(12));
    } else if (type == SquashfsWriter.REG + SquashfsWriter.EXTENDED) {
      ByteBuffer r = in.take(40);
      blocksStart = r.getLong(0);
      fileSize = r.getLong(8);
      fragment = r.getInt(28);
      fragOffset = r.getInt(32);
    } else {
      return Optional.empty();
    }
    if (fileSize > Integer.MAX_VALUE - 8) {
      throw new IOException(path + ": " + fileSize + " bytes is too large to read into memory");
    }
    long full = fileSize / blockSize;
    long tail = fileSize % blockSize;
    long blocks = fragment == NO_FRAGMENT ? (fileSize + blockSize - 1) / blockSize : full;
    ByteArrayOutputStream out = new ByteArrayOutputStream((int) fileSize);
    long pos = blocksStart;
    for (long i = 0; i < blocks; i++) {
      int word = in.take(4).getInt(0);
      int want = (int) Math.min(blockSize, fileSize - i * blockSize);
      int onDisk = word & ~UNCOMPRESSED_DATA;
      if (onDisk == 0) {
        out.write(new byte[want], 0, want);
        continue;
      }
      byte[] raw = bytes(read(base + pos, onDisk));
      pos += onDisk;
      byte[] data = (word & UNCOMPRESSED_DATA) != 0 ? raw : decompress(raw, blockSize, path);
      if (data.length < want) {
        throw new IOException(path + ": data block " + i + " holds " + data.length + " bytes");
      }
      out.write(data, 0, want);
    }
    if (fragment != NO_FRAGMENT && tail > 0) {
      if (Integer.toUnsignedLong(fragment) >= Integer.toUnsignedLong(fragments)) {
        throw new IOException(path + ": fragment " + fragment + " of " + fragments);
      }
      long index = read(base + fragmentTable + 8L * (fragment / 512), 8).getLong(0);
      Meta f = new Meta(index, (fragment % 512) * 16);
      ByteBuffer e = f.take(16);
      long start = e.getLong(0);
      int word = e.getInt(8);
      byte[] raw = bytes(read(base + start, word & ~UNCOMPRESSED_DATA));
      byte[] data = (word & UNCOMPRESSED_DATA) != 0 ? raw : decompress(raw, blockSize, path);
      if (fragOffset < 0 || fragOffset + tail > data.length) {
        throw new IOException(path + ": fragment " + fragment + " is shorter than the file's tail");
      }
      out.write(data, fragOffset, (int) tail);
    }
    return Optional.of(out.toByteArray());
  }

  /** A metadata stream from a table: blocks of up to 8 KiB, each behind a 2-byte header. */
  private final class Meta {
    private long next;
    private ByteBuffer block = ByteBuffer.allocate(0);

    /** The stream from the metadata block at {@code start} (from the image start), at offset. */
    Meta(long start, int offset) throws IOException {
      this.next = start;
      load();
      skip(offset);
    }

    private void load() throws IOException {
      int header = read(base + next, 2).getShort(0) & 0xffff;
      int len = header & 0x7fff;
      byte[] raw = bytes(read(base + next + 2, len));
      next += 2 + len;
      byte[] data = (header & 0x8000) != 0 ? raw : decompress(raw, METADATA_SIZE, "metadata");
      block = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    }

    private void skip(int n) throws IOException {
      if (n > block.remaining()) {
        throw new IOException("squashfs metadata offset " + n + " beyond its block");
      }
      block.position(block.position() + n);
    }

    ByteBuffer take(int n) throws IOException {
      ByteBuffer out = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
      while (out.hasRemaining()) {
        if (!block.hasRemaining()) {
          load();
        }
        int k = Math.min(out.remaining(), block.remaining());
        out.put(block.array(), block.position(), k);
        block.position(block.position() + k);
      }
      return out.flip();
    }
  }

  private byte[] decompress(byte[] raw, int max, String what) throws IOException {
    return Decompressor.decompress(compression, raw, max, what);
  }

  private ByteBuffer read(long at, int n) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    ch.position(at);
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new EOFException("squashfs image ends before byte " + (at + n));
      }
    }
    return b.flip();
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.get(a);
    return a;
  }

  /**
   * The block decompressors, in a class of their own: the zstd and xz libraries are loaded only
   * when a compressed block is read (a Basalt host, which ships neither, reads just the
   * superblock).
   */
  private static final class Decompressor {
    private Decompressor() {}

    static byte[] decompress(int compression, byte[] raw, int max, String what) throws IOException {
      try {
        if (compression == SquashfsCompression.ZSTD.id()) {
          byte[] dst = new byte[max];
          long n = Zstd.decompressByteArray(dst, 0, max, raw, 0, raw.length);
          if (Zstd.isError(n)) {
            throw new IOException(what + ": zstd: " + Zstd.getErrorName(n));
          }
          return java.util.Arrays.copyOf(dst, (int) n);
        } else if (compression == SquashfsCompression.GZIP.id()) {
          Inflater inf = new Inflater();
          try {
            inf.setInput(raw);
            byte[] dst = new byte[max];
            int n = inf.inflate(dst);
            return java.util.Arrays.copyOf(dst, n);
          } finally {
            inf.end();
          }
        } else if (compression == SquashfsCompression.XZ.id()) {
          try (InputStream in = new XZInputStream(new ByteArrayInputStream(raw))) {
            return in.readNBytes(max);
          }
        }
      } catch (DataFormatException e) {
        throw new IOException(what + ": " + e.getMessage(), e);
      }
      throw new IOException("squashfs compression id " + compression + " is not supported");
    }
  }
}
