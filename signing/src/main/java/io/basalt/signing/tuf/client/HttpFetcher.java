package io.basalt.signing.tuf.client;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A {@link Fetcher} for {@code http:}, {@code https:} and {@code file:} URLs with connect and read
 * timeouts (a stalled server cannot hold the client forever). Immutable and thread-safe.
 */
public final class HttpFetcher implements Fetcher {
  private final int connectTimeoutMs;
  private final int readTimeoutMs;

  /** A fetcher with 15 s connect and 30 s read timeouts. */
  public HttpFetcher() {
    this(Duration.ofSeconds(15), Duration.ofSeconds(30));
  }

  /** A fetcher with the given timeouts. */
  public HttpFetcher(Duration connectTimeout, Duration readTimeout) {
    this.connectTimeoutMs = (int) connectTimeout.toMillis();
    this.readTimeoutMs = (int) readTimeout.toMillis();
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
    URLConnection c;
    try {
      c = uri.toURL().openConnection();
      HttpURLConnection h = (HttpURLConnection) c;
      h.setConnectTimeout(connectTimeoutMs);
      h.setReadTimeout(readTimeoutMs);
      h.setInstanceFollowRedirects(true);
      h.setUseCaches(false);
      int status = h.getResponseCode();
      if (status != 200) {
        h.disconnect();
        throw new FetchException(uri, status, "HTTP status " + status, null);
      }
      return h.getInputStream();
    } catch (FetchException e) {
      throw e;
    } catch (IOException e) {
      throw new FetchException(uri, -1, e.toString(), e);
    }
  }
}
