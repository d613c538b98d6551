package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class SemaphoreTest {

  static final String KEY = RebootLock.DEFAULT_KEY;

  static Semaphore parse(String json) throws SemaphoreFormatException {
    return Semaphore.parse(KEY, json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void readsLocksmithValueWithNullHolders() throws Exception {
    Semaphore s = parse("{\"semaphore\":1,\"max\":1,\"holders\":null}");
    assertEquals(1, s.semaphore());
    assertEquals(1, s.max());
    assertTrue(s.holders().isEmpty());
  }

  @Test
  void lockUnlockFollowLocksmithArithmetic() throws Exception {
    Instant t = Instant.parse("2026-03-29T01:30:00Z");
    Semaphore s = parse("{\"semaphore\":2,\"max\":2,\"holders\":[]}");
    Semaphore a = s.withLock("a", t).orElseThrow();
    Semaphore ab = a.withLock("b", t.plusSeconds(5)).orElseThrow();
    assertEquals(0, ab.semaphore());
    assertEquals(List.of("a", "b"), ab.holders());
    assertTrue(ab.withLock("c", t).isEmpty(), "full");
    assertThrows(IllegalStateException.class, () -> ab.withLock("a", t));
    Semaphore b = ab.withUnlock("a").orElseThrow();
    assertEquals(1, b.semaphore());
    assertEquals(List.of("b"), b.holders());
    assertTrue(b.withUnlock("a").isEmpty(), "not held");
    assertEquals(t.plusSeconds(5), b.since("b").orElseThrow());
    assertTrue(b.since("a").isEmpty());
  }

  @Test
  void writesLocksmithFieldsAndKeepsForeignOnes() throws Exception {
    Semaphore s =
        parse("{\"semaphore\":3,\"max\":3,\"holders\":[],\"note\":\"kept\"}")
            .withLock("m1", Instant.parse("2026-01-02T03:04:05Z"))
            .orElseThrow();
    JsonNode n = new ObjectMapper().readTree(s.toJson());
    assertEquals(2, n.get("semaphore").intValue());
    assertEquals(3, n.get("max").intValue());
    assertEquals("m1", n.get("holders").get(0).asText());
    assertEquals("2026-01-02T03:04:05Z", n.get("since").get("m1").asText());
    assertEquals("kept", n.get("note").asText());
    // round trip
    Semaphore back = Semaphore.parse(KEY, s.toJson());
    assertEquals(s.holders(), back.holders());
    assertEquals(s.since("m1"), back.since("m1"));
  }

  @Test
  void sinceOfFormerHoldersIsDropped() throws Exception {
    Semaphore s =
        parse(
            "{\"semaphore\":1,\"max\":2,\"holders\":[\"a\"],"
                + "\"since\":{\"a\":\"2026-01-01T00:00:00Z\",\"gone\":\"2026-01-01T00:00:00Z\",\"x\":1}}");
    assertTrue(s.since("a").isPresent());
    assertFalse(new String(s.toJson(), StandardCharsets.UTF_8).contains("gone"));
  }

  @Test
  void setMaxMovesFreeCountLikeLocksmith() throws Exception {
    Semaphore s = parse("{\"semaphore\":0,\"max\":2,\"holders\":[\"a\",\"b\"]}");
    Semaphore one = s.withMax(1);
    assertEquals(-1, one.semaphore());
    assertEquals(0, one.available());
    assertEquals(1, one.withMax(3).semaphore());
    assertThrows(IllegalArgumentException.class, () -> s.withMax(-1));
  }

  @Test
  void malformedValuesGiveClearErrors() {
    String m =
        assertThrows(SemaphoreFormatException.class, () -> parse("{\"semaphore\":1,")).getMessage();
    assertTrue(m.contains(KEY) && m.contains("not valid JSON"), m);
    m = assertThrows(SemaphoreFormatException.class, () -> parse("[1,2]")).getMessage();
    assertTrue(m.contains("expected a JSON object") && m.contains("array"), m);
    m =
        assertThrows(
                SemaphoreFormatException.class,
                () -> parse("{\"semaphore\":1,\"max\":-1,\"holders\":[]}"))
            .getMessage();
    assertTrue(m.contains("\"max\" is -1") && m.contains("0 or more"), m);
    m =
        assertThrows(SemaphoreFormatException.class, () -> parse("{\"semaphore\":\"1\",\"max\":1}"))
            .getMessage();
    assertTrue(m.contains("\"semaphore\" must be an integer, found \"1\""), m);
    m =
        assertThrows(
                SemaphoreFormatException.class,
                () -> parse("{\"semaphore\":1,\"max\":1,\"holders\":[3]}"))
            .getMessage();
    assertTrue(m.contains("holders[0] must be a string"), m);
    m = assertThrows(SemaphoreFormatException.class, () -> parse("{\"max\":1}")).getMessage();
    assertTrue(m.contains("\"semaphore\" must be an integer, found nothing"), m);
  }

  @Test
  void groupKeysAreEscapedLikeGoQueryEscape() {
    assertEquals(RebootLock.DEFAULT_KEY, RebootLock.keyFor(""));
    assertEquals(RebootLock.DEFAULT_KEY, RebootLock.keyFor("default"));
    assertEquals(
        "coreos.com/updateengine/rebootlock/groups/db+west%2F1~%C3%A9/semaphore",
        RebootLock.keyFor("db west/1~é"));
  }

  // --- leases: a holder that stops renewing is released -------------------------------------

  static final Instant T0 = Instant.parse("2026-12-06T04:00:00Z");
  static final java.time.Duration LEASE = java.time.Duration.ofMinutes(15);

  @Test
  void holderThatStopsRenewingIsStaleAfterTheLease() throws Exception {
    Semaphore s = Semaphore.initial().withMax(2).withLock("dead", T0).orElseThrow();
    assertEquals(List.of(), s.staleHolders(T0.plus(LEASE), LEASE), "not stale at the lease");
    assertEquals(List.of("dead"), s.staleHolders(T0.plus(LEASE).plusSeconds(1), LEASE));
    Semaphore freed = s.withoutStale(T0.plus(LEASE).plusSeconds(1), LEASE);
    assertEquals(List.of(), freed.holders());
    assertEquals(2, freed.semaphore());
  }

  @Test
  void liveHolderThatRenewsIsNotReleased() throws Exception {
    Semaphore s = Semaphore.initial().withLock("live", T0).orElseThrow();
    for (int i = 1; i <= 10; i++) {
      s = s.withRenewal("live", T0.plus(LEASE.multipliedBy(i).dividedBy(2))).orElseThrow();
    }
    Instant now = T0.plus(LEASE.multipliedBy(5)).plusSeconds(60);
    assertEquals(List.of(), s.staleHolders(now, LEASE));
    assertEquals(List.of("live"), s.withoutStale(now, LEASE).holders());
    assertEquals(T0, s.since("live").orElseThrow(), "the hold's start stays");
    assertEquals(LEASE.multipliedBy(5).plusSeconds(60), s.age("live", now).orElseThrow());
    Semaphore reread = parse(s.toString());
    assertEquals(s.lastRenewal("live"), reread.lastRenewal("live"));
    assertTrue(Semaphore.initial().withRenewal("nobody", T0).isEmpty(), "renewing needs a hold");
  }

  @Test
  void leasesLiveInAnExtraFieldAndHoldersStayStrings() throws Exception {
    Semaphore s =
        Semaphore.initial()
            .withMax(2)
            .withLock("m1", T0)
            .orElseThrow()
            .withRenewal("m1", T0.plusSeconds(30))
            .orElseThrow();
    JsonNode n = new ObjectMapper().readTree(s.toJson());
    assertTrue(n.get("semaphore").isInt() && n.get("max").isInt(), n.toString());
    assertTrue(n.get("holders").get(0).isTextual(), n.toString());
    assertEquals("2026-12-06T04:00:30Z", n.get("basalt_leases").get("m1").asText(), n.toString());
  }

  @Test
  void locksmithValueWithoutLeasesStillWorksAndUnknownHoldersAreStampedFirst() throws Exception {
    Semaphore s = parse("{\"semaphore\":0,\"max\":1,\"holders\":[\"ls-machine\"]}");
    assertEquals(List.of("ls-machine"), s.holders());
    assertTrue(s.age("ls-machine", T0).isEmpty(), "no age recorded by locksmith");
    assertEquals(List.of(), s.staleHolders(T0.plus(LEASE.multipliedBy(100)), LEASE));
    assertEquals(List.of("ls-machine"), s.unstamped());
    Semaphore stamped = s.withStamps(T0);
    assertEquals(List.of(), stamped.unstamped());
    assertEquals(List.of(), stamped.staleHolders(T0.plus(LEASE), LEASE));
    assertEquals(List.of("ls-machine"), stamped.staleHolders(T0.plus(LEASE).plusSeconds(1), LEASE));
    assertEquals(0, stamped.semaphore(), "stamping alone changes no slot");
  }

  @Test
  void ageIsMeasuredFromTheHoldsStart() throws Exception {
    Semaphore s =
        parse("{\"semaphore\":0,\"max\":1,\"holders\":[\"a\"],\"since\":{\"a\":\"" + T0 + "\"}}");
    assertEquals(java.time.Duration.ofMinutes(7), s.age("a", T0.plusSeconds(420)).orElseThrow());
    assertEquals(T0, s.lastRenewal("a").orElseThrow(), "an older Basalt value: since counts");
  }

  @Test
  void zeroLeaseNeverReleases() throws Exception {
    Semaphore s = Semaphore.initial().withLock("a", T0).orElseThrow();
    assertEquals(
        List.of(), s.staleHolders(T0.plus(LEASE.multipliedBy(1000)), java.time.Duration.ZERO));
  }
}
