package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.update.testing.EtcdProcess;
import io.basalt.update.testing.HistoryObserver;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * 20 simulated agents, each with its own client, take and release the reboot lock 50 times with
 * max=2 against a real etcd, while etcdctl watches the key's every revision as an independent
 * observer.
 */
class RebootLockContentionIT {

  static final int AGENTS = 20;
  static final int ROUNDS = 50;
  static final int MAX = 2;

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

  static EtcdClient client(String... endpoints) throws Exception {
    EtcdConfig.Builder b = EtcdConfig.builder().requestTimeout(Duration.ofSeconds(5));
    for (String e : endpoints) {
      b.endpoint(e);
    }
    return EtcdClient.create(b.build());
  }

  static RetryPolicy fastRetry() {
    return new RetryPolicy(
        Duration.ofMillis(2),
        Duration.ofMillis(100),
        Duration.ofSeconds(60),
        Duration.ofMillis(5),
        Duration.ofMillis(60));
  }

  @Test
  void twentyAgentsFiftyRoundsNeverMoreThanMaxHolders() throws Exception {
    String group = "contention";
    EtcdClient admin = client(etcd.endpoint());
    RebootLock adminLock = new RebootLock(admin, group, Clock.systemUTC(), fastRetry());
    adminLock.setMax(MAX);
    long startRev = admin.currentRevision(adminLock.key());

    AtomicInteger inside = new AtomicInteger();
    AtomicInteger maxInside = new AtomicInteger();
    AtomicLong updatesApplied = new AtomicLong();
    long t0 = System.nanoTime();
    try (HistoryObserver observer = new HistoryObserver(etcd, adminLock.key(), startRev + 1)) {
      ExecutorService pool = Executors.newFixedThreadPool(AGENTS);
      List<Future<Integer>> agents = new ArrayList<>();
      for (int a = 0; a < AGENTS; a++) {
        String id = String.format("%032x", 0xa9e00 + a);
        agents.add(
            pool.submit(
                () -> {
                  EtcdClient c = client(etcd.endpoint());
                  RebootLock lock = new RebootLock(c, group, Clock.systemUTC(), fastRetry());
                  int done = 0;
                  for (int round = 0; round < ROUNDS; round++) {
                    RebootLock.LockResult r = lock.lock(id, Duration.ofSeconds(90));
                    assertEquals(
                        RebootLock.LockOutcome.ACQUIRED, r.outcome(), id + " round " + round);
                    int now = inside.incrementAndGet();
                    maxInside.accumulateAndGet(now, Math::max);
                    // the "reboot": the update of this round is applied while holding the lock
                    Thread.sleep(2);
                    updatesApplied.incrementAndGet();
                    done++;
                    inside.decrementAndGet();
                    assertEquals(
                        RebootLock.UnlockOutcome.RELEASED, lock.unlock(id), id + " round " + round);
                  }
                  return done;
                }));
      }
      pool.shutdown();
      for (Future<Integer> f : agents) {
        assertEquals(ROUNDS, f.get(150, TimeUnit.SECONDS), "every agent completes all rounds");
      }
      double seconds = (System.nanoTime() - t0) / 1e9;

      RebootLock.Status end = adminLock.status();
      assertEquals(MAX, end.semaphore().semaphore(), "all slots free at the end: " + end);
      assertEquals(MAX, end.semaphore().max());
      assertTrue(end.semaphore().holders().isEmpty(), "no holder left: " + end);

      List<HistoryObserver.Event> history =
          observer.awaitRevision(end.modRevision(), Duration.ofSeconds(30));
      int maxSeen = 0;
      int acquisitions = 0;
      Set<String> previous = new HashSet<>();
      for (HistoryObserver.Event ev : history) {
        Semaphore s = Semaphore.parse(adminLock.key(), ev.value());
        maxSeen = Math.max(maxSeen, s.holders().size());
        assertTrue(s.holders().size() <= MAX, "revision " + ev.modRevision() + ": " + s);
        assertEquals(
            MAX, s.semaphore() + s.holders().size(), "revision " + ev.modRevision() + ": " + s);
        for (String h : s.holders()) {
          if (!previous.contains(h)) {
            acquisitions++;
            assertTrue(s.since(h).isPresent(), "since-time recorded for " + h);
          }
        }
        previous = new HashSet<>(s.holders());
      }
      System.out.printf(
          "contention: %d agents x %d rounds, max %d: %d revisions observed, "
              + "max holders seen %d, acquisitions %d, updates applied %d, %.1f s%n",
          AGENTS,
          ROUNDS,
          MAX,
          history.size(),
          maxSeen,
          acquisitions,
          updatesApplied.get(),
          seconds);
      assertEquals(AGENTS * ROUNDS * 2, history.size(), "one revision per lock and per unlock");
      assertEquals(AGENTS * ROUNDS, acquisitions, "every lock visible in the history");
      assertEquals(AGENTS * ROUNDS, updatesApplied.get(), "no update lost");
      assertTrue(maxInside.get() <= MAX, "at most " + MAX + " agents inside at once");
      assertEquals(MAX, maxSeen, "the observer saw the semaphore fully used");
    }
  }
}
