package io.basalt.update.swarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.SwarmConf;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.EtcdUnavailableException;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The join without a working etcd: what a node already in a swarm does, and the refusals. */
class SwarmJoinTest {

  private final List<String> log = new ArrayList<>();

  private static EtcdClient deadEtcd() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    return EtcdClient.create(
        EtcdConfig.builder()
            .endpoints("http://127.0.0.1:" + port)
            .requestTimeout(Duration.ofMillis(500))
            .build());
  }

  private SwarmJoin join(Docker docker, SwarmConf.Role role, EtcdClient etcd) {
    SwarmConf conf = new SwarmConf(role, "10.0.0.5", "prod", new TreeMap<>(Map.of("zone", "a")));
    return new SwarmJoin(
        etcd,
        docker,
        conf,
        "node5",
        new SwarmJoin.Timing(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofMillis(50)),
        Clock.systemUTC(),
        log::add);
  }

  /** Manager n5 of {@code swarm} whose engine is in swarm state {@code state}. */
  private static FakeSwarm.Node manager(FakeSwarm swarm, String state) {
    FakeSwarm.Node n = swarm.node("n5");
    n.state = state;
    n.manager = true;
    return n;
  }

  /** Runs {@code n}'s join as a manager with etcd down: it must find n in the swarm already. */
  private void assertAlreadyInSwarm(FakeSwarm.Node n) throws Exception {
    try (EtcdClient etcd = deadEtcd()) {
      assertEquals(SwarmJoin.Outcome.ALREADY_IN_SWARM, join(n, SwarmConf.Role.MANAGER, etcd).run());
    }
  }

  @Test
  void aManagerAlreadyInTheSwarmOnlySetsItsLabelsEvenWithEtcdDown() throws Exception {
    FakeSwarm swarm = new FakeSwarm();
    FakeSwarm.Node n = manager(swarm, "active");
    assertAlreadyInSwarm(n);
    assertEquals(List.of("info", "node update {zone=a} n5"), n.calls());
    assertEquals(Map.of("zone", "a"), swarm.labels("n5"));
    assertTrue(
        log.get(log.size() - 1).startsWith("labels published by workers not read: "),
        log.toString());
  }

  @Test
  void aNodeOutsideTheSwarmNeedsEtcd() throws Exception {
    FakeSwarm.Node n = new FakeSwarm().node("n5");
    try (EtcdClient etcd = deadEtcd()) {
      assertThrows(
          EtcdUnavailableException.class, () -> join(n, SwarmConf.Role.WORKER, etcd).run());
    }
    assertEquals(List.of(), n.changes());
  }

  @Test
  void aLockedOrPendingEngineIsAClearError() throws Exception {
    FakeSwarm.Node n = new FakeSwarm().node("n5");
    n.state = "locked";
    try (EtcdClient etcd = deadEtcd()) {
      assertEquals(
          "docker's swarm state is locked (autolock): unlock it with docker swarm unlock",
          assertThrows(IOException.class, () -> join(n, SwarmConf.Role.WORKER, etcd).run())
              .getMessage());
      n.state = "pending";
      assertTrue(
          assertThrows(IOException.class, () -> join(n, SwarmConf.Role.WORKER, etcd).run())
              .getMessage()
              .startsWith("docker's swarm state is pending (expected active or inactive)"));
      assertTrue(log.contains("docker's swarm state is still pending after PT1S"), log.toString());
    }
  }

  @Test
  void aJoinUnderWayAtStartIsWaitedFor() throws Exception {
    FakeSwarm swarm = new FakeSwarm();
    FakeSwarm.Node n = manager(swarm, "pending");
    n.background = new ArrayList<>(List.of("pending", "active"));
    assertAlreadyInSwarm(n);
    assertEquals(List.of("node update {zone=a} n5"), n.changes());
    assertEquals(Map.of("zone", "a"), swarm.labels("n5"));
  }

  @Test
  void managerAddressesAndLabelText() {
    assertEquals("10.0.0.1:2377", SwarmJoin.remoteAddr("10.0.0.1"));
    assertEquals("[fd00::1]:2377", SwarmJoin.remoteAddr("fd00::1"));
    TreeMap<String, String> labels = new TreeMap<>(Map.of("zone", "a", "rack", "1=2"));
    assertEquals(labels, SwarmJoin.parseLabels(SwarmJoin.renderLabels(labels)));
  }
}
