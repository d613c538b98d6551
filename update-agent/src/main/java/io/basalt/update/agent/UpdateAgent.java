package io.basalt.update.agent;

import io.basalt.host.AtomicFiles;
import io.basalt.signing.tuf.client.Fetcher;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.update.install.DeltaInstall;
import io.basalt.update.install.Esp;
import io.basalt.update.install.HostInfo;
import io.basalt.update.install.Installer;
import io.basalt.update.install.RangeSource;
import io.basalt.update.install.ResumableDownload;
import io.basalt.update.install.SlotDevices;
import io.basalt.update.install.VerityFormatter;
import io.basalt.update.install.VerityVerifier;
import io.basalt.update.status.AgentStatus;
import io.basalt.update.status.StatusProtocol;
import io.basalt.update.strategy.RebootCoordinator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The update agent: evaluates the boot it runs in (records versions whose tries ran out, releases
 * the reboot lock once the boot is blessed), checks for updates on a jittered interval, installs
 * them into the inactive slot and drives the reboot strategy. Public methods are thread-safe: the
 * control socket thread reads {@link #status()} while one worker runs {@link #runCycle}.
 */
final class UpdateAgent {

  /** Builds the reboot coordinator for a configuration (injectable for tests). */
  @FunctionalInterface
  public interface CoordinatorFactory {
    RebootCoordinator create(UpdateConfig config) throws IOException;
  }

  private final AgentPaths paths;
  private final Clock clock;
  private final Fetcher fetcher;
  private final RangeSource ranges;
  private final VerityVerifier verity;
  private final CoordinatorFactory coordinators;
  private final Consumer<String> log;
  private final Random random;

  private final Object lock = new Object();
  private volatile HostInfo host;
  private volatile UpdateConfig config;
  private String state = "idle";
  private int progress = -1;
  private long fetchBytes = -1;
  private long reuseBytes = -1;
  private String lastCheck;
  private String lastError;
  private String message;
  private String available;
  private boolean staged;
  private boolean lockReleased;
  private RebootCoordinator coordinator;

  /** Wires the agent. */
  public UpdateAgent(
      AgentPaths paths,
      Clock clock,
      Fetcher fetcher,
      RangeSource ranges,
      VerityVerifier verity,
      CoordinatorFactory coordinators,
      Consumer<String> log,
      Random random) {
    this.paths = paths;
    this.clock = clock;
    this.fetcher = fetcher;
    this.ranges = ranges;
    this.verity = verity;
    this.coordinators = coordinators;
    this.log = log;
    this.random = random;
  }

  /**
   * Reads the command line and configuration and evaluates the boot: an entry of the other slot
   * that ran out of tries with a version newer than the running one is recorded as failed; an
   * unblessed newer entry of the other slot is a staged update waiting for its reboot.
   *
   * @throws IOException if the command line or configuration cannot be used
   */
  public void start() throws IOException {
    host = HostInfo.read(paths.cmdline());
    config = UpdateConfig.load(paths.defaultsConf(), paths.overridesConf());
    if (host.live()) {
      set("disabled", "PXE live boot (basalt.live): no A/B updates");
      return;
    }
    Esp boot = new Esp(paths.esp());
    SemVer running = SemVer.parse(host.version());
    FailedVersions failed = new FailedVersions(paths.stateDir());
    for (Esp.Entry e : boot.ofSlot(host.otherSlot().orElseThrow())) {
      Optional<SemVer> v = SemVer.tryParse(e.version());
      if (v.isEmpty() || v.get().compareTo(running) <= 0) {
        continue;
      }
      if (!e.bootable()) {
        if (failed.add(e.version())) {
          log.accept(
              "version "
                  + e.version()
                  + " (slot "
                  + e.slot()
                  + ") ran out of boot tries; recorded as failed, running "
                  + host.version());
        }
        synchronized (lock) {
          lastError =
              "version " + e.version() + " did not reach boot-complete; back on " + host.version();
        }
      } else if (!e.blessed()) {
        synchronized (lock) {
          staged = true;
          available = e.version();
          state = "reboot-pending";
          message =
              "version "
                  + e.version()
                  + " installed in slot "
                  + e.slot()
                  + "; waiting for the reboot";
        }
      }
    }
  }

  /**
   * Whether this boot's entry has been blessed: neither the entry the loader booted with a counter
   * ({@code LoaderBootCountPath}) nor the running version's entry on the ESP still has a boot
   * counter.
   */
  public boolean blessed() throws IOException {
    return countedBoot().isEmpty();
  }

  /** The file name of this boot's entry while it still has a boot counter, else empty. */
  private Optional<String> countedBoot() throws IOException {
    if (host.live()) {
      return Optional.empty();
    }
    Esp esp = new Esp(paths.esp());
    Optional<Path> loader = esp.countedBootEntry(paths.loaderBootCountPath());
    if (loader.isPresent()) {
      return Optional.of(loader.get().getFileName().toString());
    }
    for (Esp.Entry e : esp.ofSlot(host.slot())) {
      if (e.version().equals(host.version()) && !e.blessed()) {
        return Optional.of(e.file().getFileName().toString());
      }
    }
    return Optional.empty(); // no entry of ours with a counter: nothing will fall back
  }

  /**
   * Releases this machine's reboot lock once the boot is blessed (holder hygiene). Call
   * periodically until it returns true.
   *
   * @return whether the lock was released (or nothing needed releasing)
   */
  public boolean releaseLockIfBlessed() {
    if (lockReleased) {
      return true;
    }
    try {
      if (!blessed()) {
        return false;
      }
      if (!coordinator().releaseOwnHold()) {
        return false; // the swarm node is not active again yet (logged); asked again later
      }
      lockReleased = true;
      log.accept("boot of " + host.version() + " is blessed; reboot lock released");
      return true;
    } catch (IOException e) {
      log.accept("releasing the reboot lock: " + e.getMessage() + " (will retry)");
      return false;
    }
  }

  /**
   * Renews this machine's reboot-lock lease if it holds the lock (etcd-lock strategy); call it at
   * least once per {@link #lockLease()}.
   *
   * @return false if the lock service could not be reached (logged)
   */
  public boolean renewLock() {
    try {
      coordinator().renewOwnHold();
      return true;
    } catch (IOException e) {
      log.accept("renewing the reboot lock lease: " + e.getMessage() + " (will retry)");
      return false;
    }
  }

  /** The configured reboot-lock lease (update.conf LOCK_LEASE; zero: never expires). */
  public Duration lockLease() {
    return config.lockLease();
  }

  private RebootCoordinator coordinator() throws IOException {
    synchronized (lock) {
      if (coordinator == null) {
        coordinator = coordinators.create(config);
      }
      return coordinator;
    }
  }

  /** The next check time: interval plus a random part of the jitter. */
  public Duration nextDelay() {
    long jitter = config.checkJitter().toMillis();
    return config
        .checkInterval()
        .plusMillis(jitter <= 0 ? 0 : (long) (random.nextDouble() * jitter));
  }

  /**
   * One check, and when {@code install} an installation of what it found.
   *
   * @param pin a version the operator asked for, or null
   * @param force allow a downgrade to {@code pin} or a version recorded as failed
   * @return a sentence for the operator
   */
  public String runCycle(boolean install, String pin, boolean force) {
    if (host.live()) {
      return set("disabled", "PXE live boot (basalt.live): no A/B updates");
    }
    if (Files.exists(paths.noUpdate())) {
      return set("disabled", paths.noUpdate() + " exists: updates are switched off");
    }
    synchronized (lock) {
      if (staged && pin == null) {
        return message;
      }
    }
    try {
      config = UpdateConfig.load(paths.defaultsConf(), paths.overridesConf());
      if (config.repository() == null) {
        throw new IOException(
            "no REPOSITORY_URL (or SERVER) in "
                + paths.overridesConf()
                + " or "
                + paths.defaultsConf());
      }
      set("checking", "checking " + config.metadataUrl());
      Updater updater = updater();
      java.util.Set<String> failedSet = new FailedVersions(paths.stateDir()).read();
      if (force && pin != null) {
        failedSet.remove(pin);
      }
      UpdateChecker.Result r =
          new UpdateChecker(updater, paths.tufDir())
              .check(
                  config.channel(),
                  config.arch(),
                  SemVer.parse(host.version()),
                  failedSet,
                  pin,
                  force);
      r.warnings().forEach(log);
      synchronized (lock) {
        lastCheck = clock.instant().toString();
        available = r.offer().map(o -> o.version().toString()).orElse(null);
      }
      if (r.offer().isEmpty() || !install) {
        log.accept(r.message());
        return set(r.offer().isEmpty() ? "up-to-date" : "idle", r.message());
      }
      var offer = r.offer().get();
      // The other slot holds the last proven version until this boot is blessed: never write it
      // before, or a failing trial boot would have nothing to fall back to.
      Optional<String> counted = countedBoot();
      if (counted.isPresent()) {
        String m =
            "version "
                + offer.version()
                + " available; not installing until this boot ("
                + host.version()
                + ", slot "
                + host.slot()
                + ", "
                + counted.get()
                + ") is blessed: slot "
                + host.otherSlot().orElseThrow()
                + " holds the last known-good version";
        log.accept(m);
        return set("trial-boot", m);
      }
      log.accept(r.message() + "; installing into slot " + host.otherSlot().orElseThrow());
      set("downloading", r.message());
      synchronized (lock) {
        fetchBytes = -1;
        reuseBytes = -1;
      }
      Installer inst =
          new Installer(
              new ResumableDownload(ranges, config.downloadDeadline()),
              new SlotDevices(paths.root()),
              verity,
              new Esp(paths.esp()),
              paths.downloads(),
              null,
              (phase, pct) -> {
                synchronized (lock) {
                  state = pct < 60 ? "downloading" : "installing";
                  progress = Math.min(100, Math.max(0, pct));
                }
              },
              new DeltaInstall(
                  new ResumableDownload(ranges, config.downloadDeadline()),
                  ranges,
                  config.downloadDeadline(),
                  log,
                  VerityFormatter.veritysetup()),
              plan -> {
                synchronized (lock) {
                  fetchBytes = plan.fetchBytes();
                  reuseBytes = plan.reuseBytes();
                }
              },
              log);
      Path entry =
          inst.install(
              offer, config.targetsUrl(), updater.trustedRoot().consistentSnapshot(), host);
      markVerified(offer.usrRootHash());
      synchronized (lock) {
        staged = true;
        lastError = null;
      }
      String m =
          "version "
              + offer.version()
              + " installed in slot "
              + host.otherSlot().orElseThrow()
              + " ("
              + entry.getFileName()
              + "); waiting for the reboot ("
              + config.rebootStrategy()
              + ")";
      log.accept(m);
      return set("reboot-pending", m);
    } catch (IOException | RuntimeException e) {
      String m = e.getMessage() == null ? e.toString() : e.getMessage();
      synchronized (lock) {
        lastError = m;
        lastCheck = clock.instant().toString();
      }
      log.accept("update failed: " + m);
      return set("error", m);
    }
  }

  /**
   * Asks the reboot strategy once, when an update is staged.
   *
   * @return when to ask again, or empty when nothing is staged or the reboot started
   */
  public Optional<Instant> rebootStep() {
    synchronized (lock) {
      if (!staged || "rebooting".equals(state)) {
        return Optional.empty();
      }
    }
    try {
      RebootCoordinator.Decision d = coordinator().step();
      if (d.action() == RebootCoordinator.Action.REBOOTING) {
        set("rebooting", d.reason());
        return Optional.empty();
      }
      set("reboot-pending", d.reason());
      return Optional.of(d.retryAt().orElse(clock.instant().plusSeconds(60)));
    } catch (IOException e) {
      synchronized (lock) {
        lastError = "reboot coordination: " + e.getMessage();
      }
      return Optional.of(clock.instant().plusSeconds(60));
    }
  }

  /**
   * Tells the initramfs that the slot holding {@code rootHash} was checked block by block (step 4
   * of the install), so the first boot of the new version skips its own full check (init-units:
   * marker {@code /var/lib/basalt/verified/HASH}); dm-verity still checks every block read at run
   * time.
   */
  private void markVerified(String rootHash) {
    try {
      Path mark = paths.verifiedMark(rootHash);
      if (!Files.exists(mark)) {
        AtomicFiles.write(mark, new byte[0]);
      }
    } catch (IOException e) {
      log.accept(
          "could not write "
              + paths.verifiedMark(rootHash)
              + " ("
              + e.getMessage()
              + "); the first boot of the new slot checks it again");
    }
  }

  /**
   * The TUF client on the trusted metadata. A missing trusted root is seeded from the image's
   * shipped root; an unreadable or corrupt one (a torn write, a bad block) is re-seeded from it
   * with a warning, so one damaged file cannot stop updates for good: the root chain (TUF 5.3) then
   * walks forward from the shipped version again.
   */
  private Updater updater() throws IOException {
    Path trusted = paths.tufDir().resolve("root.json");
    if (!Files.exists(trusted)) {
      AtomicFiles.copy(paths.shippedRoot(), trusted);
    }
    try {
      return newUpdater();
    } catch (IOException e) {
      if (!Files.isReadable(paths.shippedRoot())) {
        throw new IOException(
            trusted
                + ": unusable trusted root ("
                + e.getMessage()
                + ") and no shipped root "
                + paths.shippedRoot()
                + " to re-seed it from",
            e);
      }
      AtomicFiles.copy(paths.shippedRoot(), trusted);
      log.accept(
          "warning: "
              + trusted
              + ": unusable trusted root ("
              + e.getMessage()
              + "); re-seeded from the image's "
              + paths.shippedRoot());
      return newUpdater();
    }
  }

  private Updater newUpdater() throws IOException {
    return new Updater(paths.tufDir(), config.metadataUrl(), config.targetsUrl(), fetcher, clock);
  }

  private String set(String st, String msg) {
    synchronized (lock) {
      state = st;
      message = msg;
      if (!st.equals("downloading") && !st.equals("installing")) {
        progress = -1;
      }
      return msg;
    }
  }

  /** The current status. */
  public AgentStatus status() {
    String fallback = null;
    List<String> failed = new ArrayList<>();
    try {
      failed.addAll(new FailedVersions(paths.stateDir()).read());
      if (!host.live()) {
        for (Esp.Entry e : new Esp(paths.esp()).list()) {
          if (!(e.slot().equals(host.slot()) && e.version().equals(host.version()))) {
            fallback =
                e.version()
                    + " (slot "
                    + e.slot()
                    + ", "
                    + (e.blessed()
                        ? "good"
                        : e.bootable() ? e.boot().triesLeft() + " tries left" : "no tries left")
                    + ")";
          }
        }
      }
    } catch (IOException e) {
      fallback = "unknown (" + e.getMessage() + ")";
    }
    synchronized (lock) {
      UpdateConfig c = config;
      return new AgentStatus(
          host.version(),
          host.slot(),
          c == null ? null : c.channel(),
          c == null ? null : c.rebootStrategy(),
          state,
          progress,
          lastCheck,
          lastError,
          message,
          available,
          fallback,
          List.copyOf(failed),
          fetchBytes,
          reuseBytes);
    }
  }

  /**
   * Handles a control-socket request ({@code status}, {@code check}, {@code apply [VERSION]
   * [force]}).
   */
  public Function<String, StatusProtocol.Reply> handler(
      java.util.concurrent.ExecutorService worker) {
    return req -> {
      String[] w = req.isBlank() ? new String[] {""} : req.split("\\s+");
      switch (w[0]) {
        case "status":
          return new StatusProtocol.Reply(true, null, status());
        case "check":
          {
            try {
              String m = worker.submit(() -> runCycle(false, null, false)).get();
              AgentStatus s = status();
              return new StatusProtocol.Reply(!"error".equals(s.state()), m, s);
            } catch (Exception e) {
              return new StatusProtocol.Reply(false, "check: " + e, status());
            }
          }
        case "apply":
          {
            String pin = w.length > 1 && !w[1].equals("-") ? w[1] : null;
            boolean force = w.length > 2 && w[2].equals("force");
            worker.submit(() -> runCycle(true, pin, force));
            return new StatusProtocol.Reply(
                true, "update started; follow it with: basaltctl status", status());
          }
        default:
          return new StatusProtocol.Reply(
              false, "unknown request \"" + req + "\"; expected status, check or apply", null);
      }
    };
  }
}
