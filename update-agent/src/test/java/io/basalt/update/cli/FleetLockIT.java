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
      thread = new Thread(() -> exit.set(cl.execute(args)), "fleetlock-serve");
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
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .build()
        .send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void preRebootSteadyStateFlowSharedWithBasaltctl() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint())) {
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20));
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
    try (Served s = new Served("--endpoint", etcd.endpoint())) {
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20));
      client.preReboot("zincati-node", "canary");
      java.util.List<String> reboots = new java.util.ArrayList<>();
      java.nio.file.Path state = java.nio.file.Files.createTempDirectory("basalt-fl-state");
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
      java.nio.file.Files.deleteIfExists(state);
    }
  }

  @Test
  void protocolErrorsAreSurfaced() throws Exception {
    try (Served s = new Served("--endpoint", etcd.endpoint())) {
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
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20));
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
    try (Served s = new Served("--endpoint", "http://127.0.0.1:" + dead, "--timeout", "1s")) {
      FleetLockClient client = new FleetLockClient(s.base, Duration.ofSeconds(20));
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
