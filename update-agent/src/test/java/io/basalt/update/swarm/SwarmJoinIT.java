package io.basalt.update.swarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.SwarmConf;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.testing.EtcdProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nodes meeting through a real etcd (Debian's etcd-server on 127.0.0.1), each with a recorded
 * docker engine of one {@link FakeSwarm}: a race of three, a second run, a node that left, and a
 * winner killed (SIGKILL, a real {@code basaltctl swarm join} process) between winning the init key
 * and publishing the tokens.
 */
class SwarmJoinIT {

  @TempDir Path dir;

  private final List<String> log = Collections.synchronizedList(new ArrayList<>());

  /** This test's etcd, its own. */
  private EtcdProcess etcd;

  private EtcdClient client() throws IOException {
    return EtcdClient.create(EtcdConfig.builder().endpoints(etcd.endpoint()).build());
  }

  private SwarmJoin.Outcome run(
      EtcdClient c,
      Docker docker,
      SwarmConf.Role role,
      String addr,
      String cluster,
      Map<String, String> labels)
      throws Exception {
    SwarmConf conf = new SwarmConf(role, addr, cluster, new TreeMap<>(labels));
    return new SwarmJoin(
            c,
            docker,
            conf,
            "host-" + addr,
            new SwarmJoin.Timing(
                Duration.ofSeconds(30), Duration.ofSeconds(4), Duration.ofMillis(100)),
            Clock.systemUTC(),
            line -> log.add(addr + ": " + line))
        .run();
  }

  private List<SwarmJoin.Outcome> race(
      List<FakeSwarm.Node> nodes, List<SwarmConf.Role> roles, String cluster) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(nodes.size());
    CountDownLatch go = new CountDownLatch(1);
    List<Future<SwarmJoin.Outcome>> futures = new ArrayList<>();
    try {
      for (int i = 0; i < nodes.size(); i++) {
        FakeSwarm.Node n = nodes.get(i);
        SwarmConf.Role role = roles.get(i);
        futures.add(
            pool.submit(
                () -> {
                  try (EtcdClient c = client()) {
                    go.await();
                    return run(c, n, role, n.id, cluster, Map.of("zone", "z-" + n.id));
                  }
                }));
      }
      go.countDown();
      List<SwarmJoin.Outcome> out = new ArrayList<>();
      for (Future<SwarmJoin.Outcome> f : futures) {
        out.add(f.get(60, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  private static long count(List<?> xs, Object x) {
    return xs.stream().filter(x::equals).count();
  }

  @Test
  void threeNodesRacingMakeOneSwarmAndJoinWithTheirRolesToken() throws Exception {
    try (EtcdProcess e = EtcdProcess.start()) {
      etcd = e;
      raceRerunAndRejoin();
    }
  }

  private void raceRerunAndRejoin() throws Exception {
    FakeSwarm swarm = new FakeSwarm();
    List<FakeSwarm.Node> nodes =
        List.of(swarm.node("10.0.0.1"), swarm.node("10.0.0.2"), swarm.node("10.0.0.3"));
    List<SwarmConf.Role> roles =
        List.of(SwarmConf.Role.MANAGER, SwarmConf.Role.MANAGER, SwarmConf.Role.WORKER);

    List<SwarmJoin.Outcome> first = race(nodes, roles, "race");

    assertEquals(1, count(first, SwarmJoin.Outcome.INITIALISED), first + "\n" + log);
    assertEquals(2, count(first, SwarmJoin.Outcome.JOINED), first + "\n" + log);
    assertEquals(1, swarm.swarms());
    int winner = first.indexOf(SwarmJoin.Outcome.INITIALISED);
    assertTrue(roles.get(winner) == SwarmConf.Role.MANAGER);
    String remote = nodes.get(winner).id + ":2377";
    for (int i = 0; i < 3; i++) {
      List<String> changes = nodes.get(i).changes();
      long inits = changes.stream().filter(c -> c.startsWith("swarm init")).count();
      assertEquals(i == winner ? 1 : 0, inits, nodes.get(i).id + ": " + changes);
      if (i != winner) {
        String token =
            roles.get(i) == SwarmConf.Role.MANAGER ? "<manager-token>" : "<worker-token>";
        assertEquals(
            List.of(
                "swarm join --token "
                    + token
                    + " --advertise-addr "
                    + nodes.get(i).id
                    + " "
                    + remote),
            changes.stream().filter(c -> c.startsWith("swarm join ")).toList(),
            nodes.get(i).id + ": " + changes);
      }
    }
    String keys =
        etcd.etcdctlOutput("get", "--prefix", "--keys-only", "/basalt/swarm/race/").strip();
    assertEquals(
        List.of(
            "/basalt/swarm/race/labels/10.0.0.3",
            "/basalt/swarm/race/manager-addr",
            "/basalt/swarm/race/token/manager",
            "/basalt/swarm/race/token/worker"),
        keys.lines().filter(l -> !l.isBlank()).toList(),
        "the init key goes with its lease once the tokens are published");
    assertEquals(
        remote,
        etcd.etcdctlOutput("get", "--print-value-only", "/basalt/swarm/race/manager-addr").strip());
    for (String line : log) {
      assertFalse(line.contains("SWMTKN"), "a token in the log: " + line);
    }

    // Every boot runs it again: nothing is initialised or joined, etcd is not written.
    long revision;
    try (EtcdClient c = client()) {
      revision = c.currentRevision("/basalt/swarm/race/init");
    }
    int[] before = nodes.stream().mapToInt(n -> n.changes().size()).toArray();
    List<SwarmJoin.Outcome> again = race(nodes, roles, "race");
    assertEquals(3, count(again, SwarmJoin.Outcome.ALREADY_IN_SWARM), again.toString());
    for (int i = 0; i < 3; i++) {
      List<String> changes = nodes.get(i).changes();
      assertTrue(
          changes.subList(before[i], changes.size()).stream()
              .allMatch(c -> c.startsWith("node update ")),
          nodes.get(i).id + ": " + changes);
    }
    try (EtcdClient c = client()) {
      assertEquals(revision, c.currentRevision("/basalt/swarm/race/init"));
    }
    // The worker's labels, published in etcd, were set by the managers.
    assertEquals(Map.of("zone", "z-10.0.0.3"), swarm.labels("10.0.0.3"));
    assertEquals(Map.of("zone", "z-10.0.0.1"), swarm.labels("10.0.0.1"));

    // A node that left the swarm joins again.
    FakeSwarm.Node worker = nodes.get(2);
    worker.leave();
    try (EtcdClient c = client()) {
      assertEquals(
          SwarmJoin.Outcome.JOINED,
          run(c, worker, SwarmConf.Role.WORKER, worker.id, "race", Map.of()));
    }
    assertEquals(1, swarm.swarms());
  }

  @Test
  void aWinnerKilledBeforePublishingIsReplacedOnceItsLeaseEnds() throws Exception {
    try (EtcdProcess e = EtcdProcess.start()) {
      etcd = e;
      killedWinner();
    }
  }

  private void killedWinner() throws Exception {
    Path root = dir.resolve("root");
    Files.createDirectories(root.resolve("etc/basalt"));
    Files.writeString(root.resolve("etc/hostname"), "doomed\n");
    Files.writeString(
        root.resolve("etc/basalt/swarm.conf"),
        "ROLE=manager\nADVERTISE_ADDR=10.0.1.1\nCLUSTER=killed\n");
    Files.writeString(
        root.resolve("etc/basalt/update.conf"), "ETCD_ENDPOINTS=" + etcd.endpoint() + "\n");
    Path marker = dir.resolve("init-started");
    Path docker = dir.resolve("docker");
    Files.writeString(
        docker,
        "#!/bin/sh\n"
            + "case \"$1 $2\" in\n"
            + "  'info --format') echo '{\"NodeID\":\"\",\"LocalNodeState\":\"inactive\","
            + "\"ControlAvailable\":false}' ;;\n"
            + "  'swarm init') touch '"
            + marker
            + "'; exec sleep 600 ;;\n"
            + "  *) exit 1 ;;\n"
            + "esac\n",
        StandardCharsets.UTF_8);
    Files.setPosixFilePermissions(docker, PosixFilePermissions.fromString("rwx------"));
    Path out = dir.resolve("doomed.log");
    Process doomed =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "io.basalt.update.cli.Basaltctl",
                "swarm",
                "join",
                "--root",
                root.toString(),
                "--docker",
                docker.toString(),
                "--init-lease",
                "4s")
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    try {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!Files.exists(marker) && doomed.isAlive() && System.nanoTime() < until) {
        Thread.sleep(50);
      }
      assertTrue(
          Files.exists(marker), "the process never ran swarm init: " + Files.readString(out));
      assertEquals(
          "doomed",
          etcd.etcdctlOutput("get", "--print-value-only", "/basalt/swarm/killed/init").strip());
    } finally {
      doomed.descendants().forEach(ProcessHandle::destroyForcibly);
      doomed.destroyForcibly();
      doomed.waitFor(10, TimeUnit.SECONDS);
    }
    long killedAt = System.nanoTime();

    FakeSwarm swarm = new FakeSwarm();
    FakeSwarm.Node m2 = swarm.node("10.0.1.2");
    try (EtcdClient c = client()) {
      assertEquals(
          SwarmJoin.Outcome.INITIALISED,
          run(c, m2, SwarmConf.Role.MANAGER, m2.id, "killed", Map.of()));
    }
    long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
    // The lease was renewed to 4 s at most 1.33 s before the kill: the key outlived the process.
    assertTrue(waitedMs >= 2000, "took over after " + waitedMs + " ms, before the lease ended");
    assertEquals(1, m2.changes().stream().filter(c -> c.startsWith("swarm init")).count());

    FakeSwarm.Node w = swarm.node("10.0.1.3");
    try (EtcdClient c = client()) {
      assertEquals(
          SwarmJoin.Outcome.JOINED, run(c, w, SwarmConf.Role.WORKER, w.id, "killed", Map.of()));
    }
    assertEquals(
        List.of("swarm join --token <worker-token> --advertise-addr 10.0.1.3 10.0.1.2:2377"),
        w.changes());
    assertEquals(1, swarm.swarms());
  }

  @Test
  void aJoinDockerGaveUpWaitingForIsWaitedForAndItsErrorIsReported() throws Exception {
    try (EtcdProcess e = EtcdProcess.start()) {
      etcd = e;
      FakeSwarm swarm = new FakeSwarm();
      FakeSwarm.Node m = swarm.node("10.0.2.1");
      FakeSwarm.Node slow = swarm.node("10.0.2.2");
      FakeSwarm.Node failing = swarm.node("10.0.2.3");
      slow.background = new ArrayList<>(List.of("pending", "pending", "active"));
      failing.background = new ArrayList<>(List.of("pending", "error"));
      try (EtcdClient c = client()) {
        assertEquals(
            SwarmJoin.Outcome.INITIALISED,
            run(c, m, SwarmConf.Role.MANAGER, m.id, "slow", Map.of()));
        // docker swarm join timed out, the engine joined in the background: a join.
        assertEquals(
            SwarmJoin.Outcome.JOINED,
            run(c, slow, SwarmConf.Role.MANAGER, slow.id, "slow", Map.of("zone", "b")));
        assertEquals("active", slow.info().state());
        assertEquals(Map.of("zone", "b"), swarm.labels(slow.id));
        // ... and in the background it failed: docker's message and the state, never a token.
        IOException failed =
            assertThrows(
                IOException.class,
                () -> run(c, failing, SwarmConf.Role.WORKER, failing.id, "slow", Map.of()));
        assertTrue(
            failed
                .getMessage()
                .startsWith(
                    "joining swarm 'slow' through 10.0.2.1:2377 failed: Timeout was reached"
                        + " before node joined."),
            failed.getMessage());
        assertTrue(
            failed.getMessage().contains("; docker's swarm state is now error (see docker info"),
            failed.getMessage());
        assertFalse(failed.getMessage().contains("SWMTKN"), failed.getMessage());
        // The next boot's run sees the error and refuses to touch it.
        IOException again =
            assertThrows(
                IOException.class,
                () -> run(c, failing, SwarmConf.Role.WORKER, failing.id, "slow", Map.of()));
        assertTrue(
            again.getMessage().startsWith("docker's swarm state is error"), again.getMessage());
      }
      assertEquals(1, failing.changes().stream().filter(x -> x.startsWith("swarm join ")).count());
      assertTrue(
          log.stream().anyMatch(l -> l.equals("10.0.2.2: docker's swarm state settled: active")),
          log.toString());
    }
  }

  @Test
  void aLeaseKeptAliveOutlivesItsTtlAndItsKeyGoesWhenItEnds() throws Exception {
    try (EtcdProcess e = EtcdProcess.start();
        EtcdClient c = EtcdClient.create(EtcdConfig.builder().endpoints(e.endpoint()).build())) {
      long lease = c.grantLease(Duration.ofSeconds(2));
      long rev =
          c.createIfAbsent("/t/init", "me".getBytes(StandardCharsets.UTF_8), lease, List.of());
      assertTrue(rev > 0);
      assertEquals(
          0, c.createIfAbsent("/t/init", "other".getBytes(StandardCharsets.UTF_8), 0, List.of()));
      for (int i = 0; i < 8; i++) {
        Thread.sleep(500);
        assertTrue(c.keepAlive(lease));
      }
      assertTrue(c.get("/t/init").isPresent(), "kept alive for 4 s, twice its TTL");
      Thread.sleep(3500);
      assertTrue(c.get("/t/init").isEmpty(), "not renewed: gone with the lease");
      assertFalse(c.keepAlive(lease));
      c.revokeLease(lease); // an ended lease is not an error
    }
  }
}
