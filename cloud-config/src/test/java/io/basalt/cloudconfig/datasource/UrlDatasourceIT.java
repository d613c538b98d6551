package io.basalt.cloudconfig.datasource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cloud-config-url= against a real HTTP server on 127.0.0.1: retries with backoff, bounded wait.
 */
class UrlDatasourceIT {

  private HttpServer server;
  private final AtomicInteger requests = new AtomicInteger();
  private volatile int failFirst;
  private volatile int status = 200;

  @TempDir Path tmp;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/cc.yml",
        ex -> {
          int n = requests.incrementAndGet();
          byte[] body = DatasourceTest.USER_DATA.getBytes(StandardCharsets.UTF_8);
          int code = n <= failFirst ? 503 : status;
          ex.sendResponseHeaders(code, code == 200 ? body.length : -1);
          if (code == 200) {
            try (OutputStream o = ex.getResponseBody()) {
              o.write(body);
            }
          }
          ex.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private UrlDatasource source(Duration maxWait, List<String> log) throws IOException {
    Path cmdline = tmp.resolve("cmdline");
    Files.writeString(
        cmdline,
        "ro console=ttyS0 cloud-config-url=http://127.0.0.1:"
            + server.getAddress().getPort()
            + "/cc.yml?token=SECRET\n");
    return new UrlDatasource(
        cmdline, Duration.ofMillis(100), Duration.ofMillis(400), maxWait, log::add);
  }

  @Test
  void retriesWithBackoffUntilTheServerAnswers() throws Exception {
    failFirst = 3;
    List<String> log = new ArrayList<>();
    long t0 = System.nanoTime();
    Datasource.Found f = source(Duration.ofSeconds(30), log).fetch().orElseThrow();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(DatasourceTest.USER_DATA, new String(f.userData(), StandardCharsets.UTF_8));
    assertEquals(4, requests.get());
    assertEquals(3, log.size(), log.toString());
    assertTrue(log.get(2).contains("retrying in 400 ms"), log.toString()); // 100, 200, 400 (capped)
    assertTrue(ms >= 700, "backoff waited " + ms + " ms");
    assertTrue(f.source().endsWith("/cc.yml?..."), f.source());
    assertTrue(
        log.stream().noneMatch(l -> l.contains("SECRET")),
        "query strings may carry tokens: " + log);
  }

  @Test
  void givesUpWithinTheBound() throws Exception {
    failFirst = Integer.MAX_VALUE;
    long t0 = System.nanoTime();
    List<String> log = new ArrayList<>();
    UrlDatasource ds =
        source(Duration.ofSeconds(4), log); // room for 3+ attempts on a loaded machine
    IOException e = assertThrows(IOException.class, ds::fetch);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 15_000, "took " + ms + " ms: " + log + " " + e.getMessage());
    assertTrue(e.getMessage().contains("gave up fetching"), e.getMessage());
    assertTrue(requests.get() >= 3, "attempts: " + requests.get());
  }

  @Test
  void notFoundIsNotRetried() throws Exception {
    status = 404;
    IOException e =
        assertThrows(
            IOException.class, () -> source(Duration.ofSeconds(10), new ArrayList<>()).fetch());
    assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
    assertEquals(1, requests.get());
  }
}
