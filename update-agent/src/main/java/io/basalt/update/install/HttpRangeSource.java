package io.basalt.update.install;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

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

  /** Aborts transfers whose deadline passed (one daemon thread for every download). */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();

  private static ScheduledThreadPoolExecutor deadlines() {
    ScheduledThreadPoolExecutor e =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "download-deadline");
              t.setDaemon(true);
              return t;
            });
    e.setRemoveOnCancelPolicy(true);
    return e;
  }

  @Override
  public Opened open(URI uri, long offset) throws IOException {
    return open(uri, offset, (Duration) null);
  }

  /**
   * Opens the transfer and disconnects it when {@code deadline} (null: none) passes, which fails a
   * read blocked in a stalled or trickling transfer at once.
   */
  @Override
  public Opened open(URI uri, long offset, Duration deadline) throws IOException {
    HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
    if (deadline == null) {
      return connect(uri, offset, c);
    }
    ScheduledFuture<?> abort =
        DEADLINES.schedule(c::disconnect, deadline.toNanos(), TimeUnit.NANOSECONDS);
    try {
      Opened o = connect(uri, offset, c);
      InputStream in =
          new FilterInputStream(o.stream()) {
            @Override
            public void close() throws IOException {
              abort.cancel(false);
              super.close();
            }
          };
      return new Opened(in, o.offset());
    } catch (IOException | RuntimeException e) {
      abort.cancel(false);
      throw e;
    }
  }

  private Opened connect(URI uri, long offset, HttpURLConnection c) throws IOException {
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
