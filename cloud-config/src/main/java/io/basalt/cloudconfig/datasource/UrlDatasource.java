package io.basalt.cloudconfig.datasource;

import io.basalt.cloudconfig.Metadata;
import io.basalt.host.KernelCommandLine;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * User-data from {@code cloud-config-url=} on the kernel command line, fetched over HTTP(S) with
 * retries: exponential backoff from {@code initialBackoff} doubling up to {@code maxBackoff},
 * giving up once {@code maxWait} has passed (network may come up late; a machine must not hang
 * forever). 404 and other 4xx mean "no user-data" at once; 5xx and connection errors are retried.
 * Immutable and thread-safe.
 */
final class UrlDatasource implements Datasource {

  /** The kernel parameter. */
  public static final String PARAMETER = KernelCommandLine.CLOUD_CONFIG_URL;

  private final Path cmdline;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration maxWait;
  private final Consumer<String> log;

  /**
   * @param cmdline the kernel command line file ({@code /proc/cmdline})
   * @param log receives one line per failed attempt
   */
  public UrlDatasource(
      Path cmdline,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration maxWait,
      Consumer<String> log) {
    this.cmdline = Objects.requireNonNull(cmdline, "cmdline");
    this.initialBackoff = Objects.requireNonNull(initialBackoff, "initialBackoff");
    this.maxBackoff = Objects.requireNonNull(maxBackoff, "maxBackoff");
    this.maxWait = Objects.requireNonNull(maxWait, "maxWait");
    this.log = Objects.requireNonNull(log, "log");
  }

  @Override
  public String name() {
    return "cmdline-url";
  }

  /** The value of {@code cloud-config-url=} in {@code cmdline}, or null. */
  public static String urlFrom(String cmdline) {
    String found = null;
    for (String arg : cmdline.trim().split("\\s+")) {
      if (arg.startsWith(PARAMETER + "=")) {
        found = arg.substring(PARAMETER.length() + 1); // the last one wins, as for the kernel
      }
    }
    return found == null || found.isEmpty() ? null : found;
  }

  @Override
  public Optional<Found> fetch() throws IOException {
    if (!Files.isRegularFile(cmdline)) {
      return Optional.empty();
    }
    String url = urlFrom(Files.readString(cmdline, StandardCharsets.UTF_8));
    if (url == null) {
      return Optional.empty();
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IOException(PARAMETER + " is not a valid URL: " + e.getMessage(), e);
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IOException(
          PARAMETER + " must be an http or https URL, found scheme '" + scheme + "'");
    }
    return Optional.of(new Found("url:" + redact(uri), get(uri), Metadata.none()));
  }

  /** GETs {@code uri} with retries; returns the body. */
  byte[] get(URI uri) throws IOException {
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    long deadline = System.nanoTime() + maxWait.toNanos();
    Duration backoff = initialBackoff;
    int attempt = 0;
    while (true) {
      attempt++;
      String problem;
      try {
        long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        HttpRequest req =
            HttpRequest.newBuilder(uri)
                .timeout(Duration.ofMillis(Math.min(left, 30_000)))
                .GET()
                .build();
        HttpResponse<byte[]> resp = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
        int code = resp.statusCode();
        if (code == 200) {
          return resp.body();
        }
        if (code >= 400 && code < 500) {
          throw new IOException("GET " + redact(uri) + " returned HTTP " + code);
        }
        problem = "HTTP " + code;
      } catch (IOException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("GET ")) {
          throw e;
        }
        problem = e.toString();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while fetching " + redact(uri), e);
      }
      long now = System.nanoTime();
      if (now + backoff.toNanos() > deadline) {
        throw new IOException(
            "gave up fetching "
                + redact(uri)
                + " after "
                + attempt
                + " attempts within "
                + maxWait.toSeconds()
                + " s; last: "
                + problem);
      }
      log.accept(
          "fetching "
              + redact(uri)
              + " failed (attempt "
              + attempt
              + ": "
              + problem
              + "); retrying in "
              + backoff.toMillis()
              + " ms");
      try {
        Thread.sleep(backoff.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while fetching " + redact(uri), e);
      }
      backoff =
          backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
    }
  }

  /** The URL without user info or query (they may carry tokens). */
  static String redact(URI uri) {
    return uri.getScheme()
        + "://"
        + uri.getHost()
        + (uri.getPort() >= 0 ? ":" + uri.getPort() : "")
        + (uri.getRawPath() == null ? "" : uri.getRawPath())
        + (uri.getRawQuery() != null ? "?..." : "");
  }
}
