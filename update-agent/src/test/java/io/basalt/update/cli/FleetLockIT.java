package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.update.lock.FleetLockClient;
import io.basalt.update.lock.FleetLockException;
import io.basalt.update.testing.EtcdProcess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PipedReader;
import java.io.PipedWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The FleetLock pre-reboot / steady-state flow against {@code basalt fleetlock serve} (the real
 * command, run in-process) backed by a real etcd, shared with {@code basaltctl lock}.
 */
class FleetLockIT {

  static EtcdProcess etcd;

  @BeforeAll
  static void startEtcd() throws Exception {
    etcd = EtcdProcess.start();
  }

  @AfterAll
  static void stopEtcd() {
    if (etcd != null) {
      etcd.close();
    }
  }

  /** A running {@code fleetlock serve}; close() interrupts it and waits for exit code 0. */
  static final class Served implements AutoCloseable {
    final Thread thread;
    final URI base;
    final AtomicInteger exit = new AtomicInteger(-1);
    final StringWriter err = new StringWriter();

    Served(String... extraArgs) throws Exception {
      PipedWriter pw = new PipedWriter();
      BufferedReader lines = new BufferedReader(new PipedReader(pw, 65536));
      CommandLine cl =
          new CommandLine(
              new FleetLockCommand(),
              new CommandLine.IFactory() {
                @Override
                public <K> K create(Class<K> cls) throws Exception {
                  if (cls == FleetLockCommand.Serve.class) {
                    return cls.cast(new FleetLockCommand.Serve(Map.of()));
                  }
                  return CommandLine.defaultFactory().create(cls);
                }
              });
      cl.setOut(new PrintWriter(pw, true));
      cl.setErr(new PrintWriter(err, true));
      String[] args = new String[2 + extraArgs.length];
      args[0] = "serve";
      args[1] = "--listen=127.0.0.1:0";
      System.arraycopy(extraArgs, 0, args, 2, extraArgs.length);
      thread =
          new Thread(
              () -> {
                exit.set(cl.execute(args));
                try {
                  pw.close(); // a command that fails at once ends the first readLine
                } catch (IOException ignored) {
                  // already closed
                }
              },
              "fleetlock-serve");
      thread.setDaemon(true);
      thread.start();
      String first = lines.readLine();
      Matcher m = Pattern.compile("serving on (http://\\S+)").matcher(String.valueOf(first));
      assertTrue(m.find(), "first line: " + first + " err: " + err);
      base = URI.create(m.group(1));
      Thread drain =
          new Thread(
              () -> {
                try {
                  while (lines.readLine() != null) {
                    // request log
                  }
                } catch (IOException ignored) {
                  // closed
                }
              });
      drain.setDaemon(true);
      drain.start();
    }

    @Override
    public void close() throws InterruptedException {
      thread.interrupt();
      thread.join(10_000);
      assertEquals(0, exit.get(), "serve exits 0 when stopped; err: " + err);
    }
  }

  static HttpResponse<String> raw(URI uri, String method, String body, boolean header)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(20))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (header) {
      b.header("fleet-lock-protocol", "true");
    }
    b.header("Authorization", "Bearer " + TOKEN);
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .build()
        .send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static final String TOKEN = "s3cret-fleet-token";

  /** Token files and coordinator state, deleted after the class. */
  @org.junit.jupiter.api.io.TempDir static java.nio.file.Path scratch;

  /** A token file holding {@link #TOKEN} (with the trailing newline an editor leaves). */
  static String tokenFile() throws IOException {
    java.nio.file.Path f = java.nio.file.Files.createTempFile(scratch, "fleetlock-token", ".txt");
    java.nio.file.Files.writeString(f, TOKEN + "\n");
    return f.toString();
  }

  static HttpResponse<String> rawAuth(URI uri, String body, String authorization) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(20))
            .header("fleet-lock-protocol", "true")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .build()
        .send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Opens a connection and sends half a request, then stalls. */
  static java.net.Socket stalled(URI base) throws IOException {
    java.net.Socket sock = new java.net.Socket("127.0.0.1", base.getPort());
    sock.getOutputStream()
        .write(
            "POST /v1/pre-reboot HTTP/1.1\r\nHost: x\r\nfleet-lock-protocol: true\r\nContent-Le"
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    sock.getOutputStream().flush();
    return sock;
  }

  @Test
  void unauthenticatedRequestIsRefusedWith401AndNoHolderId() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint(), "--token-file", tokenFile())) {
      FleetLockClient owner = new FleetLockClient(s.base, Duration.ofSeconds(20), TOKEN);
      owner.preReboot("secret-holder-a", "authgroup");
      String body = "{\"client_params\":{\"id\":\"intruder\",\"group\":\"authgroup\"}}";
      URI pre = s.base.resolve("/v1/pre-reboot");
      for (String auth : new String[] {null, "Bearer wrong-token", "Basic " + TOKEN, "Bearer "}) {
        HttpResponse<String> r = rawAuth(pre, body, auth);
        assertEquals(401, r.statusCode(), auth + ": " + r.body());
        assertTrue(!r.body().contains("secret-holder-a"), r.body());
        assertTrue(r.body().contains("unauthorized"), r.body());
        assertTrue(
            r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"),
            r.headers().toString());
      }
      // the 401 comes before any protocol detail, so nothing else leaks either
      assertEquals(401, rawAuth(s.base.resolve("/v2/x"), "{}", null).statusCode());
      FleetLockClient anonymous = new FleetLockClient(s.base, Duration.ofSeconds(20));
      FleetLockException e =
          assertThrows(FleetLockException.class, () -> anonymous.preReboot("x", "authgroup"));
      assertEquals(401, e.status());
      assertTrue(!e.getMessage().contains("secret-holder-a"), e.getMessage());
      // the lock is untouched by the refused callers
      FleetLockException full =
          assertThrows(FleetLockException.class, () -> owner.preReboot("node-z", "authgroup"));
      assertEquals(409, full.status());
      assertTrue(full.value().contains("secret-holder-a"), full.value());
      owner.steadyState("secret-holder-a", "authgroup");
    }
  }

  @Test
  void withoutAuthTheFullLockNamesNoHolder() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint(), "--no-auth")) {
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20));
      client.preReboot("hidden-holder", "noauth");
      FleetLockException e =
          assertThrows(FleetLockException.class, () -> client.preReboot("other", "noauth"));
      assertEquals(409, e.status());
      assertEquals("failed_lock", e.kind());
      assertTrue(!e.value().contains("hidden-holder"), e.value());
      client.steadyState("hidden-holder", "noauth");
    }
  }

  @Test
  void serveRefusesToStartWithoutATokenOrNoAuth() {
    StringWriter err = new StringWriter();
    CommandLine cl =
        new CommandLine(
            new FleetLockCommand(),
            new CommandLine.IFactory() {
              @Override
              public <K> K create(Class<K> cls) throws Exception {
                if (cls == FleetLockCommand.Serve.class) {
                  return cls.cast(new FleetLockCommand.Serve(Map.of()));
                }
                return CommandLine.defaultFactory().create(cls);
              }
            });
    cl.setErr(new PrintWriter(err, true));
    assertEquals(2, cl.execute("serve", "--listen=127.0.0.1:0"));
    assertTrue(err.toString().contains("--token-file"), err.toString());
  }

  @Test
  void bodyOverTheLimitGets413() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint(), "--token-file", tokenFile());
        java.net.Socket sock = new java.net.Socket("127.0.0.1", s.base.getPort())) {
      sock.setSoTimeout(10_000);
      byte[] big = new byte[64 * 1024 + 1];
      java.util.Arrays.fill(big, (byte) ' ');
      String head =
          "POST /v1/pre-reboot HTTP/1.1\r\nHost: x\r\nfleet-lock-protocol: true\r\n"
              + "Authorization: Bearer "
              + TOKEN
              + "\r\nContent-Type: application/json\r\nContent-Length: "
              + big.length
              + "\r\n\r\n";
      sock.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      sock.getOutputStream().write(big);
      sock.getOutputStream().flush();
      String answer =
          new String(sock.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 413"), answer);
      assertTrue(answer.contains("65536"), answer);
    }
  }

  @Test
  void eightStalledConnectionsDoNotBlockANormalClient() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint(), "--token-file", tokenFile())) {
      java.util.List<java.net.Socket> stalled = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < 8; i++) {
          stalled.add(stalled(s.base));
        }
        Thread.sleep(300);
        FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(4), TOKEN);
        long t0 = System.nanoTime();
        client.preReboot("patient-node", "stall");
        client.steadyState("patient-node", "stall");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 4000, "answered after " + ms + " ms");
      } finally {
        for (java.net.Socket k : stalled) {
          k.close();
        }
      }
    }
  }

  @Test
  void aClientThatNeverFinishesIsCutAtTheReadDeadline() throws Exception {
    try (Served s =
            new Served(
                "--endpoint",
                etcd.endpoint(),
                "--token-file",
                tokenFile(),
                "--read-timeout",
                "1s");
        java.net.Socket sock = stalled(s.base)) {
      sock.setSoTimeout(10_000);
      long t0 = System.nanoTime();
      // trickle one byte every 300 ms: each read is quick, the whole request never completes
      Thread trickle =
          new Thread(
              () -> {
                try {
                  for (int i = 0; i < 30; i++) {
                    Thread.sleep(300);
                    sock.getOutputStream().write('x');
                  }
                } catch (IOException | InterruptedException closed) {
                  // cut by the server
                }
              });
      trickle.setDaemon(true);
      trickle.start();
      String answer;
      try {
        answer =
            new String(
                sock.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      } catch (java.net.SocketException reset) {
        answer = "reset";
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 5000, "cut after " + ms + " ms: " + answer);
      assertTrue(
          answer.isEmpty() || answer.startsWith("HTTP/1.1 408") || answer.equals("reset"), answer);
      trickle.interrupt();
    }
  }

  @Test
  void preRebootSteadyStateFlowSharedWithBasaltctl() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint(), "--token-file", tokenFile())) {
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20), TOKEN);
      // group "default" is locksmith's default key; the semaphore starts at max 1
      client.preReboot("node-a", "default");
      client.preReboot("node-a", "default"); // idempotent
      FleetLockException e =
          assertThrows(FleetLockException.class, () -> client.preReboot("node-b", "default"));
      assertEquals(409, e.status());
      assertEquals("failed_lock", e.kind());
      assertTrue(
          e.value().contains("node-a") && e.getMessage().contains("HTTP 409 failed_lock"),
          e.getMessage());

      // the same lock as basaltctl sees it
      CliRunner.Result r =
          CliRunner.basaltctl(
              Map.of("BASALTCTL_ENDPOINT", etcd.endpoint()),
              Clock.fixed(Instant.parse("2026-11-21T10:00:00Z"), ZoneOffset.UTC),
              "lock",
              "status");
      assertTrue(
          r.out().contains("coreos.com/updateengine/rebootlock/semaphore")
              && r.out().contains("node-a"),
          r.toString());

      client.steadyState("node-a", "default");
      client.steadyState("node-a", "default"); // nothing held: still fine
      client.preReboot("node-b", "default");
      client.steadyState("node-b", "default");

      // other groups live under groups/<group>/semaphore
      client.preReboot("w1", "workers");
      assertTrue(
          etcd.etcdctlOutput(
                  "get",
                  "coreos.com/updateengine/rebootlock/groups/workers/semaphore",
                  "--print-value-only")
              .contains("\"w1\""));
      client.steadyState("w1", "workers");
    }
  }

  @Test
  void fleetlockStrategyDrivesTheCoordinator() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint(), "--token-file", tokenFile())) {
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20), TOKEN);
      client.preReboot("zincati-node", "canary");
      java.util.List<String> reboots = new java.util.ArrayList<>();
      java.nio.file.Path state =
          java.nio.file.Files.createTempDirectory(scratch, "basalt-fl-state");
      io.basalt.update.strategy.RebootCoordinator c =
          io.basalt.update.strategy.RebootCoordinator.builder()
              .strategy(
                  io.basalt.update.strategy.RebootStrategy.fleetLock(
                      client, "basalt-node", "canary"))
              .localHold(new io.basalt.update.strategy.LocalHold(state))
              .inhibitors(java.util.List::of)
              .sessions(java.util.List::of)
              .notifier(m -> {})
              .rebooter(() -> reboots.add("basalt-node"))
              .build();
      io.basalt.update.strategy.RebootCoordinator.Decision d = c.step();
      assertEquals(io.basalt.update.strategy.RebootCoordinator.Action.WAIT, d.action());
      assertTrue(
          d.reason().contains("failed_lock") && d.reason().contains("zincati-node"), d.reason());
      assertTrue(reboots.isEmpty());
      client.steadyState("zincati-node", "canary");
      assertEquals(io.basalt.update.strategy.RebootCoordinator.Action.REBOOTING, c.step().action());
      assertTrue(
          etcd.etcdctlOutput(
                  "get",
                  "coreos.com/updateengine/rebootlock/groups/canary/semaphore",
                  "--print-value-only")
              .contains("\"basalt-node\""));
      c.releaseOwnHold(); // steady-state after the blessed boot
      assertTrue(
          !etcd.etcdctlOutput(
                  "get",
                  "coreos.com/updateengine/rebootlock/groups/canary/semaphore",
                  "--print-value-only")
              .contains("\"basalt-node\""));
    }
  }

  @Test
  void protocolErrorsAreSurfaced() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint(), "--token-file", tokenFile())) {
      URI pre = s.base.resolve("/v1/pre-reboot");
      HttpResponse<String> r =
          raw(pre, "POST", "{\"client_params\":{\"id\":\"x\",\"group\":\"default\"}}", false);
      assertEquals(400, r.statusCode());
      assertTrue(r.body().contains("missing_fleet_lock_header"), r.body());
      r = raw(pre, "POST", "{nope", true);
      assertEquals(400, r.statusCode());
      assertTrue(
          r.body().contains("invalid_client_params") && r.body().contains("not JSON"), r.body());
      r = raw(pre, "POST", "{\"client_params\":{\"group\":\"default\"}}", true);
      assertEquals(400, r.statusCode());
      assertTrue(r.body().contains("client_params.id"), r.body());
      r = raw(pre, "POST", "{\"client_params\":{\"id\":\"x\",\"group\":\"a/b\"}}", true);
      assertEquals(400, r.statusCode());
      r = raw(pre, "GET", null, true);
      assertEquals(405, r.statusCode());
      r = raw(s.base.resolve("/v2/pre-reboot"), "POST", "{}", true);
      assertEquals(404, r.statusCode());

      etcd.etcdctlOutput(
          "put",
          "coreos.com/updateengine/rebootlock/groups/broken/semaphore",
          "{\"semaphore\":1,\"max\":-1,\"holders\":[]}");
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20), TOKEN);
      FleetLockException e =
          assertThrows(FleetLockException.class, () -> client.preReboot("x", "broken"));
      assertEquals(500, e.status());
      assertEquals("malformed_semaphore", e.kind());
      assertTrue(e.value().contains("\"max\" is -1"), e.value());
    }
  }

  @Test
  void unreachableEtcdIs503AndUnreachableServerIsAClearClientError() throws Exception {
    int dead = EtcdProcess.freePort();
    try (Served s =
        new Served(
            "--endpoint",
            "http://127.0.0.1:" + dead,
            "--timeout",
            "1s",
            "--token-file",
            tokenFile())) {
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20), TOKEN);
      FleetLockException e =
          assertThrows(FleetLockException.class, () -> client.preReboot("x", "default"));
      assertEquals(503, e.status());
      assertEquals("etcd_unavailable", e.kind());
      assertTrue(e.value().contains("127.0.0.1:" + dead), e.value());
    }
    FleetLockClient nobody =
        new FleetLockClient(URI.create("http://127.0.0.1:" + dead), Duration.ofSeconds(5));
    IOException e = assertThrows(IOException.class, () -> nobody.steadyState("x", "default"));
    assertTrue(
        e.getMessage().contains("unreachable") && e.getMessage().contains("127.0.0.1:" + dead),
        e.getMessage());
  }
}
