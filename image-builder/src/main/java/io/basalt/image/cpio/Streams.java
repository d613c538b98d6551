package io.basalt.image.cpio;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/** Small stream helpers. Not thread-safe. */
final class Streams {
  private Streams() {}

  /** Passes bytes through, counts them, and does not close the underlying stream on close. */
  static final class Counting extends FilterOutputStream {
    private long count;
    private final boolean closeUnderlying;

    Counting(OutputStream out, boolean closeUnderlying) {
      super(out);
      this.closeUnderlying = closeUnderlying;
    }

    long count() {
      return count;
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void close() throws IOException {
      if (closeUnderlying) {
        out.close();
      } else {
        out.flush();
      }
    }
  }
}
