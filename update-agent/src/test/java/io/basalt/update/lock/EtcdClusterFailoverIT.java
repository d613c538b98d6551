package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.update.testing.EtcdProcess;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A real 3-member etcd cluster: agents configured with all three endpoints keep locking and
 * unlocking while the member they talk to first is killed (and with it, possibly the leader).
 */
class EtcdClusterFailoverIT {

  @Test
  void agentsFailOverWhenAMemberDies() throws Exception {
    List<EtcdProcess> members = EtcdProcess.cluster(3);
    try {
      String eps =
          members.get(0).endpoint()
              + ","
              + members.get(1).endpoint()
              + ","
              + members.get(2).endpoint();
      RetryPolicy retry =
          new RetryPolicy(
              Duration.ofMillis(5),
              Duration.ofMillis(250),
              Duration.ofSeconds(60),
              Duration.ofMillis(10),
              Duration.ofMillis(100));
      RebootLock admin =
          new RebootLock(
              EtcdClient.create(
                  EtcdConfig.builder()
                      .endpoints(eps)
                      .requestTimeout(Duration.ofSeconds(3))
                      .build()),
              "cluster",
              Clock.systemUTC(),
              retry);
      admin.setMax(2);
      int agents = 4;
      int rounds = 15;
      AtomicInteger acquired = new AtomicInteger();
      AtomicInteger inside = new AtomicInteger();
      AtomicInteger maxInside = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(agents);
      List<Future<Integer>> fs = new java.util.ArrayList<>();
      for (int a = 0; a < agents; a++) {
        String id = "cluster-agent-" + a;
        fs.add(
            pool.submit(
                () -> {
                  RebootLock l =
                      new RebootLock(
                          EtcdClient.create(
                              EtcdConfig.builder()
                                  .endpoints(eps)
                                  .requestTimeout(Duration.ofSeconds(3))
                                  .build()),
                          "cluster",
                          Clock.systemUTC(),
                          retry);
                  int done = 0;
                  for (int r = 0; r < rounds; r++) {
                    assertTrue(l.lock(id, Duration.ofSeconds(120)).held(), id);
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    acquired.incrementAndGet();
                    Thread.sleep(5);
                    inside.decrementAndGet();
                    l.unlock(id);
                    done++;
                  }
                  return done;
                }));
      }
      pool.shutdown();
      while (acquired.get() < agents * rounds / 3) {
        Thread.sleep(5);
      }
      members.get(0).kill(); // every client prefers the first endpoint until it fails
      int killedAt = acquired.get();
      for (Future<Integer> f : fs) {
        assertEquals(
            rounds, f.get(180, TimeUnit.SECONDS), "every agent completes after the member died");
      }
      assertTrue(maxInside.get() <= 2);
      RebootLock.Status end = admin.status();
      assertEquals(2, end.semaphore().available(), end.toString());
      assertTrue(end.semaphore().holders().isEmpty(), end.toString());
      System.out.printf(
          "cluster failover: member 1 of 3 killed after %d of %d acquisitions; all agents done%n",
          killedAt, agents * rounds);
    } finally {
      members.forEach(EtcdProcess::close);
    }
  }
}
