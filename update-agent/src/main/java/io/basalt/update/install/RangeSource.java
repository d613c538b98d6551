package io.basalt.update.install;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;

/**
 * Opens a download at a byte offset (HTTP {@code Range: bytes=N-}). Implementations need not bound
 * lengths; {@link ResumableDownload} reads at most what it allows.
 */
@FunctionalInterface
public interface RangeSource {

  /** An opened stream and the offset it really starts at (0 when the server ignored the range). */
  record Opened(InputStream stream, long offset) {}

  /**
   * Opens {@code uri} starting at {@code offset}.
   *
   * @throws IOException when the server refuses or the transport fails
   */
  Opened open(URI uri, long offset) throws IOException;

  /**
   * Opens {@code uri} starting at {@code offset}, with the whole transfer (connect, headers, body)
   * due within {@code deadline}: an implementation that can abort a blocked transfer does so when
   * the deadline passes. The default ignores the deadline ({@link ResumableDownload} still checks
   * it between reads).
   *
   * @throws IOException when the server refuses or the transport fails
   */
  default Opened open(URI uri, long offset, Duration deadline) throws IOException {
    return open(uri, offset);
  }
}
