package io.basalt.update.strategy;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Decides, each time it is asked while an update waits for its reboot, whether the machine reboots
 * now: a local hold ({@code basaltctl lock hold}) or a logind block inhibitor holds it back; then
 * the reboot window must be open; then every {@link ClusterGuard} must agree to the lock (the etcd
 * quorum check); then the strategy must grant permission (the etcd lock is taken here, and checked
 * again on every step, so no reboot ever happens without it); then, when users are logged in, they
 * get a wall message and the grace period; then every guard prepares the reboot with the lock held
 * (the Swarm drain, waited for step by step). Whenever the reboot is called off on the way, the
 * guards undo their preparation and the slot is given back. Holder hygiene: {@link #releaseOwnHold}
 * lets the guards restore what they changed (the node active again) and then gives the cluster slot
 * back after a blessed boot, even outside the window, and when the agent restarts. Not thread-safe:
 * one agent loop drives it.
 */
public final class RebootCoordinator {

  /** What {@link #step} decided. */
  public enum Action {
    /** Not now; {@link Decision#reason()} says why. */
    WAIT,
    /** The reboot was started. */
    REBOOTING
  }

  /**
   * A decision.
   *
   * @param action wait or rebooting
   * @param reason a sentence for logs and status
   * @param retryAt when asking again makes sense, if known (window opening, end of grace)
   */
  public record Decision(Action action, String reason, Optional<Instant> retryAt) {
    static Decision waitFor(String reason) {
      return new Decision(Action.WAIT, reason, Optional.empty());
    }

    static Decision waitUntil(String reason, Instant at) {
      return new Decision(Action.WAIT, reason, Optional.of(at));
    }
  }

  private final RebootStrategy strategy;
  private final Optional<RebootWindow> window;
  private final Duration grace;
  private final LocalHold localHold;
  private final ShutdownInhibitors inhibitors;
  private final UserSessions sessions;
  private final Notifier notifier;
  private final Rebooter rebooter;
  private final Clock clock;
  private final Consumer<String> log;
  private final List<ClusterGuard> guards;

  private boolean holding;
  private Instant graceEnds;

  private RebootCoordinator(Builder b) {
    this.strategy = Objects.requireNonNull(b.strategy, "strategy");
    this.window = Optional.ofNullable(b.window);
    this.grace = b.grace;
    this.localHold = Objects.requireNonNull(b.localHold, "localHold");
    this.inhibitors = b.inhibitors;
    this.sessions = b.sessions;
    this.notifier = b.notifier;
    this.rebooter = Objects.requireNonNull(b.rebooter, "rebooter");
    this.clock = b.clock;
    this.log = b.log;
    this.guards = List.copyOf(b.guards);
  }

  /** How soon a step is asked again while a guard prepares the reboot (the drain's polling). */
  static final Duration PREPARE_POLL = Duration.ofSeconds(5);

  /** Starts a coordinator; strategy, local hold and rebooter are required. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Decides once. Call it periodically while a staged update waits for its reboot.
   *
   * @throws IOException if the lock service, logind or the user list cannot be asked; the machine
   *     does not reboot in that case
   */
  public Decision step() throws IOException {
    Instant now = clock.instant();
    Optional<LocalHold.Hold> hold = localHold.current();
    if (hold.isPresent()) {
      standDown();
      return Decision.waitFor(
          "held by 'basaltctl lock hold' since "
              + hold.get().since()
              + (hold.get().reason().isEmpty() ? "" : ": " + hold.get().reason()));
    }
    List<String> blocking = inhibitors.blocking();
    if (!blocking.isEmpty()) {
      standDown();
      return Decision.waitFor("logind block inhibitor(s): " + String.join("; ", blocking));
    }
    if (window.isPresent() && !window.get().contains(now)) {
      standDown();
      Instant open = window.get().nextOpening(now);
      return Decision.waitUntil(
          "outside the reboot window " + window.get() + "; next opening " + open, open);
    }
    for (ClusterGuard g : guards) {
      Optional<String> no = g.beforeLock();
      if (no.isPresent()) {
        standDown();
        return Decision.waitFor(no.get());
      }
    }
    RebootStrategy.Permission p = strategy.acquire();
    if (!p.granted()) {
      holding = false;
      standDown();
      return Decision.waitFor(p.reason());
    }
    holding = true;
    if (!grace.isZero()) {
      List<String> users = sessions.loggedIn();
      if (!users.isEmpty()) {
        if (graceEnds == null) {
          graceEnds = now.plus(grace);
          String when =
              DateTimeFormatter.ofPattern("HH:mm z", Locale.ROOT)
                  .format(
                      graceEnds.atZone(
                          window.map(RebootWindow::zone).orElse(ZoneId.systemDefault())));
          notifier.broadcast(
              "Basalt: this machine reboots at "
                  + when
                  + " (in "
                  + grace.toMinutes()
                  + " min) to finish an update. Logged in: "
                  + String.join(", ", users)
                  + ". Run 'basaltctl lock hold --reason ...' to postpone.");
          log.accept(
              "users logged in (" + String.join(", ", users) + "): grace until " + graceEnds);
        }
        if (now.isBefore(graceEnds)) {
          return Decision.waitUntil(
              "grace period for logged-in users until " + graceEnds, graceEnds);
        }
      }
    }
    for (ClusterGuard g : guards) {
      Optional<String> awaited = g.beforeReboot();
      if (awaited.isPresent()) {
        return Decision.waitUntil(awaited.get(), now.plus(PREPARE_POLL));
      }
    }
    log.accept("rebooting (" + strategy.name() + ": " + p.reason() + ")");
    rebooter.reboot();
    return new Decision(Action.REBOOTING, p.reason(), Optional.empty());
  }

  /** Not rebooting soon: do not sit on a cluster slot meanwhile, and start any grace anew. */
  private void standDown() throws IOException {
    resetGrace();
    for (ClusterGuard g : guards) {
      try {
        g.standDown();
      } catch (IOException e) {
        log.accept("undoing the reboot preparation: " + e.getMessage() + " (will retry)");
      }
    }
    if (holding) {
      strategy.release();
      holding = false;
      log.accept("gave the reboot slot back while held back");
    }
  }

  private void resetGrace() {
    graceEnds = null;
  }

  /**
   * Gives back this machine's cluster slot, whatever the window says: call it once the boot is
   * blessed, and when the agent starts (an agent that died holding the lock must not keep it).
   * Every guard first restores what it changed for the reboot ({@link ClusterGuard#afterBoot}: the
   * Swarm node active again); until they all have, the slot is kept and false comes back.
   *
   * @return whether the slot was given back; false: call again later
   * @throws IOException if the lock service cannot be reached (call again later)
   */
  public boolean releaseOwnHold() throws IOException {
    for (ClusterGuard g : guards) {
      if (!g.afterBoot()) {
        return false;
      }
    }
    strategy.release();
    holding = false;
    resetGrace();
    log.accept("released the reboot slot (" + strategy.name() + ")");
    return true;
  }

  /**
   * Renews this machine's cluster slot lease if it holds one (before the reboot and after it, until
   * {@link #releaseOwnHold}); only touches the thread-safe strategy, so any thread may call it.
   *
   * @throws IOException if the lock service cannot be reached (call again later)
   */
  public void renewOwnHold() throws IOException {
    strategy.renew();
  }

  /** Builder for {@link RebootCoordinator}. Not thread-safe. */
  public static final class Builder {
    private RebootStrategy strategy;
    private RebootWindow window;
    private Duration grace = Duration.ofMinutes(5);
    private LocalHold localHold;
    private ShutdownInhibitors inhibitors = ShutdownInhibitors.logind(HostCommands.system());
    private UserSessions sessions = UserSessions.who(HostCommands.system());
    private Notifier notifier = Notifier.wall(HostCommands.system());
    private Rebooter rebooter;
    private Clock clock = Clock.systemUTC();
    private Consumer<String> log = s -> {};
    private final List<ClusterGuard> guards = new java.util.ArrayList<>();

    private Builder() {}

    /** Adds a guard; guards are asked in the order they were added. */
    public Builder guard(ClusterGuard g) {
      this.guards.add(Objects.requireNonNull(g, "guard"));
      return this;
    }

    public Builder strategy(RebootStrategy s) {
      this.strategy = s;
      return this;
    }

    /** The reboot window; none means any time. */
    public Builder window(RebootWindow w) {
      this.window = w;
      return this;
    }

    /**
     * How long logged-in users get after the wall message (default 5 min; zero disables).
     *
     * @throws IllegalArgumentException if negative
     */
    public Builder grace(Duration g) {
      if (g.isNegative()) {
        throw new IllegalArgumentException("grace period must not be negative, got " + g);
      }
      this.grace = g;
      return this;
    }

    public Builder localHold(LocalHold h) {
      this.localHold = h;
      return this;
    }

    public Builder inhibitors(ShutdownInhibitors i) {
      this.inhibitors = i;
      return this;
    }

    public Builder sessions(UserSessions s) {
      this.sessions = s;
      return this;
    }

    public Builder notifier(Notifier n) {
      this.notifier = n;
      return this;
    }

    public Builder rebooter(Rebooter r) {
      this.rebooter = r;
      return this;
    }

    public Builder clock(Clock c) {
      this.clock = c;
      return this;
    }

    public Builder log(Consumer<String> l) {
      this.log = l;
      return this;
    }

    /**
     * Builds the coordinator.
     *
     * @throws NullPointerException if strategy, local hold or rebooter is missing
     */
    public RebootCoordinator build() {
      return new RebootCoordinator(this);
    }
  }
}
