package io.basalt.cloudconfig.datasource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cloud-config-url= against a real HTTP server on 127.0.0.1: retries with backoff, bounded wait,
 * plain http only with the opt-in, a size limit on the body and a deadline for the whole transfer.
 */
class UrlDatasourceIT {

  private static final String OPT_IN = "basalt.cloud-config-url.insecure=1";

  private HttpServer server;
  private ExecutorService handlers;
  private final AtomicInteger requests = new AtomicInteger();
  private volatile int failFirst;
  private volatile int status = 200;
  private volatile boolean stopped;

  @TempDir Path tmp;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    handlers = Executors.newCachedThreadPool();
    server.setExecutor(handlers);
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
    // One byte more than the limit, with its length declared (/big) or chunked (/big-chunked).
    for (boolean declared : new boolean[] {true, false}) {
      server.createContext(
          declared ? "/big" : "/big-chunked",
          ex -> {
            requests.incrementAndGet();
            byte[] body = new byte[UrlDatasource.MAX_BODY_BYTES + 1];
            java.util.Arrays.fill(body, (byte) '#');
            ex.sendResponseHeaders(200, declared ? body.length : 0);
            try (OutputStream o = ex.getResponseBody()) {
              for (int off = 0; off < body.length; off += 8192) {
                o.write(body, off, Math.min(8192, body.length - off));
              }
            } catch (IOException e) {
              // the client hung up once it had seen enough
            }
            ex.close();
          });
    }
    // A server that answers at once and then sends the body one byte every 100 ms.
    server.createContext(
        "/trickle",
        ex -> {
          requests.incrementAndGet();
          ex.sendResponseHeaders(200, 100_000);
          try (OutputStream o = ex.getResponseBody()) {
            for (int i = 0; i < 100_000 && !stopped; i++) {
              o.write('#');
              o.flush();
              Thread.sleep(100);
            }
          } catch (IOException | InterruptedException e) {
            // the client gave up
          }
          ex.close();
        });
    server.start();
  }

  @AfterEach
  void stop() {
    stopped = true;
    server.stop(0);
    handlers.shutdownNow();
  }

  private UrlDatasource source(String path, boolean optIn, Duration maxWait, List<String> log)
      throws IOException {
    Path cmdline = tmp.resolve("cmdline");
    Files.writeString(
        cmdline,
        "ro console=ttyS0 cloud-config-url=http://127.0.0.1:"
            + server.getAddress().getPort()
            + path
            + (optIn ? " " + OPT_IN : "")
            + "\n");
    return new UrlDatasource(
        cmdline, Duration.ofMillis(100), Duration.ofMillis(400), maxWait, log::add);
  }

  private UrlDatasource source(Duration maxWait, List<String> log) throws IOException {
    return source("/cc.yml?token=SECRET", true, maxWait, log);
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
    List<String> retries = log.stream().filter(l -> l.contains("retrying")).toList();
    assertEquals(3, retries.size(), log.toString());
    assertTrue(retries.get(2).contains("retrying in 400 ms"), log.toString()); // 100, 200, 400
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

  @Test
  void plainHttpWithoutTheOptInIsRefusedLoudly() throws Exception {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    UrlDatasource ds = source("/cc.yml", false, Duration.ofSeconds(10), log);
    IOException e = assertThrows(IOException.class, ds::fetch);
    assertTrue(e.getMessage().contains(OPT_IN), e.getMessage());
    assertTrue(e.getMessage().contains("https"), e.getMessage());
    assertEquals(0, requests.get(), "nothing may be fetched over plain http without the opt-in");
    assertTrue(log.stream().anyMatch(l -> l.startsWith("WARNING")), log.toString());
  }

  @Test
  void plainHttpWithTheOptInIsFetchedWithAWarning() throws Exception {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    Datasource.Found f = source("/cc.yml", true, Duration.ofSeconds(10), log).fetch().orElseThrow();
    assertEquals(DatasourceTest.USER_DATA, new String(f.userData(), StandardCharsets.UTF_8));
    assertTrue(
        log.stream().anyMatch(l -> l.startsWith("WARNING") && l.contains("plain http")),
        log.toString());
  }

  @Test
  void bodyOverTheLimitIsRefusedAndNotRetried() throws Exception {
    for (String path : List.of("/big", "/big-chunked")) {
      requests.set(0);
      UrlDatasource ds = source(path, true, Duration.ofSeconds(20), new ArrayList<>());
      IOException e =
          assertTimeoutPreemptively(
              Duration.ofSeconds(30), () -> assertThrows(IOException.class, ds::fetch), path);
      assertTrue(e.getMessage().contains("1 MiB"), path + ": " + e.getMessage());
      assertTrue(e.getMessage().contains(path), path + ": " + e.getMessage());
      assertEquals(1, requests.get(), path + ": a body over the limit is final");
    }
  }

  @Test
  void tricklingServerHitsTheDeadlineForTheWholeTransfer() throws Exception {
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    UrlDatasource ds = source("/trickle", true, Duration.ofSeconds(3), log);
    long t0 = System.nanoTime();
    IOException e =
        assertTimeoutPreemptively(
            Duration.ofSeconds(20), () -> assertThrows(IOException.class, ds::fetch));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < 8_000, "a 3 s bound took " + ms + " ms: " + e.getMessage());
    assertTrue(e.getMessage().contains("gave up fetching"), e.getMessage());
    assertTrue(e.getMessage().contains("not complete within"), e.getMessage());
  }

  /** A TLS context holding a fresh self-signed certificate for 127.0.0.1, made by keytool. */
  private SSLContext selfSignedTls() throws Exception {
    Path ks = tmp.resolve("server.p12");
    char[] pass = "changeit".toCharArray();
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-alias",
                "server",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=127.0.0.1",
                "-ext",
                "san=ip:127.0.0.1",
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                ks.toString(),
                "-storepass",
                new String(pass))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "keytool: " + out);
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(ks)) {
      store.load(in, pass);
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(store, pass);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(store);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }

  @Test
  void httpsIsFetchedWithoutTheOptInOrAWarning() throws Exception {
    SSLContext tls = selfSignedTls();
    HttpsServer https =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    https.setHttpsConfigurator(new HttpsConfigurator(tls));
    https.createContext(
        "/cc.yml",
        ex -> {
          requests.incrementAndGet();
          byte[] body = DatasourceTest.USER_DATA.getBytes(StandardCharsets.UTF_8);
          ex.sendResponseHeaders(200, body.length);
          try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
          }
          ex.close();
        });
    https.start();
    try {
      Path cmdline = tmp.resolve("cmdline");
      Files.writeString(
          cmdline,
          "ro cloud-config-url=https://127.0.0.1:" + https.getAddress().getPort() + "/cc.yml\n");
      List<String> log = Collections.synchronizedList(new ArrayList<>());
      UrlDatasource ds =
          new UrlDatasource(
              cmdline,
              Duration.ofMillis(100),
              Duration.ofMillis(400),
              Duration.ofSeconds(20),
              log::add,
              tls);
      Datasource.Found f = ds.fetch().orElseThrow();
      assertEquals(DatasourceTest.USER_DATA, new String(f.userData(), StandardCharsets.UTF_8));
      assertEquals(1, requests.get());
      assertTrue(log.stream().noneMatch(l -> l.startsWith("WARNING")), log.toString());
    } finally {
      https.stop(0);
    }
  }
}
