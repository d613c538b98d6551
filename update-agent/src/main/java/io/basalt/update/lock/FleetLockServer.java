package io.basalt.update.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A FleetLock protocol server ({@code /v1/pre-reboot}, {@code /v1/steady-state}) backed by the same
 * locksmith-format etcd semaphore as {@link RebootLock}, so Zincati-style clients and Basalt agents
 * share one lock. Group {@code default} maps to locksmith's default key.
 *
 * <p>With a token, every request must carry {@code Authorization: Bearer <token>} (compared in
 * constant time) or gets 401 before anything else is looked at. Holder ids and etcd details are
 * only told to authenticated callers; without a token ({@link Settings#noAuth}) no caller is
 * authenticated and errors are generic. A request (head and body) must arrive within the read
 * timeout (else 408 and the connection is closed), its head within 16 KiB (431) and its body within
 * 64 KiB (413). Connections are served by a fixed pool of worker threads with a bounded queue; when
 * both are full a connection gets 503 at once. One request per connection.
 *
 * <p>Errors are answered as {@code {"kind":..,"value":..}}: 400 missing header / bad body, 401,
 * 404, 405, 408, 409 {@code failed_lock} when full, 411, 413, 431, 500 {@code malformed_semaphore},
 * 503 {@code etcd_unavailable} / {@code busy}. Thread-safe.
 */
public final class FleetLockServer implements AutoCloseable {

  /**
   * How the server admits requests.
   *
   * @param token the bearer token every request must carry, or null to serve without authentication
   *     (then holder ids are never revealed)
   * @param readTimeout how long one request (head and body) may take to arrive
   * @param workers worker threads; connections beyond them wait in a queue of 64
   */
  public record Settings(String token, Duration readTimeout, int workers) {
    public Settings {
      if (token != null && !FleetLockToken.isValid(token)) {
        throw new IllegalArgumentException(
            "FleetLock token must be 1-4096 visible ASCII characters without spaces");
      }
      if (readTimeout.isNegative() || readTimeout.isZero()) {
        throw new IllegalArgumentException("read timeout must be positive, got " + readTimeout);
      }
      if (workers < 1) {
        throw new IllegalArgumentException("workers must be at least 1, got " + workers);
      }
    }

    /** Requests must carry {@code token}; 10 s read timeout, 16 workers. */
    public static Settings withToken(String token) {
      return new Settings(token, Duration.ofSeconds(10), 16);
    }

    /** No authentication; 10 s read timeout, 16 workers. */
    public static Settings noAuth() {
      return new Settings(null, Duration.ofSeconds(10), 16);
    }

    /** The same settings with another read timeout. */
    public Settings withReadTimeout(Duration d) {
      return new Settings(token, d, workers);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern GROUP = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final int MAX_BODY = 64 * 1024;
  private static final int MAX_HEAD = 16 * 1024;
  private static final int MAX_HEADERS = 100;
  private static final int QUEUE = 64;
  private static final int DRAIN_LIMIT = 1024 * 1024;
  private static final int DRAIN_MILLIS = 1000;

  private final EtcdClient etcd;
  private final Clock clock;
  private final RetryPolicy retry;
  private final Settings settings;
  private final Consumer<String> log;
  private final Map<String, RebootLock> locks = new ConcurrentHashMap<>();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final ServerSocket listener;
  private final ThreadPoolExecutor pool;
  private final Thread acceptor;
  private volatile boolean closed;

  private FleetLockServer(
      EtcdClient etcd,
      InetSocketAddress listen,
      Clock clock,
      RetryPolicy retry,
      Settings settings,
      Consumer<String> log)
      throws IOException {
    this.etcd = etcd;
    this.clock = clock;
    this.retry = retry;
    this.settings = settings;
    this.log = log;
    this.listener = new ServerSocket();
    listener.setReuseAddress(true);
    listener.bind(listen, 64);
    this.pool =
        new ThreadPoolExecutor(
            settings.workers(),
            settings.workers(),
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(QUEUE),
            r -> {
              Thread t = new Thread(r, "fleetlock-http");
              t.setDaemon(true);
              return t;
            });
    this.acceptor = new Thread(this::acceptLoop, "fleetlock-accept");
    acceptor.setDaemon(true);
  }

  /**
   * Binds {@code listen} and starts serving.
   *
   * @param log receives one line per request handled
   * @throws IOException if the address cannot be bound
   */
  public static FleetLockServer start(
      EtcdClient etcd,
      InetSocketAddress listen,
      Clock clock,
      RetryPolicy retry,
      Settings settings,
      Consumer<String> log)
      throws IOException {
    FleetLockServer s = new FleetLockServer(etcd, listen, clock, retry, settings, log);
    s.acceptor.start();
    return s;
  }

  /** The bound address (useful after binding port 0). */
  public InetSocketAddress address() {
    return (InetSocketAddress) listener.getLocalSocketAddress();
  }

  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      log.accept("fleetlock: closing the listener: " + e.getMessage());
    }
    pool.shutdownNow();
    for (Socket s : open) {
      closeQuietly(s);
    }
    try {
      acceptor.join(5_000);
      pool.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket s;
      try {
        s = listener.accept();
      } catch (IOException e) {
        if (!closed) {
          log.accept("fleetlock: accept failed: " + e.getMessage());
        }
        continue;
      }
      open.add(s);
      try {
        pool.execute(() -> serve(s));
      } catch (RejectedExecutionException full) {
        try {
          log.accept("fleetlock: " + s.getRemoteSocketAddress() + ": busy, refused");
          reply(s.getOutputStream(), 503, "busy", "server busy; retry later", null);
        } catch (IOException ignored) {
          // the client went away
        } finally {
          open.remove(s);
          closeQuietly(s);
        }
      }
    }
  }

  /** An HTTP error answered before the request reaches the lock. */
  private static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;
    final String kind;

    Refused(int status, String kind, String value) {
      super(value, null, false, false);
      this.status = status;
      this.kind = kind;
    }
  }

  /** A parsed request head. */
  private record Head(String method, String path, Map<String, String> headers) {
    String header(String name) {
      return headers.get(name);
    }
  }

  private void serve(Socket socket) {
    String who = String.valueOf(socket.getRemoteSocketAddress());
    long deadline = System.nanoTime() + settings.readTimeout().toNanos();
    try (socket) {
      socket.setTcpNoDelay(true);
      DeadlineInput raw = new DeadlineInput(socket, deadline);
      InputStream in = new BufferedInputStream(raw, 8192);
      OutputStream out = socket.getOutputStream();
      try {
        Head head = readHead(in);
        if (head == null) {
          return; // closed before a request line
        }
        handle(head, in, out, who);
      } catch (SocketTimeoutException e) {
        log.accept(
            "fleetlock: "
                + who
                + ": request not complete within "
                + settings.readTimeout().toMillis()
                + " ms; connection closed");
        if (raw.count > 0) {
          reply(out, 408, "request_timeout", "request not complete in time", null);
        }
        return;
      } catch (Refused r) {
        log.accept("fleetlock: " + who + ": " + r.status + " " + r.kind);
        reply(out, r.status, r.kind, r.getMessage(), null);
      }
      drain(socket);
    } catch (IOException e) {
      if (!closed) {
        log.accept("fleetlock: " + who + ": " + e.getMessage());
      }
    } catch (RuntimeException e) {
      log.accept("fleetlock: request failed: " + e);
    } finally {
      open.remove(socket);
    }
  }

  private void handle(Head head, InputStream in, OutputStream out, String who)
      throws IOException, Refused {
    boolean authenticated = false;
    if (settings.token() != null) {
      String auth = head.header("authorization");
      String given =
          auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
              ? auth.substring(7).strip()
              : null;
      if (!FleetLockToken.matches(settings.token(), given)) {
        log.accept("fleetlock: " + who + ": 401 " + (auth == null ? "no token" : "bad token"));
        reply(
            out,
            401,
            "unauthorized",
            "authentication required",
            "WWW-Authenticate: Bearer realm=\"fleetlock\"");
        return;
      }
      authenticated = true;
    }
    String path = head.path();
    boolean pre = path.equals("/v1/pre-reboot");
    boolean steady = path.equals("/v1/steady-state");
    if (!pre && !steady) {
      throw new Refused(
          404,
          "not_found",
          "no such endpoint; FleetLock serves POST /v1/pre-reboot and /v1/steady-state");
    }
    if (!head.method().equals("POST")) {
      reply(
          out,
          405,
          "method_not_allowed",
          path + " accepts POST only, got " + head.method(),
          "Allow: POST");
      return;
    }
    if (!"true".equals(head.header("fleet-lock-protocol"))) {
      throw new Refused(
          400, "missing_fleet_lock_header", "header 'fleet-lock-protocol: true' is required");
    }
    byte[] body = readBody(head, in, out);
    JsonNode params;
    try {
      JsonNode root = JSON.readTree(body);
      params = root == null ? null : root.get("client_params");
    } catch (IOException e) {
      throw new Refused(
          400, "invalid_client_params", "body is not JSON: " + firstLine(e.getMessage()));
    }
    if (params == null || !params.isObject()) {
      throw new Refused(
          400, "invalid_client_params", "expected {\"client_params\":{\"id\":..,\"group\":..}}");
    }
    String id = params.path("id").asText("");
    String group = params.path("group").asText("default");
    if (id.isBlank()) {
      throw new Refused(
          400, "invalid_client_params", "client_params.id must be a non-empty string");
    }
    if (!GROUP.matcher(group).matches()) {
      throw new Refused(
          400, "invalid_client_params", "client_params.group must match " + GROUP.pattern());
    }
    lockStep(pre, id, group, authenticated, out);
  }

  private void lockStep(
      boolean pre, String id, String group, boolean authenticated, OutputStream ex)
      throws IOException {
    RebootLock lock = locks.computeIfAbsent(group, g -> new RebootLock(etcd, g, clock, retry));
    try {
      if (pre) {
        RebootLock.LockResult r = lock.tryLock(id);
        if (r.held()) {
          log.accept("pre-reboot " + group + "/" + id + ": " + r.outcome());
          reply(ex, 200, null, null, null);
        } else {
          Semaphore s = r.status().semaphore();
          log.accept("pre-reboot " + group + "/" + id + ": full");
          String count = " is full: " + s.holders().size() + " holder(s) of max " + s.max();
          reply(
              ex,
              409,
              "failed_lock",
              authenticated
                  ? "reboot lock "
                      + lock.key()
                      + count
                      + " ("
                      + String.join(", ", s.holders())
                      + ")"
                  : "reboot lock" + count,
              null);
        }
      } else {
        RebootLock.UnlockOutcome r = lock.unlock(id);
        log.accept("steady-state " + group + "/" + id + ": " + r);
        reply(ex, 200, null, null, null);
      }
    } catch (EtcdUnavailableException e) {
      log.accept("fleetlock: " + group + ": etcd unavailable: " + e.getMessage());
      reply(
          ex,
          503,
          "etcd_unavailable",
          authenticated ? e.getMessage() : "the lock store is unavailable",
          null);
    } catch (SemaphoreFormatException e) {
      log.accept("fleetlock: " + group + ": malformed semaphore: " + e.getMessage());
      reply(
          ex,
          500,
          "malformed_semaphore",
          authenticated ? e.getMessage() : "the reboot lock is malformed; see the server log",
          null);
    } catch (IOException e) {
      log.accept("fleetlock: " + group + ": " + e.getMessage());
      reply(
          ex,
          500,
          "internal_error",
          authenticated ? e.getMessage() : "internal error; see the server log",
          null);
    }
  }

  private static Head readHead(InputStream in) throws IOException, Refused {
    int[] used = {0};
    String requestLine = readLine(in, used);
    while (requestLine != null && requestLine.isEmpty()) {
      requestLine = readLine(in, used); // tolerate leading blank lines (RFC 9112 2.2)
    }
    if (requestLine == null) {
      return null;
    }
    String[] parts = requestLine.split(" ", -1);
    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.") || parts[1].isEmpty()) {
      throw new Refused(400, "bad_request", "malformed request line");
    }
    String target = parts[1];
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    Map<String, String> headers = new LinkedHashMap<>();
    int count = 0;
    while (true) {
      String line = readLine(in, used);
      if (line == null) {
        throw new IOException("connection closed inside the request head");
      }
      if (line.isEmpty()) {
        break;
      }
      if (++count > MAX_HEADERS) {
        throw new Refused(431, "headers_too_large", "more than " + MAX_HEADERS + " headers");
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new Refused(400, "bad_request", "malformed header line");
      }
      headers.putIfAbsent(
          line.substring(0, colon).strip().toLowerCase(Locale.ROOT),
          line.substring(colon + 1).strip());
    }
    return new Head(parts[0], path, headers);
  }

  /** One CRLF- (or LF-) terminated line, or null at end of stream before any byte. */
  private static String readLine(InputStream in, int[] used) throws IOException, Refused {
    ByteArrayOutputStream line = new ByteArrayOutputStream(128);
    while (true) {
      int b = in.read();
      if (b < 0) {
        if (line.size() == 0) {
          return null;
        }
        throw new IOException("connection closed inside the request head");
      }
      if (++used[0] > MAX_HEAD) {
        throw new Refused(
            431, "headers_too_large", "request head larger than " + MAX_HEAD + " bytes");
      }
      if (b == '\n') {
        String s = line.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      line.write(b);
    }
  }

  private static byte[] readBody(Head head, InputStream in, OutputStream out)
      throws IOException, Refused {
    if (head.header("transfer-encoding") != null) {
      throw new Refused(
          411, "length_required", "send the body with Content-Length; chunked is not accepted");
    }
    String cl = head.header("content-length");
    long length;
    try {
      length = cl == null ? 0 : Long.parseLong(cl);
    } catch (NumberFormatException e) {
      throw new Refused(400, "bad_request", "Content-Length is not a number");
    }
    if (length < 0) {
      throw new Refused(400, "bad_request", "Content-Length is negative");
    }
    if (length > MAX_BODY) {
      throw new Refused(
          413, "payload_too_large", "request body larger than " + MAX_BODY + " bytes");
    }
    if ("100-continue".equalsIgnoreCase(head.header("expect"))) {
      out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
    }
    byte[] body = in.readNBytes((int) length);
    if (body.length < length) {
      throw new IOException("connection closed inside the request body");
    }
    return body;
  }

  private static void reply(OutputStream out, int status, String kind, String value, String extra)
      throws IOException {
    ObjectNode n = JSON.createObjectNode();
    if (kind != null) {
      n.put("kind", kind);
      n.put("value", value);
    }
    byte[] body = JSON.writeValueAsBytes(n);
    StringBuilder h = new StringBuilder(256);
    h.append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n");
    h.append("Content-Type: application/json\r\n");
    h.append("Content-Length: ").append(body.length).append("\r\n");
    h.append("Connection: close\r\n");
    if (extra != null) {
      h.append(extra).append("\r\n");
    }
    h.append("\r\n");
    out.write(h.toString().getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
  }

  private static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 408 -> "Request Timeout";
      case 409 -> "Conflict";
      case 411 -> "Length Required";
      case 413 -> "Content Too Large";
      case 431 -> "Request Header Fields Too Large";
      case 503 -> "Service Unavailable";
      default -> "Internal Server Error";
    };
  }

  /**
   * After the answer: half-close, then read what the client still sends (bounded in bytes and time)
   * so that closing does not reset the connection before the client has read the answer.
   */
  private static void drain(Socket socket) {
    try {
      InputStream in = socket.getInputStream();
      socket.shutdownOutput();
      socket.setSoTimeout(DRAIN_MILLIS);
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_MILLIS);
      byte[] buf = new byte[8192];
      int total = 0;
      int n;
      while (total < DRAIN_LIMIT && System.nanoTime() < end && (n = in.read(buf)) >= 0) {
        total += n;
      }
    } catch (IOException ignored) {
      // done either way
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing to do
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int i = s.indexOf('\n');
    return i < 0 ? s : s.substring(0, i);
  }

  /** Reads from a socket with every read bounded by what is left of one overall deadline. */
  private static final class DeadlineInput extends InputStream {
    private final Socket socket;
    private final InputStream in;
    private final long deadline;
    long count;

    DeadlineInput(Socket socket, long deadline) throws IOException {
      this.socket = socket;
      this.in = socket.getInputStream();
      this.deadline = deadline;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        throw new SocketTimeoutException("read deadline passed");
      }
      socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
      int n = in.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }
}
