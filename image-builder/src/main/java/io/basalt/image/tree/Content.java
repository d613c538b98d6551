package io.basalt.image.tree;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The bytes of a regular file in an image tree: a declared size and a stream that can be opened any
 * number of times. Implementations are immutable and thread-safe; each {@link #open()} returns a
 * new stream that fails with {@link ContentChangedException} if the bytes delivered differ in count
 * from {@link #size()}.
 */
public interface Content {

  /** The number of bytes {@link #open()} delivers. */
  long size();

  /**
   * Opens a fresh stream over the content.
   *
   * @throws IOException if the source cannot be read
   */
  InputStream open() throws IOException;

  /**
   * Opens a fresh stream over the content from byte {@code offset} on (to the end).
   *
   * @throws IOException if the source cannot be read
   * @throws IllegalArgumentException if {@code offset} is outside {@code [0, size()]}
   */
  default InputStream openAt(long offset) throws IOException {
    if (offset < 0 || offset > size()) {
      throw new IllegalArgumentException("offset " + offset + " outside 0.." + size());
    }
    InputStream in = open();
    try {
      in.skipNBytes(offset);
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
    return in;
  }

  /**
   * SHA-256 of the bytes {@link #open()} delivers when it is known without reading them (from a
   * content index made with the source), else null. A new array each call.
   */
  default byte[] sha256() {
    return null;
  }

  /** Content held in memory (the array is copied). */
  static Content ofBytes(byte[] bytes) {
    byte[] copy = bytes.clone();
    return new Content() {
      @Override
      public long size() {
        return copy.length;
      }

      @Override
      public InputStream open() {
        return new ByteArrayInputStream(copy);
      }

      @Override
      public String toString() {
        return "bytes[" + copy.length + "]";
      }
    };
  }

  /**
   * Content of a host file, sized now; reading it later checks that it still has that size, so a
   * file that changes while an image is written gives an error naming it instead of a corrupt
   * image.
   *
   * @throws IOException if the file cannot be examined
   */
  static Content ofFile(Path file) throws IOException {
    long size = Files.size(file);
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(file + ": not a regular file");
    }
    return new Content() {
      @Override
      public long size() {
        return size;
      }

      @Override
      public InputStream open() throws IOException {
        return checked(Files.newInputStream(file), size, file.toString());
      }

      @Override
      public String toString() {
        return file.toString();
      }
    };
  }

  /**
   * Wraps {@code in} so that reading fewer or more than {@code size} bytes throws {@link
   * ContentChangedException} naming {@code what}.
   */
  static InputStream checked(InputStream in, long size, String what) {
    Objects.requireNonNull(in, "in");
    return new FilterInputStream(in) {
      private long seen;

      @Override
      public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
          end();
        } else {
          count(1);
        }
        return b;
      }

      @Override
      public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        if (n < 0) {
          end();
        } else {
          count(n);
        }
        return n;
      }

      @Override
      public long skip(long n) throws IOException {
        long k = super.skip(n);
        if (k > 0) {
          seen += k;
          if (seen > size) {
            throw new ContentChangedException(what, size, seen);
          }
        }
        return k;
      }

      private void count(int n) throws ContentChangedException {
        seen += n;
        if (seen > size) {
          throw new ContentChangedException(what, size, seen);
        }
      }

      private void end() throws ContentChangedException {
        if (seen != size) {
          throw new ContentChangedException(what, size, seen);
        }
      }
    };
  }
}
