package io.basalt.image.squashfs;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.zip.Deflater;
import org.tukaani.xz.BasicArrayCache;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZ;
import org.tukaani.xz.XZOutputStream;

/**
 * One compressor instance for squashfs blocks. Not thread-safe: each compression thread owns its
 * own instance (native zstd contexts, deflaters and xz caches are stateful).
 */
abstract class Codec implements AutoCloseable {

  /**
   * Compresses {@code src[off, off+len)} into {@code dst} (at least {@link #bound(int)} long).
   *
   * @return the compressed length, or -1 when the result would not be smaller than {@code len} (the
   *     caller then stores the block uncompressed, as mksquashfs does)
   */
  abstract int compress(byte[] src, int off, int len, byte[] dst) throws IOException;

  /** A destination size large enough for {@link #compress}. */
  int bound(int len) {
    return len + (len >>> 3) + 256;
  }

  @Override
  public void close() {}

  static Codec create(SquashfsOptions o) {
    switch (o.compression()) {
      case ZSTD:
        return new ZstdCodec(o.level());
      case GZIP:
        return new GzipCodec(o.level(), o.gzipWindowBits(), o.gzipStrategy());
      case XZ:
        return new XzCodec(o.level(), o.xzDictionarySize());
      default:
        throw new IllegalArgumentException("unsupported compression " + o.compression());
    }
  }

  /** zstd frames, as squashfs-tools' zstd_wrapper writes them (ZSTD_compressCCtx at a level). */
  static final class ZstdCodec extends Codec {
    private final ZstdCompressCtx ctx;

    ZstdCodec(int level) {
      ctx = new ZstdCompressCtx();
      ctx.setLevel(level);
    }

    @Override
    int bound(int len) {
      return (int) Zstd.compressBound(len);
    }

    @Override
    int compress(byte[] src, int off, int len, byte[] dst) {
      int n = ctx.compressByteArray(dst, 0, dst.length, src, off, len);
      return n < len ? n : -1;
    }

    @Override
    public void close() {
      ctx.close();
    }
  }

  /** zlib streams (squashfs "gzip" is zlib-wrapped deflate). */
  static final class GzipCodec extends Codec {
    private final Deflater deflater;

    GzipCodec(int level, int windowBits, int strategy) {
      if (windowBits != 15) {
        // java.util.zip.Deflater always uses a 32 KiB window; refuse rather than mislabel.
        throw new IllegalArgumentException(
            "gzip window bits " + windowBits + " unsupported, only 15");
      }
      deflater = new Deflater(level, false);
      deflater.setStrategy(strategy);
    }

    @Override
    int compress(byte[] src, int off, int len, byte[] dst) {
      deflater.reset();
      deflater.setInput(src, off, len);
      deflater.finish();
      int n = 0;
      while (!deflater.finished() && n < len) {
        n += deflater.deflate(dst, n, len - n);
      }
      return deflater.finished() && n < len ? n : -1;
    }

    @Override
    public void close() {
      deflater.end();
    }
  }

  /** xz streams with one LZMA2 filter and a CRC32 check (what the kernel's xz decoder accepts). */
  static final class XzCodec extends Codec {
    private final LZMA2Options options;
    private final BasicArrayCache cache = new BasicArrayCache();
    private final Buffer buffer = new Buffer();

    XzCodec(int preset, int dictSize) {
      try {
        options = new LZMA2Options(preset);
        options.setDictSize(dictSize);
      } catch (org.tukaani.xz.UnsupportedOptionsException e) {
        throw new IllegalArgumentException(
            "xz preset " + preset + " / dictionary " + dictSize + ": " + e.getMessage(), e);
      }
    }

    @Override
    int compress(byte[] src, int off, int len, byte[] dst) throws IOException {
      buffer.reset();
      try (XZOutputStream xz = new XZOutputStream(buffer, options, XZ.CHECK_CRC32, cache)) {
        xz.write(src, off, len);
      }
      int n = buffer.size();
      if (n >= len || n > dst.length) {
        return -1;
      }
      System.arraycopy(buffer.array(), 0, dst, 0, n);
      return n;
    }

    private static final class Buffer extends ByteArrayOutputStream {
      byte[] array() {
        return buf;
      }
    }
  }
}
