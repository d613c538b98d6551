package io.basalt.update.lock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A FleetLock protocol server ({@code /v1/pre-reboot}, {@code /v1/steady-state}) backed by the same
 * locksmith-format etcd semaphore as {@link RebootLock}, so Zincati-style clients and Basalt agents
 * share one lock. Group {@code default} maps to locksmith's default key. Errors are answered as
 * {@code {"kind":..,"value":..}}: 400 missing header / bad body, 404, 405, 409 {@code failed_lock}
 * when full, 500 {@code malformed_semaphore}, 503 {@code etcd_unavailable}. Thread-safe.
 */
public final class FleetLockServer implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern GROUP = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final int MAX_BODY = 64 * 1024;

  private final EtcdClient etcd;
  private final Clock clock;
  private final RetryPolicy retry;
  private final Consumer<String> log;
  private final Map<String, RebootLock> locks = new ConcurrentHashMap<>();
  private final HttpServer server;
  private final ExecutorService pool;

  private FleetLockServer(
      EtcdClient etcd,
      InetSocketAddress listen,
      Clock clock,
      RetryPolicy retry,
      Consumer<String> log)
      throws IOException {
    this.etcd = etcd;
    this.clock = clock;
    this.retry = retry;
    this.log = log;
    this.server = HttpServer.create(listen, 64);
    this.pool =
        Executors.newFixedThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "fleetlock-http");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(pool);
    server.createContext("/", this::handle);
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
      Consumer<String> log)
      throws IOException {
    FleetLockServer s = new FleetLockServer(etcd, listen, clock, retry, log);
    s.server.start();
    return s;
  }

  /** The bound address (useful after binding port 0). */
  public InetSocketAddress address() {
    return server.getAddress();
  }

  @Override
  public void close() {
    server.stop(0);
    pool.shutdownNow();
    try {
      pool.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      boolean pre = path.equals("/v1/pre-reboot");
      boolean steady = path.equals("/v1/steady-state");
      if (!pre && !steady) {
        reply(
            ex,
            404,
            "not_found",
            "no such endpoint "
                + path
                + "; FleetLock serves POST /v1/pre-reboot and /v1/steady-state");
        return;
      }
      if (!ex.getRequestMethod().equals("POST")) {
        ex.getResponseHeaders().add("Allow", "POST");
        reply(
            ex,
            405,
            "method_not_allowed",
            path + " accepts POST only, got " + ex.getRequestMethod());
        return;
      }
      if (!"true".equals(ex.getRequestHeaders().getFirst("fleet-lock-protocol"))) {
        reply(
            ex, 400, "missing_fleet_lock_header", "header 'fleet-lock-protocol: true' is required");
        return;
      }
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readNBytes(MAX_BODY + 1);
      }
      if (body.length > MAX_BODY) {
        reply(ex, 400, "invalid_client_params", "request body larger than " + MAX_BODY + " bytes");
        return;
      }
      JsonNode params;
      try {
        JsonNode root = JSON.readTree(body);
        params = root == null ? null : root.get("client_params");
      } catch (IOException e) {
        reply(ex, 400, "invalid_client_params", "body is not JSON: " + firstLine(e.getMessage()));
        return;
      }
      if (params == null || !params.isObject()) {
        reply(
            ex,
            400,
            "invalid_client_params",
            "expected {\"client_params\":{\"id\":..,\"group\":..}}");
        return;
      }
      String id = params.path("id").asText("");
      String group = params.path("group").asText("default");
      if (id.isBlank()) {
        reply(ex, 400, "invalid_client_params", "client_params.id must be a non-empty string");
        return;
      }
      if (!GROUP.matcher(group).matches()) {
        reply(
            ex,
            400,
            "invalid_client_params",
            "client_params.group '" + group + "' must match " + GROUP.pattern());
        return;
      }
      RebootLock lock = locks.computeIfAbsent(group, g -> new RebootLock(etcd, g, clock, retry));
      try {
        if (pre) {
          RebootLock.LockResult r = lock.tryLock(id);
          if (r.held()) {
            log.accept("pre-reboot " + group + "/" + id + ": " + r.outcome());
            reply(ex, 200, null, null);
          } else {
            Semaphore s = r.status().semaphore();
            log.accept("pre-reboot " + group + "/" + id + ": full");
            reply(
                ex,
                409,
                "failed_lock",
                "reboot lock "
                    + lock.key()
                    + " is full: "
                    + s.holders().size()
                    + " holder(s) of max "
                    + s.max()
                    + " ("
                    + String.join(", ", s.holders())
                    + ")");
          }
        } else {
          RebootLock.UnlockOutcome r = lock.unlock(id);
          log.accept("steady-state " + group + "/" + id + ": " + r);
          reply(ex, 200, null, null);
        }
      } catch (EtcdUnavailableException e) {
        reply(ex, 503, "etcd_unavailable", e.getMessage());
      } catch (SemaphoreFormatException e) {
        reply(ex, 500, "malformed_semaphore", e.getMessage());
      } catch (IOException e) {
        reply(ex, 500, "internal_error", e.getMessage());
      }
    } catch (RuntimeException e) {
      log.accept("fleetlock: request failed: " + e);
    }
  }

  private static void reply(HttpExchange ex, int status, String kind, String value)
      throws IOException {
    ObjectNode n = JSON.createObjectNode();
    if (kind != null) {
      n.put("kind", kind);
      n.put("value", value);
    }
    byte[] out = JSON.writeValueAsBytes(n);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, out.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(out);
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int i = s.indexOf('\n');
    return i < 0 ? s : s.substring(0, i);
  }
}
