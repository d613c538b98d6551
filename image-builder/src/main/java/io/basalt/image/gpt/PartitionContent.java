package io.basalt.image.gpt;

import io.basalt.image.tree.Content;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;

/**
 * Writes the data of one partition into a window of the disk: position 0 of the window is the
 * partition's first byte, and writing past its last byte fails. Parts of the window not written are
 * left as they are (zero on a fresh disk file). Implementations decide their thread-safety; the
 * writer calls each one once, from one thread.
 */
@FunctionalInterface
public interface PartitionContent {

  /**
   * Writes the partition's data.
   *
   * @param window the partition's bytes; {@link SeekableByteChannel#size()} is the partition size
   * @throws IOException if the data cannot be produced or does not fit
   */
  void write(SeekableByteChannel window) throws IOException;

  /** No data: the partition is left as it is (zeros on a fresh disk). */
  static PartitionContent empty() {
    return window -> {};
  }

  /**
   * The bytes of a file (for example a squashfs image built beforehand), copied to the start of the
   * partition. The size is taken now; a file whose size differs when it is copied is an error
   * naming it ({@link io.basalt.image.tree.ContentChangedException}).
   *
   * @throws IOException if the file cannot be examined
   */
  static PartitionContent ofFile(Path file) throws IOException {
    return of(Content.ofFile(file));
  }

  /** The bytes of {@code content} copied to the start of the partition. */
  static PartitionContent of(Content content) {
    return window -> {
      if (content.size() > window.size()) {
        throw new IOException(
            content
                + ": "
                + content.size()
                + " bytes do not fit the partition of "
                + window.size()
                + " bytes");
      }
      try (InputStream in = content.open()) {
        byte[] buf = new byte[1 << 20];
        int n;
        while ((n = in.read(buf)) > 0) {
          ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
          while (bb.hasRemaining()) {
            window.write(bb);
          }
        }
      }
    };
  }
}
