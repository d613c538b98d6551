package io.basalt.update.swarm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.host.SwarmConf;
import io.basalt.update.strategy.ClusterGuard;
import io.basalt.update.strategy.LocalHold;
import io.basalt.update.strategy.RebootCoordinator;
import io.basalt.update.strategy.RebootStrategy;
import io.basalt.update.testing.MutableClock;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The drain around a reboot, driven through {@link RebootCoordinator} with a fake clock, a
 * recording lock and the recorded fake swarm: the order of the steps before the reboot and after
 * the blessed boot, the bounded waits, a worker, a node an operator drained.
 */
class SwarmDrainTest {

  final FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
  final Path state = fs.getPath("/var/lib/basalt");
  final MutableClock clock = new MutableClock(Instant.parse("2026-12-06T04:00:00Z"));
  final List<String> events = new ArrayList<>();
  final List<String> logs = new ArrayList<>();
  final FakeSwarm swarm = new FakeSwarm();
  final LocalHold hold = new LocalHold(state);

  @AfterEach
  void close() throws IOException {
    fs.close();
  }

  /** A lock that records taking and giving back. */
  final class RecordingLock implements RebootStrategy {
    boolean held;

    @Override
    public String name() {
      return "test-lock";
    }

    @Override
    public Permission acquire() {
      events.add(held ? "lock (held)" : "lock");
      held = true;
      return new Permission(true, "granted");
    }

    @Override
    public void release() {
      if (held) {
        events.add("release");
      }
      held = false;
    }
  }

  /** The fake engine, its drain-related calls also written to {@link #events}. */
  Docker recorded(FakeSwarm.Node n) {
    return new Docker() {
      @Override
      public SwarmInfo info() throws IOException {
        return n.info();
      }

      @Override
      public void init(String a) throws IOException {
        n.init(a);
      }

      @Override
      public String joinToken(SwarmConf.Role r) throws IOException {
        return n.joinToken(r);
      }

      @Override
      public void join(String t, String a, String r) throws IOException {
        n.join(t, a, r);
      }

      @Override
      public void leave() {
        n.leave();
      }

      @Override
      public void addLabels(String id, SortedMap<String, String> l) throws IOException {
        n.addLabels(id, l);
      }

      @Override
      public void setAvailability(String id, String a) throws IOException {
        events.add("docker node update --availability " + a + " " + id);
        n.setAvailability(id, a);
      }

      @Override
      public List<Node> nodes() throws IOException {
        return n.nodes();
      }

      @Override
      public List<String> runningTasks() throws IOException {
        List<String> t = n.runningTasks();
        events.add("docker ps: " + t);
        return t;
      }
    };
  }

  /** A quorum check that records being asked and says yes. */
  final ClusterGuard quorum =
      new ClusterGuard() {
        @Override
        public Optional<String> beforeLock() {
          events.add("quorum check");
          return Optional.empty();
        }
      };

  RebootCoordinator coordinator(RecordingLock lock, FakeSwarm.Node node, SwarmDrain.Mode mode) {
    return RebootCoordinator.builder()
        .strategy(lock)
        .localHold(hold)
        .inhibitors(List::of)
        .sessions(List::of)
        .notifier(m -> {})
        .rebooter(() -> events.add("reboot"))
        .clock(clock)
        .grace(Duration.ZERO)
        .log(logs::add)
        .guard(quorum)
        .guard(new SwarmDrain(recorded(node), state, mode, Duration.ofMinutes(5), clock, logs::add))
        .build();
  }

  @Test
  void quorumLockDrainWaitRebootThenActiveBeforeRelease() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    swarm.member("n2", true);
    swarm.member("n3", true);
    n1.setTasks("web.1.abc", "db.1.def");
    RecordingLock lock = new RecordingLock();
    RebootCoordinator c = coordinator(lock, n1, SwarmDrain.Mode.AUTO);

    RebootCoordinator.Decision d = c.step();
    assertEquals(RebootCoordinator.Action.WAIT, d.action(), d.toString());
    assertEquals(
        "swarm: drained for reboot since 2026-12-06T04:00:00Z; 2 task(s) still running"
            + " (web.1.abc, db.1.def), waiting until 2026-12-06T04:05:00Z",
        d.reason());
    assertEquals(Optional.of(clock.instant().plusSeconds(5)), d.retryAt());
    assertEquals("drain", swarm.availability("n1"));
    assertEquals(
        new SwarmDrain.Drained("n1", Instant.parse("2026-12-06T04:00:00Z")),
        SwarmDrain.read(state).orElseThrow());

    clock.advance(Duration.ofSeconds(5));
    n1.setTasks("db.1.def");
    assertEquals(RebootCoordinator.Action.WAIT, c.step().action());
    clock.advance(Duration.ofSeconds(5));
    n1.setTasks();
    d = c.step();
    assertEquals(RebootCoordinator.Action.REBOOTING, d.action(), d.toString());
    assertEquals(
        List.of(
            "quorum check",
            "lock",
            "docker node update --availability drain n1",
            "docker ps: [web.1.abc, db.1.def]",
            "quorum check",
            "lock (held)",
            "docker ps: [db.1.def]",
            "quorum check",
            "lock (held)",
            "docker ps: []",
            "reboot"),
        events);
    assertTrue(
        logs.contains("swarm: no task of this node left running after PT10S"), logs.toString());

    // the new boot: a new agent, the lock still held, the record on disk
    events.clear();
    RebootCoordinator after = coordinator(lock, n1, SwarmDrain.Mode.AUTO);
    assertTrue(after.releaseOwnHold());
    assertEquals(List.of("docker node update --availability active n1", "release"), events);
    assertEquals("active", swarm.availability("n1"));
    assertTrue(SwarmDrain.read(state).isEmpty(), "record deleted");
  }

  @Test
  void tasksThatDoNotLeaveDelayTheRebootOnlyUntilTheTimeout() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    n1.setTasks("stuck.1.x");
    RebootCoordinator c = coordinator(new RecordingLock(), n1, SwarmDrain.Mode.YES);
    assertEquals(RebootCoordinator.Action.WAIT, c.step().action());
    clock.advance(Duration.ofMinutes(5).minusSeconds(1));
    assertEquals(RebootCoordinator.Action.WAIT, c.step().action());
    assertFalse(events.contains("reboot"));
    clock.advance(Duration.ofSeconds(1));
    assertEquals(RebootCoordinator.Action.REBOOTING, c.step().action());
    assertTrue(
        logs.contains(
            "swarm: 1 task(s) still running after PT5M (SWARM_DRAIN_TIMEOUT PT5M): stuck.1.x;"
                + " rebooting anyway"),
        logs.toString());
  }

  @Test
  void aWorkerCannotDrainItselfAndSaysSoOnce() throws Exception {
    swarm.member("m1", true);
    FakeSwarm.Node w = swarm.member("w1", false);
    w.setTasks("web.2.y");
    RebootCoordinator c = coordinator(new RecordingLock(), w, SwarmDrain.Mode.AUTO);
    hold.hold("not yet", clock.instant());
    c.step();
    hold.release();
    assertEquals(RebootCoordinator.Action.REBOOTING, c.step().action());
    assertEquals(List.of("quorum check", "lock", "reboot"), events);
    assertTrue(w.changes().isEmpty(), "no docker change from a worker: " + w.changes());
    assertEquals(
        1, logs.stream().filter(l -> l.contains("is a worker")).count(), "said once: " + logs);
    assertTrue(SwarmDrain.read(state).isEmpty());
  }

  @Test
  void aNodeDrainedByTheOperatorIsNeverSetActiveByTheAgent() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    swarm.operatorSets("n1", "drain");
    RecordingLock lock = new RecordingLock();
    assertEquals(
        RebootCoordinator.Action.REBOOTING,
        coordinator(lock, n1, SwarmDrain.Mode.AUTO).step().action());
    assertTrue(SwarmDrain.read(state).isEmpty(), "no record: the agent did not drain it");
    assertTrue(coordinator(lock, n1, SwarmDrain.Mode.AUTO).releaseOwnHold());
    assertEquals(List.of("quorum check", "lock", "reboot", "release"), events);
    assertEquals("drain", swarm.availability("n1"));
  }

  @Test
  void activeAgainIsRetriedWhileDockerIsNotUpAndTheLockWaitsForIt() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    RecordingLock lock = new RecordingLock();
    assertEquals(
        RebootCoordinator.Action.REBOOTING,
        coordinator(lock, n1, SwarmDrain.Mode.AUTO).step().action());
    events.clear();
    RebootCoordinator after = coordinator(lock, n1, SwarmDrain.Mode.AUTO);
    n1.failWith(new IOException("Cannot connect to the Docker daemon"));
    assertFalse(after.releaseOwnHold());
    clock.advance(Duration.ofMinutes(3));
    assertFalse(after.releaseOwnHold());
    assertTrue(lock.held, "the lock is kept while the node is not active again");
    n1.failWith(null);
    clock.advance(Duration.ofMinutes(1));
    assertTrue(after.releaseOwnHold());
    assertEquals(List.of("docker node update --availability active n1", "release"), events);
    assertEquals("active", swarm.availability("n1"));
  }

  @Test
  void activeAgainGivesUpAfterItsBoundAndThenReleasesTheLock() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    RecordingLock lock = new RecordingLock();
    coordinator(lock, n1, SwarmDrain.Mode.AUTO).step();
    RebootCoordinator after = coordinator(lock, n1, SwarmDrain.Mode.AUTO);
    n1.failWith(new IOException("Cannot connect to the Docker daemon"));
    assertFalse(after.releaseOwnHold());
    clock.advance(SwarmDrain.REACTIVATE_BOUND.minusSeconds(1));
    assertFalse(after.releaseOwnHold());
    clock.advance(Duration.ofSeconds(1));
    assertTrue(after.releaseOwnHold());
    assertFalse(lock.held);
    assertTrue(
        logs.stream()
            .anyMatch(
                l ->
                    l.startsWith("swarm: could not set node n1 active again within PT10M")
                        && l.contains("docker node update --availability active n1")),
        logs.toString());
    assertTrue(SwarmDrain.read(state).isPresent(), "record kept for the next agent start");
  }

  @Test
  void aRebootCalledOffDuringTheDrainSetsTheNodeActiveAndGivesTheLockBack() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    n1.setTasks("web.1.a");
    RecordingLock lock = new RecordingLock();
    RebootCoordinator c = coordinator(lock, n1, SwarmDrain.Mode.AUTO);
    assertEquals(RebootCoordinator.Action.WAIT, c.step().action());
    hold.hold("incident", clock.instant());
    assertEquals(RebootCoordinator.Action.WAIT, c.step().action());
    assertEquals("active", swarm.availability("n1"));
    assertTrue(SwarmDrain.read(state).isEmpty());
    assertFalse(lock.held);
    assertEquals(
        List.of(
            "quorum check",
            "lock",
            "docker node update --availability drain n1",
            "docker ps: [web.1.a]",
            "docker node update --availability active n1",
            "release"),
        events);
  }

  @Test
  void aManagerWhoseRebootWouldCostTheSwarmItsQuorumWaitsWithoutTheLock() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    swarm.member("n2", true);
    FakeSwarm.Node n3 = swarm.member("n3", true);
    n3.reachable = false;
    RecordingLock lock = new RecordingLock();
    RebootCoordinator.Decision d = coordinator(lock, n1, SwarmDrain.Mode.AUTO).step();
    assertEquals(RebootCoordinator.Action.WAIT, d.action());
    assertEquals(
        "swarm: 2 of 3 managers reachable (host-n3 unreachable); rebooting host-n1 would leave 1,"
            + " quorum is 2",
        d.reason());
    assertEquals(List.of("quorum check"), events);
    n3.reachable = true;
    assertEquals(
        RebootCoordinator.Action.REBOOTING,
        coordinator(lock, n1, SwarmDrain.Mode.AUTO).step().action());
  }

  @Test
  void noMeansNoDockerCallAtAll() throws Exception {
    FakeSwarm.Node n1 = swarm.member("n1", true);
    n1.setTasks("web.1.a");
    assertEquals(
        RebootCoordinator.Action.REBOOTING,
        coordinator(new RecordingLock(), n1, SwarmDrain.Mode.NO).step().action());
    assertTrue(n1.calls().isEmpty(), n1.calls().toString());
    assertTrue(Files.notExists(state.resolve(SwarmDrain.FILE)));
  }
}
