package io.basalt.image.cpio;

import com.github.luben.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Locale;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipParameters;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.UnsupportedOptionsException;
import org.tukaani.xz.XZOutputStream;

/**
 * How a cpio archive is compressed; each form is one the Linux kernel unpacks as an initramfs
 * (CONFIG_RD_GZIP / RD_ZSTD / RD_XZ). Output is deterministic for a given level. Immutable,
 * thread-safe.
 */
enum Compression {
  /** Plain newc cpio (e.g. the early microcode archive, which must not be compressed). */
  NONE(0, 0, 0),
  /** gzip (deflate), header with mtime 0, no file name, OS = Unix. Levels 1..9. */
  GZIP(9, 1, 9),
  /** zstd, one frame with a content checksum, single-threaded. Levels 1..19. */
  ZSTD(12, 1, 19),
  /**
   * xz with LZMA2 and the CRC32 integrity check (the kernel's XZ decoder does not accept the
   * default CRC64 on older kernels: {@code xz --check=crc32}). Presets 0..9.
   */
  XZ(6, 0, 9);

  private final int defaultLevel;
  private final int minLevel;
  private final int maxLevel;

  Compression(int defaultLevel, int minLevel, int maxLevel) {
    this.defaultLevel = defaultLevel;
    this.minLevel = minLevel;
    this.maxLevel = maxLevel;
  }

  /** The level used when none is given: gzip 9, zstd 12, xz 6. */
  public int defaultLevel() {
    return defaultLevel;
  }

  void checkLevel(int level) {
    if (this != NONE && (level < minLevel || level > maxLevel)) {
      throw new IllegalArgumentException(
          name().toLowerCase(Locale.ROOT)
              + " level "
              + level
              + " out of range "
              + minLevel
              + ".."
              + maxLevel);
    }
  }

  /** Wraps {@code out}; closing the result ends the compressed stream and closes {@code out}. */
  OutputStream wrap(OutputStream out, int level) throws IOException {
    switch (this) {
      case NONE:
        return out;
      case GZIP:
        {
          GzipParameters p = new GzipParameters();
          p.setCompressionLevel(level);
          p.setModificationTime(0);
          p.setOperatingSystem(3); // Unix (RFC 1952 2.3.1)
          return new GzipCompressorOutputStream(out, p);
        }
      case ZSTD:
        {
          ZstdOutputStream z = new ZstdOutputStream(out, level);
          z.setChecksum(true);
          z.setWorkers(0);
          return z;
        }
      case XZ:
        try {
          return new XZOutputStream(out, new LZMA2Options(level), org.tukaani.xz.XZ.CHECK_CRC32);
        } catch (UnsupportedOptionsException e) {
          throw new IllegalArgumentException("xz preset " + level + ": " + e.getMessage(), e);
        }
      default:
        throw new AssertionError(this);
    }
  }
}
