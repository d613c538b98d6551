package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.EtcdUnavailableException;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import io.basalt.update.lock.Semaphore;
import io.basalt.update.strategy.LocalHold;
import io.basalt.update.strategy.RebootCoordinator;
import io.basalt.update.strategy.RebootStrategy;
import io.basalt.update.testing.EtcdProcess;
import io.basalt.update.testing.HistoryObserver;
import io.basalt.update.testing.LockHolderMain;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults against a real etcd: restarts, killed holders, force unlock, restarted agents, no reboot
 * without the lock.
 */
class RebootFaultsIT {

  static EtcdProcess etcd;
  static final Instant T = Instant.parse("2026-11-21T10:00:00Z");

  @TempDir Path tmp;

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

  static EtcdClient client() throws Exception {
    return EtcdClient.create(
        EtcdConfig.builder()
            .endpoint(etcd.endpoint())
            .requestTimeout(Duration.ofSeconds(3))
            .build());
  }

  static RetryPolicy retry() {
    return new RetryPolicy(
        Duration.ofMillis(5),
        Duration.ofMillis(250),
        Duration.ofSeconds(60),
        Duration.ofMillis(10),
        Duration.ofMillis(100));
  }

  Map<String, String> env(String group, String machineId) throws Exception {
    Path mid = tmp.resolve("machine-id-" + machineId);
    Files.writeString(mid, machineId + "\n");
    Map<String, String> env = new HashMap<>();
    env.put("BASALTCTL_ENDPOINT", etcd.endpoint());
    env.put("BASALTCTL_GROUP", group);
    env.put("BASALTCTL_MACHINE_ID_FILE", mid.toString());
    env.put("BASALT_STATE_DIR", tmp.resolve("state").toString());
    return env;
  }

  @Test
  void etcdRestartedMidRun() throws Exception {
    String group = "restart";
    RebootLock admin = new RebootLock(client(), group, Clock.systemUTC(), retry());
    admin.setMax(2);
    long startRev = client().currentRevision(admin.key());
    int agents = 6;
    int rounds = 10;
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger maxInside = new AtomicInteger();
    AtomicInteger acquired = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(agents);
    List<Future<Integer>> fs = new ArrayList<>();
    for (int a = 0; a < agents; a++) {
      String id = "restart-agent-" + a;
      fs.add(
          pool.submit(
              () -> {
                RebootLock lock = new RebootLock(client(), group, Clock.systemUTC(), retry());
                int done = 0;
                for (int round = 0; round < rounds; round++) {
                  // across the restart a committed write may lose its answer: then the lock reads
                  // as ALREADY_HELD
                  assertTrue(lock.lock(id, Duration.ofSeconds(120)).held(), id);
                  maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                  acquired.incrementAndGet();
                  Thread.sleep(5);
                  inside.decrementAndGet();
                  lock.unlock(id);
                  done++;
                }
                return done;
              }));
    }
    pool.shutdown();
    while (acquired.get() < agents * rounds / 3) {
      Thread.sleep(5);
    }
    etcd.restart();
    int restartedAt = acquired.get();
    for (Future<Integer> f : fs) {
      assertEquals(
          rounds, f.get(180, TimeUnit.SECONDS), "every agent completes across the restart");
    }
    assertTrue(restartedAt < agents * rounds, "the restart happened mid-run");
    assertTrue(maxInside.get() <= 2, "never more than 2 inside: " + maxInside.get());
    RebootLock.Status end = admin.status();
    assertEquals(2, end.semaphore().semaphore(), end.toString());
    assertTrue(end.semaphore().holders().isEmpty(), end.toString());
    try (HistoryObserver obs = new HistoryObserver(etcd, admin.key(), startRev + 1)) {
      List<HistoryObserver.Event> h = obs.awaitRevision(end.modRevision(), Duration.ofSeconds(30));
      for (HistoryObserver.Event e : h) {
        Semaphore s = Semaphore.parse(admin.key(), e.value());
        assertTrue(s.holders().size() <= 2, "revision " + e.modRevision() + ": " + s);
      }
      System.out.printf(
          "etcd restart: restarted after %d of %d acquisitions; %d revisions, all <= 2 holders%n",
          restartedAt, agents * rounds, h.size());
    }
  }

  /** Starts {@link LockHolderMain} in its own JVM and waits until it holds the lock. */
  static Process holdInAnotherProcess(String group, String machineId) throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p =
        new ProcessBuilder(
                java.toString(),
                "-cp",
                System.getProperty("java.class.path"),
                LockHolderMain.class.getName(),
                etcd.endpoint(),
                group,
                machineId)
            .redirectErrorStream(true)
            .start();
    BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = r.readLine();
    assertEquals("HOLDING", line, "child agent");
    return p;
  }

  @Test
  void killedHolderIsStaleWithSinceTimeForceUnlockFreesItRestartedAgentReleasesItsOldHold()
      throws Exception {
    String group = "stale";
    Map<String, String> opsEnv = env(group, "operator-machine");
    assertEquals(0, CliRunner.basaltctl(opsEnv, Clock.systemUTC(), "lock", "set-max", "2").exit());

    Instant before = Instant.now().minusSeconds(1);
    Process dead = holdInAnotherProcess(group, "crashed-agent");
    dead.destroyForcibly();
    assertTrue(dead.waitFor(20, TimeUnit.SECONDS));

    CliRunner.Result st = CliRunner.basaltctl(opsEnv, Clock.systemUTC(), "lock", "status");
    assertEquals(0, st.exit(), st.toString());
    assertTrue(st.out().contains("crashed-agent"), "stale holder listed: " + st);
    RebootLock lock = new RebootLock(client(), group, Clock.systemUTC(), retry());
    Instant since = lock.status().semaphore().since("crashed-agent").orElseThrow();
    assertFalse(since.isBefore(before), "since-time is when the lock was taken: " + since);
    assertTrue(st.out().contains(since.toString()), st.toString());

    CliRunner.Result u =
        CliRunner.basaltctl(opsEnv, Clock.systemUTC(), "lock", "unlock", "crashed-agent");
    assertEquals(2, u.exit(), "not without --force: " + u);
    assertTrue(lock.status().semaphore().isHeldBy("crashed-agent"));
    u =
        CliRunner.basaltctl(
            opsEnv, Clock.systemUTC(), "lock", "unlock", "crashed-agent", "--force");
    assertEquals(0, u.exit(), u.toString());
    assertFalse(lock.status().semaphore().isHeldBy("crashed-agent"), "force unlock freed it");
    assertEquals(2, lock.status().semaphore().available());

    // an agent that dies holding and then restarts gives its old hold back on start
    Process again = holdInAnotherProcess(group, "restarting-agent");
    again.destroyForcibly();
    assertTrue(again.waitFor(20, TimeUnit.SECONDS));
    assertTrue(lock.status().semaphore().isHeldBy("restarting-agent"));
    RebootCoordinator restarted =
        RebootCoordinator.builder()
            .strategy(
                RebootStrategy.etcdLock(
                    new RebootLock(client(), group, Clock.systemUTC(), retry()),
                    "restarting-agent"))
            .localHold(new LocalHold(tmp.resolve("state")))
            .rebooter(
                () -> {
                  throw new AssertionError("no reboot on start");
                })
            .build();
    restarted.releaseOwnHold();
    assertFalse(
        lock.status().semaphore().isHeldBy("restarting-agent"), "old hold released on restart");
    assertEquals(2, lock.status().semaphore().available());
  }

  @Test
  void underEtcdLockNoRebootEverHappensWithoutTheLock() throws Exception {
    String group = "guard";
    String me = "guarded-machine";
    RebootLock probe = new RebootLock(client(), group, Clock.systemUTC(), retry());
    assertTrue(probe.tryLock("other-machine").held(), "another machine takes the only slot");
    List<Instant> reboots = new ArrayList<>();
    List<String> users = new ArrayList<>();
    io.basalt.update.testing.MutableClock clock = new io.basalt.update.testing.MutableClock(T);
    RebootCoordinator c =
        RebootCoordinator.builder()
            .strategy(RebootStrategy.etcdLock(new RebootLock(client(), group, clock, retry()), me))
            .localHold(new LocalHold(tmp.resolve("state-guard")))
            .inhibitors(List::of)
            .sessions(() -> List.copyOf(users))
            .notifier(m -> {})
            .grace(Duration.ofMinutes(5))
            .clock(clock)
            .rebooter(
                () -> {
                  // the oracle: etcd itself, read by etcdctl at the moment of the reboot
                  String v;
                  try {
                    v = etcd.etcdctlOutput("get", RebootLock.keyFor(group), "--print-value-only");
                  } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                  }
                  assertTrue(
                      v.contains("\"" + me + "\""), "rebooting without holding the lock: " + v);
                  reboots.add(clock.instant());
                })
            .build();
    for (int i = 0; i < 5; i++) {
      RebootCoordinator.Decision d = c.step();
      assertEquals(RebootCoordinator.Action.WAIT, d.action());
      assertTrue(
          d.reason().contains("is full") && d.reason().contains("other-machine"), d.reason());
      clock.advance(Duration.ofMinutes(1));
    }
    // the slot frees, but users are logged in: lock taken, grace starts
    probe.unlock("other-machine");
    users.add("dave");
    assertEquals(RebootCoordinator.Action.WAIT, c.step().action());
    assertTrue(probe.status().semaphore().isHeldBy(me));
    // during the grace an operator force-unlocks us and someone else takes the slot
    probe.unlock(me);
    assertTrue(probe.tryLock("other-machine").held());
    clock.advance(Duration.ofMinutes(6));
    RebootCoordinator.Decision d = c.step();
    assertEquals(RebootCoordinator.Action.WAIT, d.action(), "lock lost during grace: no reboot");
    // etcd down: no reboot either
    etcd.kill();
    try {
      RebootCoordinator fast =
          RebootCoordinator.builder()
              .strategy(
                  RebootStrategy.etcdLock(
                      new RebootLock(
                          client(), group, clock, retry().withGiveUpAfter(Duration.ofSeconds(1))),
                      me))
              .localHold(new LocalHold(tmp.resolve("state-guard")))
              .inhibitors(List::of)
              .sessions(List::of)
              .notifier(m -> {})
              .clock(clock)
              .rebooter(() -> reboots.add(Instant.EPOCH))
              .build();
      assertThrows(EtcdUnavailableException.class, fast::step);
    } finally {
      etcd.launch();
    }
    assertTrue(reboots.isEmpty(), "no reboot without the lock");
    probe.unlock("other-machine");
    users.clear();
    d = c.step();
    assertEquals(RebootCoordinator.Action.REBOOTING, d.action(), d.toString());
    assertEquals(1, reboots.size());
    // after the blessed boot, even outside any window, the slot is given back
    c.releaseOwnHold();
    assertFalse(probe.status().semaphore().isHeldBy(me));
  }
}
