package io.basalt.update.strategy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import io.basalt.update.testing.EtcdProcess;
import java.nio.file.FileSystem;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A real 3-member etcd cluster on loopback (Debian's etcd): the agent's quorum check, in front of
 * the real etcd-lock strategy, refuses the lock on member m1 while m2 is stopped (m1's reboot would
 * leave 1 of 3, quorum 2), lets a machine that is no member take it (the cluster has quorum now),
 * and grants m1 the lock once all three are healthy again.
 */
class EtcdQuorumIT {

  @Test
  void aMemberWhoseRebootWouldBreakQuorumDoesNotTakeTheLock() throws Exception {
    List<EtcdProcess> members = EtcdProcess.cluster(3);
    FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
    try {
      String eps = String.join(",", members.stream().map(EtcdProcess::endpoint).toList());
      EtcdClient etcd =
          EtcdClient.create(
              EtcdConfig.builder().endpoints(eps).requestTimeout(Duration.ofSeconds(2)).build());
      RebootLock lock = new RebootLock(etcd, "quorum", Clock.systemUTC(), RetryPolicy.defaults());
      List<String> reboots = new ArrayList<>();

      // all three healthy: m1 takes the lock and reboots
      RebootCoordinator m1 = agent(fs, etcd, lock, "m1", "machine-m1", reboots);
      RebootCoordinator.Decision d = m1.step();
      assertEquals(RebootCoordinator.Action.REBOOTING, d.action(), d.toString());
      assertEquals(List.of("machine-m1"), lock.status().semaphore().holders());
      assertTrue(m1.releaseOwnHold());
      assertEquals(List.of(), lock.status().semaphore().holders());

      EtcdProcess m2 = members.get(2);
      assertEquals("m2", m2.name());
      m2.kill();
      long t0 = System.nanoTime();
      String expected =
          "etcd: 2 of 3 members healthy (m2 unreachable); rebooting m1 would leave 1, quorum is 2";
      m1 = agent(fs, etcd, lock, "m1", "machine-m1", reboots);
      do {
        d = m1.step();
        assertEquals(RebootCoordinator.Action.WAIT, d.action(), d.toString());
        // a leader election may still run if m2 led: then the survivors report no leader
      } while (!d.reason().equals(expected) && System.nanoTime() - t0 < 30_000_000_000L);
      assertEquals(expected, d.reason());
      assertEquals(List.of(), lock.status().semaphore().holders(), "no lock taken");
      assertEquals(List.of("machine-m1"), reboots, "no reboot while m2 is down");
      System.out.println("quorum check, m2 stopped, as m1: " + d.reason());

      // a machine that is no member only needs the cluster to have quorum now
      RebootCoordinator outsider = agent(fs, etcd, lock, "worker-7", "machine-w7", reboots);
      d = outsider.step();
      assertEquals(RebootCoordinator.Action.REBOOTING, d.action(), d.toString());
      assertEquals(List.of("machine-w7"), lock.status().semaphore().holders());
      assertTrue(outsider.releaseOwnHold());
      System.out.println("quorum check, m2 stopped, as a non-member: lock granted");

      m2.launch();
      m1 = agent(fs, etcd, lock, "m1", "machine-m1", reboots);
      t0 = System.nanoTime();
      do {
        d = m1.step();
      } while (d.action() == RebootCoordinator.Action.WAIT
          && System.nanoTime() - t0 < 30_000_000_000L);
      assertEquals(RebootCoordinator.Action.REBOOTING, d.action(), d.toString());
      assertEquals(List.of("machine-m1"), lock.status().semaphore().holders());
      assertEquals(List.of("machine-m1", "machine-w7", "machine-m1"), reboots);
      System.out.println("quorum check, m2 back, as m1: lock granted (" + d.reason() + ")");
    } finally {
      members.forEach(EtcdProcess::close);
      fs.close();
    }
  }

  /** An agent on the machine named {@code host}, with only the quorum check as a guard. */
  private static RebootCoordinator agent(
      FileSystem fs,
      EtcdClient etcd,
      RebootLock lock,
      String host,
      String machineId,
      List<String> reboots) {
    return RebootCoordinator.builder()
        .strategy(RebootStrategy.etcdLock(lock, machineId))
        .localHold(new LocalHold(fs.getPath("/var/lib/basalt")))
        .inhibitors(List::of)
        .sessions(List::of)
        .notifier(m -> {})
        .rebooter(() -> reboots.add(machineId))
        .grace(Duration.ZERO)
        .guard(new EtcdQuorumCheck(etcd, new EtcdQuorumCheck.Self(host, Set.of())))
        .build();
  }
}
