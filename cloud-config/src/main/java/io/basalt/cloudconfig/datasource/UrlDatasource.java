package io.basalt.cloudconfig.datasource;

import io.basalt.cloudconfig.Metadata;
import io.basalt.host.KernelCommandLine;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;

/**
 * User-data from {@code cloud-config-url=} on the kernel command line, fetched over HTTPS (plain
 * HTTP only with {@code basalt.cloud-config-url.insecure=1}) with retries: exponential backoff from
 * {@code initialBackoff} doubling up to {@code maxBackoff}, giving up once {@code maxWait} has
 * passed (network may come up late; a machine must not hang forever). {@code maxWait} bounds the
 * whole fetch, transfers included: each attempt, from connecting to the last byte of the body, has
 * at most {@link #ATTEMPT_TIMEOUT} and never runs past it. A body over {@link #MAX_BODY_BYTES} is
 * refused. 404 and other 4xx mean "no user-data" at once; 5xx, connection errors and slow transfers
 * are retried. Immutable and thread-safe.
 */
final class UrlDatasource implements Datasource {

  /** The kernel parameter. */
  public static final String PARAMETER = KernelCommandLine.CLOUD_CONFIG_URL;

  /** The kernel parameter that accepts a plain http URL. */
  public static final String INSECURE = KernelCommandLine.CLOUD_CONFIG_URL_INSECURE;

  /** The largest user-data body accepted: 1 MiB. */
  static final int MAX_BODY_BYTES = 1 << 20;

  /** The longest one attempt may take, connection to last byte of the body. */
  static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(30);

  private final Path cmdline;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Duration maxWait;
  private final Consumer<String> log;
  private final SSLContext tls;

  /**
   * @param cmdline the kernel command line file ({@code /proc/cmdline})
   * @param maxWait the bound on the whole fetch, retries and transfers included
   * @param log receives one line per failed attempt and the warnings about plain http
   */
  public UrlDatasource(
      Path cmdline,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration maxWait,
      Consumer<String> log) {
    this(cmdline, initialBackoff, maxBackoff, maxWait, log, null);
  }

  /** As above, with the TLS context to trust (null: the JDK's default trust store). */
  UrlDatasource(
      Path cmdline,
      Duration initialBackoff,
      Duration maxBackoff,
      Duration maxWait,
      Consumer<String> log,
      SSLContext tls) {
    this.cmdline = Objects.requireNonNull(cmdline, "cmdline");
    this.initialBackoff = Objects.requireNonNull(initialBackoff, "initialBackoff");
    this.maxBackoff = Objects.requireNonNull(maxBackoff, "maxBackoff");
    this.maxWait = Objects.requireNonNull(maxWait, "maxWait");
    this.log = Objects.requireNonNull(log, "log");
    this.tls = tls;
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

  /**
   * Whether {@code cmdline} accepts a plain http URL: {@code basalt.cloud-config-url.insecure=1} or
   * the bare flag, the last occurrence winning.
   */
  static boolean insecureAllowed(String cmdline) {
    String v = KernelCommandLine.parse(cmdline).get(INSECURE);
    return v != null && (v.isEmpty() || v.equals("1"));
  }

  @Override
  public Optional<Found> fetch() throws IOException {
    if (!Files.isRegularFile(cmdline)) {
      return Optional.empty();
    }
    String line = Files.readString(cmdline, StandardCharsets.UTF_8);
    String url = urlFrom(line);
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
    if (scheme.equals("http")) {
      if (!insecureAllowed(line)) {
        String refused =
            PARAMETER
                + "="
                + redact(uri)
                + ": refusing plain http: user-data runs as root and anyone on the network path"
                + " can change it; serve it over https, or add "
                + INSECURE
                + "=1 to the kernel command line to accept http on a network you trust";
        log.accept("WARNING: " + refused);
        throw new IOException(refused);
      }
      log.accept(
          "WARNING: "
              + PARAMETER
              + "="
              + redact(uri)
              + ": fetching user-data over plain http ("
              + INSECURE
              + "=1): anyone on the network path can change what this machine runs as root");
    }
    return Optional.of(new Found("url:" + redact(uri), get(uri), Metadata.none()));
  }

  /** GETs {@code uri} with retries within {@code maxWait}; returns the body. */
  byte[] get(URI uri) throws IOException {
    HttpClient.Builder b =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL); // never from https to http
    if (tls != null) {
      b.sslContext(tls);
    }
    HttpClient client = b.build();
    long deadline = System.nanoTime() + maxWait.toNanos();
    Duration backoff = initialBackoff;
    int attempt = 0;
    while (true) {
      attempt++;
      String problem;
      long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
      long attemptMs = Math.min(left, ATTEMPT_TIMEOUT.toMillis());
      HttpRequest req =
          HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(attemptMs)).GET().build();
      CompletableFuture<HttpResponse<byte[]>> pending =
          client.sendAsync(
              req,
              info ->
                  info.statusCode() == 200
                      ? new LimitedBody(uri, info.headers().firstValueAsLong("Content-Length"))
                      : HttpResponse.BodySubscribers.replacing(null));
      try {
        HttpResponse<byte[]> resp = pending.get(attemptMs, TimeUnit.MILLISECONDS);
        int code = resp.statusCode();
        if (code == 200) {
          return resp.body();
        }
        if (code >= 300 && code < 500) {
          throw new IOException(
              "GET "
                  + redact(uri)
                  + " returned HTTP "
                  + code
                  + (code < 400 ? " (a redirect from https to plain http is not followed)" : ""));
        }
        problem = "HTTP " + code;
      } catch (TimeoutException e) {
        pending.cancel(true);
        problem =
            "transfer not complete within "
                + attemptMs
                + " ms (the bound on one attempt, connection to last byte)";
      } catch (ExecutionException e) {
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
          if (t instanceof BodyTooLargeException tooLarge) {
            throw new IOException(tooLarge.getMessage(), tooLarge);
          }
        }
        problem = String.valueOf(e.getCause());
      } catch (InterruptedException e) {
        pending.cancel(true);
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

  /** A body over {@link #MAX_BODY_BYTES}: final, never retried. */
  private static final class BodyTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    BodyTooLargeException(URI uri, String what) {
      super(
          "GET "
              + redact(uri)
              + ": "
              + what
              + " is over the 1 MiB ("
              + MAX_BODY_BYTES
              + " bytes) limit for "
              + PARAMETER
              + "= user-data; serve a smaller file");
    }
  }

  /**
   * Collects a 200 body up to {@link #MAX_BODY_BYTES}, refusing a larger declared length before
   * reading and cancelling the transfer once the limit is passed. Used by one exchange.
   */
  private static final class LimitedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final URI uri;
    private final OptionalLong declared;
    private final CompletableFuture<byte[]> body = new CompletableFuture<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private Flow.Subscription subscription;

    LimitedBody(URI uri, OptionalLong declared) {
      this.uri = uri;
      this.declared = declared;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (declared.isPresent() && declared.getAsLong() > MAX_BODY_BYTES) {
        s.cancel();
        body.completeExceptionally(
            new BodyTooLargeException(uri, "Content-Length " + declared.getAsLong()));
        return;
      }
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (body.isDone()) {
        return;
      }
      for (ByteBuffer item : items) {
        if ((long) out.size() + item.remaining() > MAX_BODY_BYTES) {
          subscription.cancel();
          body.completeExceptionally(new BodyTooLargeException(uri, "the body"));
          return;
        }
        byte[] chunk = new byte[item.remaining()];
        item.get(chunk);
        out.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable t) {
      body.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      body.complete(out.toByteArray());
    }
  }
}
