package io.basalt.host;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The content-defined chunker of the update payload: cuts a byte stream where a gear rolling hash
 * of the last 64 bytes matches a mask (FastCDC, Xia et al., USENIX ATC 2016, with normalized
 * chunking level 2), so an insertion or removal moves only the boundaries next to it and unchanged
 * content gives the same chunks wherever it lies. The publisher chunks the new {@code usr.img} with
 * it and the agent chunks its running slot with the parameters the signed index names, so the same
 * bytes always give the same chunks. Immutable, thread-safe.
 *
 * <p>Cut rule (for a chunk starting at {@code s}, positions {@code i} relative to {@code s}): no
 * cut before {@code min}; the hash {@code h = (h << 1) + GEAR[byte]} starts at 0 at {@code min};
 * before {@code avg} a cut follows the byte at {@code i} when the top {@code log2(avg) + 2} bits of
 * {@code h} are zero, from {@code avg} on when the top {@code log2(avg) - 2} bits are zero; at
 * {@code max} the chunk ends anyway; the stream's end ends the last chunk. {@code GEAR} is 256
 * values of SplitMix64 seeded with 0 (Steele et al., OOPSLA 2014).
 *
 * @param min the smallest chunk (except the last), ≥ 64
 * @param avg the normal chunk size, a power of two, {@code min < avg < max}
 * @param max the largest chunk
 */
public record Chunker(int min, int avg, int max) {

  /** The algorithm name recorded in a chunk index. */
  public static final String ALGORITHM = "fastcdc-gear64-nc2";

  /**
   * The chunker the publisher uses (measured on the default image: {@code docs/benchmarks.md},
   * "Delta update bytes").
   */
  public static final Chunker DEFAULT = new Chunker(16 << 10, 64 << 10, 256 << 10);

  private static final long[] GEAR = gear();

  /** Checks the sizes. */
  public Chunker {
    if (min < 64 || Integer.bitCount(avg) != 1 || avg <= min || max <= avg || avg < 256) {
      throw new IllegalArgumentException(
          "chunker sizes: expected 64 <= min < avg < max, avg a power of two >= 256, found min "
              + min
              + ", avg "
              + avg
              + ", max "
              + max);
    }
  }

  /** A chunk found in a stream: its offset, length and sha256 (lower-case hex). */
  public record Cut(long offset, int length, String sha256) {}

  /** Receives the chunks of a stream in order. */
  @FunctionalInterface
  public interface Sink {
    /**
     * Called once per chunk, in stream order, with the chunk's bytes in {@code buf[from, from +
     * length)} (valid only during the call).
     *
     * @throws IOException to stop chunking
     */
    void chunk(Cut cut, byte[] buf, int from) throws IOException;
  }

  /**
   * Chunks {@code in} to its end.
   *
   * @return the number of bytes read
   * @throws IOException from the stream or the sink
   */
  public long chunk(InputStream in, Sink sink) throws IOException {
    return chunk(in, Long.MAX_VALUE, sink);
  }

  /**
   * Chunks at most {@code limit} bytes of {@code in} (fewer when the stream ends first).
   *
   * @return the number of bytes read
   * @throws IOException from the stream or the sink
   */
  public long chunk(InputStream in, long limit, Sink sink) throws IOException {
    int bits = Integer.numberOfTrailingZeros(avg);
    long maskSmall = -1L << (64 - (bits + 2));
    long maskLarge = -1L << (64 - (bits - 2));
    byte[] buf = new byte[Math.max(4 * max, 1 << 20)];
    int start = 0;
    int end = 0;
    long offset = 0;
    boolean eof = false;
    MessageDigest md = sha256();
    HexFormat hex = HexFormat.of();
    while (true) {
      if (!eof && end - start < max) {
        if (start > 0) {
          System.arraycopy(buf, start, buf, 0, end - start);
          end -= start;
          start = 0;
        }
        while (end < buf.length) {
          long left = limit - offset - end;
          if (left <= 0) {
            eof = true;
            break;
          }
          int n = in.read(buf, end, (int) Math.min(buf.length - end, left));
          if (n < 0) {
            eof = true;
            break;
          }
          end += n;
        }
      }
      int avail = end - start;
      if (avail == 0) {
        return offset;
      }
      int len = cut(buf, start, avail, maskSmall, maskLarge);
      md.update(buf, start, len);
      sink.chunk(new Cut(offset, len, hex.formatHex(md.digest())), buf, start);
      offset += len;
      start += len;
    }
  }

  /** The length of the chunk starting at {@code buf[start]} with {@code avail} bytes there. */
  private int cut(byte[] buf, int start, int avail, long maskSmall, long maskLarge) {
    if (avail <= min) {
      return avail;
    }
    int n = Math.min(avail, max);
    int normal = Math.min(n, avg);
    long h = 0;
    int i = min;
    for (; i < normal; i++) {
      h = (h << 1) + GEAR[buf[start + i] & 0xff];
      if ((h & maskSmall) == 0) {
        return i + 1;
      }
    }
    for (; i < n; i++) {
      h = (h << 1) + GEAR[buf[start + i] & 0xff];
      if ((h & maskLarge) == 0) {
        return i + 1;
      }
    }
    return n;
  }

  private static long[] gear() {
    long[] g = new long[256];
    long x = 0;
    for (int i = 0; i < g.length; i++) {
      x += 0x9e3779b97f4a7c15L;
      long z = x;
      z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
      z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
      g[i] = z ^ (z >>> 31);
    }
    return g;
  }

  /** The chunks of a whole stream as a list (tests and small inputs). */
  List<Cut> cuts(InputStream in) throws IOException {
    List<Cut> out = new ArrayList<>();
    chunk(in, (c, b, f) -> out.add(c));
    return out;
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is a required JDK algorithm", e);
    }
  }
}
