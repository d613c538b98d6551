package io.basalt.update.install;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;

/**
 * {@link RangeSource} over {@code HttpURLConnection} (lighter in an idle JVM than {@code
 * java.net.http}): sends {@code Range: bytes=N-} and accepts 206 with a matching {@code
 * Content-Range} start, or 200 meaning "from the beginning". Thread-safe.
 */
public final class HttpRangeSource implements RangeSource {

  private final int timeoutMillis;

  /** Uses {@code timeout} for connecting and for each read. */
  public HttpRangeSource(Duration timeout) {
    this.timeoutMillis = (int) timeout.toMillis();
  }

  @Override
  public Opened open(URI uri, long offset) throws IOException {
    HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
    c.setConnectTimeout(timeoutMillis);
    c.setReadTimeout(timeoutMillis);
    c.setInstanceFollowRedirects(true);
    if (offset > 0) {
      c.setRequestProperty("Range", "bytes=" + offset + "-");
    }
    int status = c.getResponseCode();
    if (status == 206) {
      String cr = c.getHeaderField("Content-Range");
      long start = -1;
      if (cr != null && cr.startsWith("bytes ")) {
        try {
          start = Long.parseLong(cr.substring(6, cr.indexOf('-')));
        } catch (RuntimeException e) {
          start = -1;
        }
      }
      if (start != offset) {
        c.disconnect();
        throw new IOException(
            uri + ": asked for bytes from " + offset + ", server answered Content-Range " + cr);
      }
      return new Opened(c.getInputStream(), offset);
    }
    if (status == 200) {
      return new Opened(c.getInputStream(), 0);
    }
    c.disconnect();
    throw new IOException(uri + ": HTTP status " + status);
  }
}
