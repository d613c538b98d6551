package io.basalt.update.strategy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.update.testing.MutableClock;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RebootCoordinatorTest {

  final FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
  final LocalHold hold = new LocalHold(fs.getPath("/var/lib/basalt"));
  final MutableClock clock = new MutableClock(Instant.parse("2026-03-28T23:00:00Z"));
  final List<Instant> reboots = new ArrayList<>();
  final List<String> walls = new ArrayList<>();
  final List<String> events = new ArrayList<>();
  List<String> users = List.of();
  List<String> inhibitors = List.of();

  @AfterEach
  void close() throws IOException {
    fs.close();
  }

  /** A strategy that records acquire/release and grants while {@code free} says so. */
  final class FakeLock implements RebootStrategy {
    boolean free = true;
    boolean held;

    @Override
    public String name() {
      return "fake";
    }

    @Override
    public Permission acquire() {
      if (held || free) {
        held = true;
        events.add("acquire");
        return new Permission(true, "fake granted");
      }
      return new Permission(false, "fake full");
    }

    @Override
    public void release() {
      if (held) {
        events.add("release");
      }
      held = false;
    }
  }

  RebootCoordinator.Builder base(RebootStrategy s) {
    return RebootCoordinator.builder()
        .strategy(s)
        .localHold(hold)
        .inhibitors(() -> inhibitors)
        .sessions(() -> users)
        .notifier(walls::add)
        .rebooter(() -> reboots.add(clock.instant()))
        .clock(clock)
        .grace(Duration.ZERO);
  }

  @Test
  void fakeClockWalkedAcrossWindowEdgesAndDstDecidesRightAtEachStep() throws Exception {
    // Sunday 02:30 Berlin for 1h: on 2026-03-29 (spring forward) that is 01:30Z..02:30Z
    RebootWindow w = RebootWindow.parse("Sun 02:30 1h", ZoneId.of("Europe/Berlin"));
    for (Instant x = Instant.parse("2026-03-28T23:00:00Z");
        x.isBefore(Instant.parse("2026-03-29T04:00:00Z"));
        x = x.plus(Duration.ofMinutes(10))) {
      clock.set(x);
      reboots.clear();
      RebootCoordinator c = base(RebootStrategy.immediate()).window(w).build();
      RebootCoordinator.Decision d = c.step();
      boolean inside =
          !x.isBefore(Instant.parse("2026-03-29T01:30:00Z"))
              && x.isBefore(Instant.parse("2026-03-29T02:30:00Z"));
      assertEquals(
          inside ? RebootCoordinator.Action.REBOOTING : RebootCoordinator.Action.WAIT,
          d.action(),
          x + ": " + d);
      assertEquals(inside ? 1 : 0, reboots.size(), x.toString());
      if (!inside) {
        assertTrue(d.reason().contains("outside the reboot window"), d.reason());
        Instant next = d.retryAt().orElseThrow();
        assertTrue(w.contains(next) && !next.isBefore(x), "retry at an opening: " + next);
      }
    }
  }

  @Test
  void localHoldAndLogindInhibitorsHoldBackAndGiveTheSlotBack() throws Exception {
    FakeLock lock = new FakeLock();
    RebootCoordinator c = base(lock).build();
    hold.hold("db migration", clock.instant());
    RebootCoordinator.Decision d = c.step();
    assertEquals(RebootCoordinator.Action.WAIT, d.action());
    assertTrue(
        d.reason().contains("basaltctl lock hold") && d.reason().contains("db migration"),
        d.reason());
    assertTrue(events.isEmpty(), "no slot taken while held locally");
    hold.release();

    inhibitors =
        ShutdownInhibitors.parseBusctl(
            "{\"type\":\"a(ssssuu)\",\"data\":[[[\"shutdown:sleep\","
                + "\"backup\",\"nightly dump\",\"block\",0,4242],[\"shutdown\",\"x\",\"y\",\"delay\",0,1],"
                + "[\"idle\",\"z\",\"w\",\"block\",0,2]]]}");
    assertEquals(List.of("backup: nightly dump (pid 4242)"), inhibitors);
    d = c.step();
    assertEquals(RebootCoordinator.Action.WAIT, d.action());
    assertTrue(d.reason().contains("backup: nightly dump"), d.reason());
    inhibitors = List.of();

    d = c.step();
    assertEquals(RebootCoordinator.Action.REBOOTING, d.action());
    assertEquals(List.of("acquire"), events);
    assertEquals(1, reboots.size());
  }

  @Test
  void unreadableInhibitorsMeanNoReboot() throws Exception {
    RebootCoordinator c =
        base(RebootStrategy.immediate())
            .inhibitors(
                ShutdownInhibitors.logind(
                    (cmd, in) -> {
                      throw new IOException("Failed to connect to bus");
                    }))
            .build();
    assertThrows(IOException.class, c::step);
    assertTrue(reboots.isEmpty());
  }

  @Test
  void graceForLoggedInUsersWithOneWallMessage() throws Exception {
    users =
        UserSessions.who(
                (cmd, in) ->
                    "alice    pts/0  2026-03-28 22:00 (10.0.0.5)\n"
                        + "bob      tty1   2026-03-28 21:00\nalice    pts/1  2026-03-28 22:10\n")
            .loggedIn();
    assertEquals(List.of("alice", "bob"), users);
    FakeLock lock = new FakeLock();
    RebootCoordinator c = base(lock).grace(Duration.ofMinutes(10)).build();
    RebootCoordinator.Decision d = c.step();
    assertEquals(RebootCoordinator.Action.WAIT, d.action());
    assertEquals(clock.instant().plus(Duration.ofMinutes(10)), d.retryAt().orElseThrow());
    assertEquals(1, walls.size());
    assertTrue(
        walls.get(0).contains("alice, bob") && walls.get(0).contains("in 10 min"), walls.get(0));
    clock.advance(Duration.ofMinutes(9));
    assertEquals(RebootCoordinator.Action.WAIT, c.step().action());
    assertEquals(1, walls.size(), "one wall message per grace period");
    clock.advance(Duration.ofMinutes(1));
    assertEquals(RebootCoordinator.Action.REBOOTING, c.step().action());
    assertEquals(1, reboots.size());
    assertTrue(lock.held);
  }

  @Test
  void noUsersNoGrace() throws Exception {
    RebootCoordinator c = base(RebootStrategy.immediate()).grace(Duration.ofMinutes(10)).build();
    assertEquals(RebootCoordinator.Action.REBOOTING, c.step().action());
    assertTrue(walls.isEmpty());
  }

  @Test
  void strategyOffNeverReboots() throws Exception {
    RebootCoordinator c = base(RebootStrategy.off()).build();
    for (int i = 0; i < 5; i++) {
      RebootCoordinator.Decision d = c.step();
      assertEquals(RebootCoordinator.Action.WAIT, d.action());
      assertTrue(d.reason().contains("strategy off"), d.reason());
      clock.advance(Duration.ofHours(7));
    }
    assertTrue(reboots.isEmpty());
    assertEquals(RebootStrategy.Kind.FLEETLOCK, RebootStrategy.Kind.parse(" FleetLock "));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> RebootStrategy.Kind.parse("best-effort"))
            .getMessage()
            .contains("etcd-lock, fleetlock, reboot, off"));
  }

  @Test
  void fullLockWaitsAndWindowClosingGivesTheSlotBack() throws Exception {
    FakeLock lock = new FakeLock();
    lock.free = false;
    RebootWindow w = RebootWindow.parse("daily 00:00 1h", ZoneId.of("UTC"));
    clock.set(Instant.parse("2026-03-29T00:10:00Z"));
    users = List.of("carol");
    RebootCoordinator c = base(lock).window(w).grace(Duration.ofHours(2)).build();
    RebootCoordinator.Decision d = c.step();
    assertEquals("fake full", d.reason());
    lock.free = true;
    d = c.step();
    assertTrue(d.reason().contains("grace"), d.reason());
    assertTrue(lock.held);
    clock.set(Instant.parse("2026-03-29T01:00:00Z"));
    d = c.step();
    assertTrue(d.reason().contains("outside the reboot window"), d.reason());
    assertEquals(List.of("acquire", "release"), events, "slot given back when the window closed");
    assertTrue(reboots.isEmpty());
    c.releaseOwnHold();
    assertEquals(List.of("acquire", "release"), events);
  }

  @Test
  void localHoldFilePersistsAndUnreadableFileStillHolds() throws Exception {
    hold.hold("kernel debugging", Instant.parse("2026-01-01T00:00:00Z"));
    LocalHold again = new LocalHold(fs.getPath("/var/lib/basalt"));
    assertEquals("kernel debugging", again.current().orElseThrow().reason());
    Files.writeString(again.file(), "{garbage");
    assertTrue(again.current().orElseThrow().reason().contains("unreadable hold file"));
    assertTrue(again.release());
    assertTrue(again.current().isEmpty());
  }
}
