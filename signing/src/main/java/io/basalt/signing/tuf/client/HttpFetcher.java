package io.basalt.signing.tuf.client;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * A {@link Fetcher} for {@code http:}, {@code https:} and {@code file:} URLs with connect and read
 * timeouts and an overall deadline per fetch: a stalled server, or one that trickles bytes fast
 * enough to beat the read timeout, cannot hold the client forever. Immutable and thread-safe.
 */
public final class HttpFetcher implements Fetcher {

  /** The default time one fetch may take, connect to last byte. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(5);

  /** Disconnects fetches whose deadline passed (one daemon thread for every fetcher). */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();

  private final int connectTimeoutMs;
  private final int readTimeoutMs;
  private final Duration deadline;

  /** A fetcher with 15 s connect and 30 s read timeouts and a {@link #DEFAULT_DEADLINE}. */
  public HttpFetcher() {
    this(Duration.ofSeconds(15), Duration.ofSeconds(30));
  }

  /** A fetcher with the given timeouts and a {@link #DEFAULT_DEADLINE}. */
  public HttpFetcher(Duration connectTimeout, Duration readTimeout) {
    this(connectTimeout, readTimeout, DEFAULT_DEADLINE);
  }

  /**
   * A fetcher with the given timeouts and overall deadline per fetch.
   *
   * @throws IllegalArgumentException when the deadline is not positive
   */
  public HttpFetcher(Duration connectTimeout, Duration readTimeout, Duration deadline) {
    if (deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("fetch deadline must be positive, found " + deadline);
    }
    this.connectTimeoutMs = (int) connectTimeout.toMillis();
    this.readTimeoutMs = (int) readTimeout.toMillis();
    this.deadline = deadline;
  }

  private static ScheduledThreadPoolExecutor deadlines() {
    ScheduledThreadPoolExecutor e =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "fetch-deadline");
              t.setDaemon(true);
              return t;
            });
    e.setRemoveOnCancelPolicy(true);
    return e;
  }

  @Override
  public InputStream open(URI uri) throws IOException {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme();
    if (scheme.equals("file")) {
      try {
        return Files.newInputStream(Path.of(uri));
      } catch (NoSuchFileException e) {
        throw new FetchException(uri, 404, "no such file", e);
      }
    }
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new FetchException(uri, -1, "unsupported URL scheme '" + scheme + "'", null);
    }
    long start = System.nanoTime();
    ScheduledFuture<?> abort = null;
    try {
      HttpURLConnection h = (HttpURLConnection) uri.toURL().openConnection();
      abort = DEADLINES.schedule(h::disconnect, deadline.toNanos(), TimeUnit.NANOSECONDS);
      h.setConnectTimeout(connectTimeoutMs);
      h.setReadTimeout(readTimeoutMs);
      h.setInstanceFollowRedirects(true);
      h.setUseCaches(false);
      int status = h.getResponseCode();
      if (status != 200) {
        h.disconnect();
        abort.cancel(false);
        throw new FetchException(uri, status, "HTTP status " + status, null);
      }
      return new Bounded(h.getInputStream(), uri, start, abort);
    } catch (FetchException e) {
      throw e;
    } catch (IOException e) {
      if (abort != null) {
        abort.cancel(false);
      }
      throw pastDeadline(start)
          ? deadlineMissed(uri, e)
          : new FetchException(uri, -1, e.toString(), e);
    }
  }

  private boolean pastDeadline(long startNanos) {
    return System.nanoTime() - startNanos >= deadline.toNanos();
  }

  private FetchException deadlineMissed(URI uri, IOException cause) {
    return new FetchException(
        uri, -1, "not complete within " + deadline + " (the fetch deadline)", cause);
  }

  /** The response body: fails once the deadline has passed; closing cancels the deadline. */
  private final class Bounded extends FilterInputStream {
    private final URI uri;
    private final long start;
    private final ScheduledFuture<?> abort;

    Bounded(InputStream in, URI uri, long start, ScheduledFuture<?> abort) {
      super(in);
      this.uri = uri;
      this.start = start;
      this.abort = abort;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n;
      try {
        n = in.read(b, off, len);
      } catch (IOException e) {
        throw pastDeadline(start) ? deadlineMissed(uri, e) : e;
      }
      if (pastDeadline(start)) {
        throw deadlineMissed(uri, null);
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      abort.cancel(false);
      super.close();
    }
  }
}
