package io.basalt.update.strategy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class RebootWindowTest {

  static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
  static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

  static Instant t(String s) {
    return Instant.parse(s);
  }

  /** Walks [from, to) in steps and checks contains() against the expected [open, close). */
  static void walk(
      RebootWindow w, Instant from, Instant to, Duration step, Instant open, Instant close) {
    for (Instant x = from; x.isBefore(to); x = x.plus(step)) {
      boolean expected = !x.isBefore(open) && x.isBefore(close);
      assertEquals(expected, w.contains(x), w + " at " + x + " (" + x.atZone(w.zone()) + ")");
    }
  }

  @Test
  void weekdayEdgesInUtc() {
    RebootWindow w = RebootWindow.parse("Mon,Thu 04:00 1h30m", ZoneOffset.UTC);
    // 2026-11-23 is a Monday
    walk(
        w,
        t("2026-11-23T03:00:00Z"),
        t("2026-11-23T07:00:00Z"),
        Duration.ofMinutes(1),
        t("2026-11-23T04:00:00Z"),
        t("2026-11-23T05:30:00Z"));
    assertFalse(w.contains(t("2026-11-24T04:10:00Z")), "Tuesday is not in the window");
    assertTrue(w.contains(t("2026-11-26T04:10:00Z")), "Thursday is");
    assertEquals(t("2026-11-26T04:00:00Z"), w.nextOpening(t("2026-11-23T04:00:01Z")));
    assertEquals(t("2026-11-23T04:00:00Z"), w.nextOpening(t("2026-11-23T04:00:00Z")));
    assertEquals(t("2026-11-23T05:30:00Z"), w.closing(t("2026-11-23T05:00:00Z")).orElseThrow());
  }

  @Test
  void windowRunsPastMidnight() {
    RebootWindow w = RebootWindow.parse("Fri 23:00 2h", ZoneOffset.UTC);
    // 2026-11-27 is a Friday
    walk(
        w,
        t("2026-11-27T22:00:00Z"),
        t("2026-11-28T02:00:00Z"),
        Duration.ofMinutes(5),
        t("2026-11-27T23:00:00Z"),
        t("2026-11-28T01:00:00Z"));
  }

  @Test
  void springForwardGapOpensWhenTheClockJumpsPastTheStart() {
    // Europe/Berlin 2026-03-29: 02:00 CET -> 03:00 CEST; 02:30 does not exist that day
    RebootWindow w = RebootWindow.parse("Sun 02:30 1h", BERLIN);
    walk(
        w,
        t("2026-03-28T22:00:00Z"),
        t("2026-03-29T05:00:00Z"),
        Duration.ofMinutes(5),
        t("2026-03-29T01:30:00Z"),
        t("2026-03-29T02:30:00Z"));
    // a week later, a normal Sunday: 02:30 CEST = 00:30Z
    assertTrue(w.contains(t("2026-04-05T00:30:00Z")));
    assertFalse(w.contains(t("2026-04-05T01:30:00Z")));
  }

  @Test
  void fallBackOverlapOpensOnceAndLengthIsElapsedTime() {
    // Europe/Berlin 2026-10-25: 03:00 CEST -> 02:00 CET; 02:30 happens twice
    RebootWindow w = RebootWindow.parse("Sun 02:30 1h", BERLIN);
    walk(
        w,
        t("2026-10-24T22:00:00Z"),
        t("2026-10-25T04:00:00Z"),
        Duration.ofMinutes(5),
        t("2026-10-25T00:30:00Z"),
        t("2026-10-25T01:30:00Z"));
    // daily 01:00 for 3h across the same night: 01:00 CEST = 23:00Z, three real hours
    RebootWindow d = RebootWindow.parse("daily 01:00 3h", BERLIN);
    walk(
        d,
        t("2026-10-24T21:00:00Z"),
        t("2026-10-25T04:00:00Z"),
        Duration.ofMinutes(5),
        t("2026-10-24T23:00:00Z"),
        t("2026-10-25T02:00:00Z"));
  }

  @Test
  void newYorkDstDays() {
    RebootWindow w = RebootWindow.parse("daily 02:15 30m", NEW_YORK);
    // 2026-03-08 02:00 EST -> 03:00 EDT: opens at 03:15 EDT = 07:15Z
    walk(
        w,
        t("2026-03-08T05:00:00Z"),
        t("2026-03-08T09:00:00Z"),
        Duration.ofMinutes(5),
        t("2026-03-08T07:15:00Z"),
        t("2026-03-08T07:45:00Z"));
    // 2026-11-01 02:00 EDT -> 01:00 EST: 02:15 exists once (EST) = 07:15Z
    walk(
        w,
        t("2026-11-01T04:00:00Z"),
        t("2026-11-01T09:00:00Z"),
        Duration.ofMinutes(5),
        t("2026-11-01T07:15:00Z"),
        t("2026-11-01T07:45:00Z"));
    assertEquals(t("2026-03-08T07:15:00Z"), w.nextOpening(t("2026-03-08T05:00:00Z")));
  }

  @Test
  void parsesDayRangesAndRejectsNonsense() {
    RebootWindow w = RebootWindow.parse("Sat-Mon 4:00 45m", ZoneOffset.UTC);
    assertTrue(w.contains(t("2026-11-22T04:10:00Z")), "Sunday inside Sat-Mon");
    assertFalse(w.contains(t("2026-11-24T04:10:00Z")), "Tuesday outside Sat-Mon");
    assertEquals("Mon,Sat,Sun 04:00 45m Z", w.toString());
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> RebootWindow.parse("Funday 04:00 1h", ZoneOffset.UTC))
            .getMessage()
            .contains("'funday' is not a weekday"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> RebootWindow.parse("Mon 25:00 1h", ZoneOffset.UTC))
            .getMessage()
            .contains("not a time of day"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> RebootWindow.parse("Mon 04:00 0m", ZoneOffset.UTC))
            .getMessage()
            .contains("more than 0"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> RebootWindow.parse("Mon 04:00", ZoneOffset.UTC))
            .getMessage()
            .contains("DAYS HH:MM LENGTH"));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> RebootWindow.parse("Mon 04:00 1d", ZoneOffset.UTC))
            .getMessage()
            .contains("length '1d'"));
  }
}
