package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.update.testing.EtcdProcess;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The reboot lock against a real etcd: compatibility with locksmith's format, bad input, failover.
 */
class RebootLockIT {

  static EtcdProcess etcd;
  static final Instant T = Instant.parse("2026-11-21T10:00:00Z");

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

  static RebootLock lock(String group, String... endpoints) throws Exception {
    EtcdConfig.Builder b = EtcdConfig.builder().requestTimeout(Duration.ofSeconds(3));
    for (String e : endpoints.length == 0 ? new String[] {etcd.endpoint()} : endpoints) {
      b.endpoint(e);
    }
    return new RebootLock(
        EtcdClient.create(b.build()),
        group,
        Clock.fixed(T, ZoneOffset.UTC),
        RebootLockContentionIT.fastRetry().withGiveUpAfter(Duration.ofSeconds(2)));
  }

  @Test
  void semaphoreWrittenByAnotherToolIsHonouredAndOursReadsBackInLocksmithFormat() throws Exception {
    RebootLock l = lock("compat");
    etcd.etcdctlOutput("put", l.key(), "{\"semaphore\":0,\"max\":1,\"holders\":[\"other\"]}");
    assertEquals(RebootLock.LockOutcome.FULL, l.tryLock("me").outcome());
    RebootLock.Status st = l.status();
    assertEquals(1, st.semaphore().max());
    assertTrue(st.semaphore().isHeldBy("other"));
    assertTrue(st.semaphore().since("other").isEmpty(), "no since-time from another tool");

    etcd.etcdctlOutput(
        "put", l.key(), "{\"semaphore\":1,\"max\":2,\"holders\":[\"other\"],\"owner\":\"ops\"}");
    assertEquals(RebootLock.LockOutcome.ACQUIRED, l.tryLock("me").outcome());
    String raw = etcd.etcdctlOutput("get", l.key(), "--print-value-only").strip();
    JsonNode n = new ObjectMapper().readTree(raw);
    // the fields locksmith's Go struct reads, with their types
    assertTrue(
        n.get("semaphore").isInt() && n.get("max").isInt() && n.get("holders").isArray(), raw);
    assertEquals(0, n.get("semaphore").intValue(), raw);
    assertEquals(2, n.get("max").intValue(), raw);
    assertEquals("other", n.get("holders").get(0).asText(), raw);
    assertEquals("me", n.get("holders").get(1).asText(), raw);
    assertEquals(T.toString(), n.get("since").get("me").asText(), raw);
    assertEquals("ops", n.get("owner").asText(), "foreign field kept: " + raw);
  }

  @Test
  void lockIsIdempotentAndUnlockOnlyReleasesHolds() throws Exception {
    RebootLock l = lock("idem");
    assertFalse(l.status().exists());
    assertEquals(RebootLock.LockOutcome.ACQUIRED, l.tryLock("m1").outcome());
    RebootLock.Status st = l.status();
    assertTrue(st.exists(), "created when missing");
    assertEquals(1, st.semaphore().max(), "locksmith's default max");
    long rev = st.modRevision();
    assertEquals(RebootLock.LockOutcome.ALREADY_HELD, l.tryLock("m1").outcome());
    assertEquals(rev, l.status().modRevision(), "taking a held lock writes nothing");
    assertEquals(RebootLock.LockOutcome.FULL, l.tryLock("m2").outcome());
    assertEquals(RebootLock.UnlockOutcome.NOT_HELD, l.unlock("m2"));
    assertEquals(RebootLock.UnlockOutcome.RELEASED, l.unlock("m1"));
    assertEquals(RebootLock.UnlockOutcome.NOT_HELD, l.unlock("m1"));
    assertEquals(3, l.setMax(3).semaphore().available());
  }

  @Test
  void malformedJsonAndNegativeMaxGiveClearErrors() throws Exception {
    RebootLock l = lock("bad");
    etcd.etcdctlOutput("put", l.key(), "{\"semaphore\":1,\"max\":1,\"holders\":[");
    SemaphoreFormatException e = assertThrows(SemaphoreFormatException.class, () -> l.tryLock("m"));
    assertTrue(
        e.getMessage().contains(l.key()) && e.getMessage().contains("not valid JSON"),
        e.getMessage());
    etcd.etcdctlOutput("put", l.key(), "{\"semaphore\":1,\"max\":-3,\"holders\":[]}");
    e = assertThrows(SemaphoreFormatException.class, l::status);
    assertTrue(e.getMessage().contains("\"max\" is -3"), e.getMessage());
    IllegalArgumentException iae = assertThrows(IllegalArgumentException.class, () -> l.setMax(-1));
    assertTrue(iae.getMessage().contains("-1"));
    // nothing was overwritten by the failed calls
    assertTrue(etcd.etcdctlOutput("get", l.key(), "--print-value-only").contains("-3"));
  }

  @Test
  void unreachableEtcdIsAClearError() throws Exception {
    int dead = EtcdProcess.freePort();
    RebootLock l = lock("x", "http://127.0.0.1:" + dead);
    long t0 = System.nanoTime();
    EtcdUnavailableException e = assertThrows(EtcdUnavailableException.class, () -> l.tryLock("m"));
    assertTrue(e.getMessage().contains("127.0.0.1:" + dead), e.getMessage());
    assertTrue(e.getMessage().contains("ConnectException"), e.getMessage());
    assertTrue(System.nanoTime() - t0 < Duration.ofSeconds(10).toNanos(), "gives up per policy");
  }

  @Test
  void failsOverToTheNextEndpoint() throws Exception {
    int dead = EtcdProcess.freePort();
    RebootLock l = lock("failover", "http://127.0.0.1:" + dead, etcd.endpoint());
    assertEquals(RebootLock.LockOutcome.ACQUIRED, l.tryLock("m").outcome());
    assertEquals(RebootLock.UnlockOutcome.RELEASED, l.unlock("m"));
  }

  /** A clock the test moves by hand. */
  static final class ManualClock extends Clock {
    volatile Instant now;

    ManualClock(Instant now) {
      this.now = now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  static RebootLock leased(String group, Clock clock, java.util.List<String> log) throws Exception {
    return new RebootLock(
        EtcdClient.create(
            EtcdConfig.builder()
                .endpoint(etcd.endpoint())
                .requestTimeout(Duration.ofSeconds(3))
                .build()),
        group,
        clock,
        RebootLockContentionIT.fastRetry().withGiveUpAfter(Duration.ofSeconds(2)),
        Duration.ofMinutes(15),
        log::add);
  }

  @Test
  void deadHolderIsReleasedAfterTheLeaseWhileARenewingHolderKeepsItsSlot() throws Exception {
    ManualClock clock = new ManualClock(T);
    java.util.List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    RebootLock l = leased("lease", clock, log);
    l.setMax(2);
    assertTrue(l.tryLock("dead").held());
    assertTrue(l.tryLock("live").held());
    for (int m = 5; m <= 20; m += 5) {
      clock.now = T.plus(Duration.ofMinutes(m));
      assertTrue(l.renew("live"));
    }
    clock.now = T.plus(Duration.ofMinutes(15));
    assertEquals(RebootLock.LockOutcome.FULL, l.tryLock("waiting").outcome(), "not stale yet");
    clock.now = T.plus(Duration.ofMinutes(20));
    assertEquals(RebootLock.LockOutcome.ACQUIRED, l.tryLock("waiting").outcome());
    Semaphore s = l.status().semaphore();
    assertEquals(java.util.List.of("live", "waiting"), s.holders());
    assertEquals(Duration.ofMinutes(20), s.age("live", clock.now).orElseThrow());
    assertEquals(1, log.size(), log.toString());
    assertTrue(
        log.get(0).contains("stale holder dead (held for 20m0s, last renewed 20m0s ago; lease"),
        log.get(0));
    assertFalse(l.renew("dead"), "a released holder cannot renew");
  }

  @Test
  void locksmithWrittenHolderIsStampedThenReleasedALeaseLater() throws Exception {
    ManualClock clock = new ManualClock(T);
    java.util.List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
    RebootLock l = leased("lease-ls", clock, log);
    etcd.etcdctlOutput("put", l.key(), "{\"semaphore\":0,\"max\":1,\"holders\":[\"ls\"]}");
    assertEquals(RebootLock.LockOutcome.FULL, l.tryLock("me").outcome());
    String raw = etcd.etcdctlOutput("get", l.key(), "--print-value-only").strip();
    JsonNode n = new ObjectMapper().readTree(raw);
    assertEquals("ls", n.get("holders").get(0).asText(), raw);
    assertEquals(T.toString(), n.get("basalt_leases").get("ls").asText(), raw);
    clock.now = T.plus(Duration.ofMinutes(16));
    assertEquals(RebootLock.LockOutcome.ACQUIRED, l.tryLock("me").outcome());
    assertTrue(log.get(0).contains("stale holder ls (held for an unknown time"), log.toString());
  }
}
