package io.basalt.image.squashfs;

import java.util.Objects;

/**
 * Settings of a squashfs build: compressor and level, block size, threads, the fixed modification
 * time, and which optional structures to write. Immutable and thread-safe; make one with {@link
 * #builder()}. Defaults match mksquashfs: zstd level 15, 128 KiB blocks, fragments with tail
 * packing, duplicate detection, an export table, xattrs.
 */
final class SquashfsOptions {
  private final SquashfsCompression compression;
  private final int level;
  private final int blockSize;
  private final int threads;
  private final long mtime;
  private final boolean keepEntryMtimes;
  private final boolean fragments;
  private final boolean tailPacking;
  private final boolean deduplicate;
  private final boolean exportTable;
  private final boolean xattrs;
  private final int xzDictionarySize;
  private final int gzipWindowBits;
  private final int gzipStrategy;

  private SquashfsOptions(Builder b) {
    compression = b.compression;
    level = b.level != null ? b.level : compression.defaultLevel();
    blockSize = b.blockSize;
    threads = b.threads > 0 ? b.threads : Runtime.getRuntime().availableProcessors();
    mtime = b.mtime;
    keepEntryMtimes = b.keepEntryMtimes;
    fragments = b.fragments;
    tailPacking = b.tailPacking;
    deduplicate = b.deduplicate;
    exportTable = b.exportTable;
    xattrs = b.xattrs;
    xzDictionarySize = b.xzDictionarySize > 0 ? b.xzDictionarySize : blockSize;
    gzipWindowBits = b.gzipWindowBits;
    gzipStrategy = b.gzipStrategy;
    switch (compression) {
      case ZSTD:
        check(level >= 1 && level <= 22, "zstd level", level, "1..22");
        break;
      case GZIP:
        check(level >= 1 && level <= 9, "gzip level", level, "1..9");
        check(
            gzipStrategy >= 0 && gzipStrategy <= 2,
            "gzip strategy",
            gzipStrategy,
            "0..2 (default, filtered, huffman-only)");
        break;
      case XZ:
        check(level >= 0 && level <= 9, "xz preset", level, "0..9");
        check(
            isXzDictSize(xzDictionarySize)
                && xzDictionarySize <= blockSize
                && xzDictionarySize >= 8192,
            "xz dictionary size",
            xzDictionarySize,
            "2^n or 2^n+2^(n-1), 8 KiB..block size");
        break;
      default:
        throw new IllegalArgumentException("compression " + compression);
    }
  }

  private static boolean isXzDictSize(int d) {
    int hi = Integer.highestOneBit(d);
    return d == hi || d == hi + (hi >> 1);
  }

  private static void check(boolean ok, String what, int value, String expected) {
    if (!ok) {
      throw new IllegalArgumentException(
          what + " " + value + " out of range, expected " + expected);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The default options with modification time {@code mtime} (e.g. SOURCE_DATE_EPOCH). */
  public static SquashfsOptions defaults(long mtime) {
    return builder().mtime(mtime).build();
  }

  public SquashfsCompression compression() {
    return compression;
  }

  /** Compression level (zstd 1..22, gzip 1..9, xz preset 0..9). */
  public int level() {
    return level;
  }

  public int blockSize() {
    return blockSize;
  }

  /** Compression threads. */
  public int threads() {
    return threads;
  }

  /** Seconds since the epoch stored as the image's and every inode's mtime. */
  public long mtime() {
    return mtime;
  }

  /** Whether inodes keep their entry's mtime (clamped to {@link #mtime()}) instead of it. */
  public boolean keepEntryMtimes() {
    return keepEntryMtimes;
  }

  public boolean fragments() {
    return fragments;
  }

  public boolean tailPacking() {
    return tailPacking;
  }

  public boolean deduplicate() {
    return deduplicate;
  }

  public boolean exportTable() {
    return exportTable;
  }

  public boolean xattrs() {
    return xattrs;
  }

  public int xzDictionarySize() {
    return xzDictionarySize;
  }

  public int gzipWindowBits() {
    return gzipWindowBits;
  }

  public int gzipStrategy() {
    return gzipStrategy;
  }

  @Override
  public String toString() {
    return compression
        + "-"
        + level
        + " block "
        + blockSize
        + " threads "
        + threads
        + " mtime "
        + mtime;
  }

  /** Builder for {@link SquashfsOptions}. Not thread-safe. */
  public static final class Builder {
    private SquashfsCompression compression = SquashfsCompression.ZSTD;
    private Integer level;
    private int blockSize = 128 * 1024;
    private int threads;
    private long mtime;
    private boolean keepEntryMtimes;
    private boolean fragments = true;
    private boolean tailPacking = true;
    private boolean deduplicate = true;
    private boolean exportTable = true;
    private boolean xattrs = true;
    private int xzDictionarySize;
    private int gzipWindowBits = 15;
    private int gzipStrategy;

    private Builder() {}

    public Builder compression(SquashfsCompression c) {
      compression = Objects.requireNonNull(c, "compression");
      return this;
    }

    /** Level for the chosen compressor; unset means its mksquashfs default. */
    public Builder level(int l) {
      level = l;
      return this;
    }

    /** Block size: a power of two from 4 KiB to 1 MiB (default 128 KiB). */
    public Builder blockSize(int size) {
      if (size < 4096 || size > (1 << 20) || Integer.bitCount(size) != 1) {
        throw new IllegalArgumentException(
            "block size " + size + " must be a power of two from 4096 to 1048576");
      }
      blockSize = size;
      return this;
    }

    /** Compression threads; 0 (default) means every available processor. */
    public Builder threads(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("threads " + n + " < 0");
      }
      threads = n;
      return this;
    }

    /** Fixed modification time in seconds since the epoch (0..2^32-1), e.g. SOURCE_DATE_EPOCH. */
    public Builder mtime(long seconds) {
      if (seconds < 0 || seconds > 0xffffffffL) {
        throw new IllegalArgumentException(
            "mtime " + seconds + " does not fit squashfs' unsigned 32-bit times");
      }
      mtime = seconds;
      return this;
    }

    /**
     * Keep each entry's own mtime, clamped to {@link #mtime(long)} (default false: all equal it).
     */
    public Builder keepEntryMtimes(boolean keep) {
      keepEntryMtimes = keep;
      return this;
    }

    /** Pack files smaller than a block into shared fragment blocks (default true). */
    public Builder fragments(boolean on) {
      fragments = on;
      return this;
    }

    /** Also pack the tail end of larger files into fragments (default true, needs fragments). */
    public Builder tailPacking(boolean on) {
      tailPacking = on;
      return this;
    }

    /** Store identical files once (default true). */
    public Builder deduplicate(boolean on) {
      deduplicate = on;
      return this;
    }

    /** Write the export (inode lookup) table, for NFS export (default true). */
    public Builder exportTable(boolean on) {
      exportTable = on;
      return this;
    }

    /** Store extended attributes (default true). */
    public Builder xattrs(boolean on) {
      xattrs = on;
      return this;
    }

    /** xz dictionary size (default: the block size). */
    public Builder xzDictionarySize(int size) {
      xzDictionarySize = size;
      return this;
    }

    /** gzip strategy: 0 default, 1 filtered, 2 huffman only. */
    public Builder gzipStrategy(int strategy) {
      gzipStrategy = strategy;
      return this;
    }

    public SquashfsOptions build() {
      return new SquashfsOptions(this);
    }
  }
}
