package io.basalt.update.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.host.HostPaths;
import io.basalt.update.agent.Durations;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdException;
import io.basalt.update.lock.EtcdUnavailableException;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import io.basalt.update.lock.Semaphore;
import io.basalt.update.lock.SemaphoreFormatException;
import io.basalt.update.strategy.LocalHold;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;

/**
 * {@code basaltctl lock}: the cluster reboot lock (status, lock, unlock, set-max) and this
 * machine's local reboot hold (hold, release). Not thread-safe; one instance per invocation.
 */
@Command(
    name = "lock",
    mixinStandardHelpOptions = true,
    description = {
      "Inspect and change the cluster reboot lock (a locksmith-format semaphore in etcd) and "
          + "this machine's local reboot hold.",
      "",
      "Exit codes: 0 done, 2 usage, 3 etcd unreachable, 4 etcd refused or the semaphore is "
          + "malformed, 5 the lock is full, 1 anything else."
    },
    subcommands = {
      LockCommand.Status.class,
      LockCommand.Lock.class,
      LockCommand.Unlock.class,
      LockCommand.SetMax.class,
      LockCommand.Hold.class,
      LockCommand.Release.class,
      CommandLine.HelpCommand.class
    })
final class LockCommand implements Runnable {

  static final int EXIT_UNAVAILABLE = 3;
  static final int EXIT_REFUSED = 4;
  static final int EXIT_FULL = 5;

  private final Map<String, String> env;
  private final Clock clock;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin EtcdOptions etcd = new EtcdOptions();

  @Option(
      scope = ScopeType.INHERIT,
      names = "--group",
      paramLabel = "GROUP",
      description =
          "Reboot group; empty or 'default' is locksmith's default semaphore "
              + "(env BASALTCTL_GROUP).")
  String group;

  @Option(
      scope = ScopeType.INHERIT,
      names = "--machine-id-file",
      paramLabel = "FILE",
      description =
          "Where this machine's id is read (env BASALTCTL_MACHINE_ID_FILE; "
              + "default /etc/machine-id).")
  Path machineIdFile;

  @Option(
      scope = ScopeType.INHERIT,
      names = "--state-dir",
      paramLabel = "DIR",
      description =
          "Agent state directory holding the local reboot hold "
              + "(env BASALT_STATE_DIR; default /var/lib/basalt).")
  Path stateDir;

  @Option(
      scope = ScopeType.INHERIT,
      names = "--timeout",
      paramLabel = "DURATION",
      description =
          "How long to keep retrying an unreachable etcd or write conflicts, "
              + "e.g. 10s, 2m (default 10s).")
  String timeout;

  @Option(
      scope = ScopeType.INHERIT,
      names = "--lease",
      paramLabel = "DURATION",
      description =
          "Maximum time between two renewals of a live holder, as the agents' LOCK_LEASE: "
              + "'lock' first frees holders not renewed for longer, 'status' marks them stale; "
              + "0 means holds never expire (env BASALTCTL_LOCK_LEASE; default 15m).")
  String lease;

  /** The command as picocli instantiates it: real environment and clock. */
  public LockCommand() {
    this(System.getenv(), Clock.systemUTC());
  }

  /** A command reading settings from {@code env} and times from {@code clock} (for tests). */
  public LockCommand(Map<String, String> env, Clock clock) {
    this.env = Map.copyOf(env);
    this.clock = clock;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  // --- shared plumbing -----------------------------------------------------------------------

  RebootLock rebootLock() throws IOException {
    return rebootLock(line -> {});
  }

  Duration lease() {
    String v = EtcdOptions.pick(lease, env, "LOCK_LEASE");
    return v == null ? RebootLock.DEFAULT_LEASE : Durations.parse(v, "--lease");
  }

  RebootLock rebootLock(java.util.function.Consumer<String> log) throws IOException {
    Duration l = lease();
    EtcdClient client = etcd.client(env);
    Duration giveUp =
        timeout == null ? Duration.ofSeconds(10) : Durations.parse(timeout, "--timeout");
    String g = EtcdOptions.pick(group, env, "GROUP");
    return new RebootLock(
        client, g == null ? "" : g, clock, RetryPolicy.defaults().withGiveUpAfter(giveUp), l, log);
  }

  Path stateDir() {
    if (stateDir != null) {
      return stateDir;
    }
    String v = env.get("BASALT_STATE_DIR");
    return Path.of(v == null || v.isEmpty() ? HostPaths.STATE : v);
  }

  Path machineIdFile() {
    if (machineIdFile != null) {
      return machineIdFile;
    }
    String v = env.get("BASALTCTL_MACHINE_ID_FILE");
    return Path.of(v == null || v.isEmpty() ? "/etc/machine-id" : v);
  }

  /** This machine's id, or empty if the file cannot be read. */
  Optional<String> ownMachineId() {
    try {
      String id = Files.readString(machineIdFile(), StandardCharsets.US_ASCII).strip();
      return id.isEmpty() ? Optional.empty() : Optional.of(id);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  String requireOwnMachineId() {
    return ownMachineId()
        .orElseThrow(
            () ->
                new UsageError(
                    "cannot read this machine's id from "
                        + machineIdFile()
                        + "; give MACHINE-ID or --machine-id-file"));
  }

  /** A mistake in the invocation found while running (exit code 2, no usage dump). */
  static final class UsageError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageError(String message) {
      super(message);
    }
  }

  interface Action {
    int run(PrintWriter out) throws Exception;
  }

  /** Runs an action, turning failures into a one-line message and the documented exit codes. */
  static int guarded(CommandLine.Model.CommandSpec spec, Action action) {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String who = spec.qualifiedName();
    try {
      return action.run(out);
    } catch (UsageError | IllegalArgumentException e) {
      err.println(who + ": " + e.getMessage());
      return 2;
    } catch (EtcdUnavailableException e) {
      err.println(who + ": etcd unreachable: " + e.getMessage());
      return EXIT_UNAVAILABLE;
    } catch (SemaphoreFormatException | EtcdException e) {
      err.println(who + ": " + e.getMessage());
      return EXIT_REFUSED;
    } catch (AccessDeniedException e) {
      err.println(who + ": " + permissionDenied(who, e));
      return 1;
    } catch (NoSuchFileException e) {
      err.println(who + ": no such file: " + e.getMessage());
      return 1;
    } catch (Exception e) {
      err.println(who + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return 1;
    } finally {
      out.flush();
      err.flush();
    }
  }

  /**
   * The message for a file this user may not write or read: which file, and what is needed (root,
   * which members of group sudo get with {@code sudo}).
   */
  static String permissionDenied(String who, AccessDeniedException e) {
    String file = e.getFile() == null ? String.valueOf(e.getMessage()) : e.getFile();
    return file
        + ": permission denied; this needs root: run it as sudo "
        + who
        + " (members of group sudo may)";
  }

  static String ago(Instant since, Instant now) {
    Duration d = Duration.between(since, now);
    if (d.isNegative()) {
      return "in the future";
    }
    long s = d.getSeconds();
    if (s < 120) {
      return s + "s ago";
    }
    if (s < 7200) {
      return s / 60 + "m ago";
    }
    if (s < 172800) {
      return s / 3600 + "h" + (s % 3600) / 60 + "m ago";
    }
    return s / 86400 + "d ago";
  }

  // --- subcommands ---------------------------------------------------------------------------

  /** {@code basaltctl lock status}. */
  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description =
          "Show the lock: free slots, max, holders with their age (how long they hold it) "
              + "and last lease renewal, stale holders marked; and this machine's local hold.")
  static final class Status implements Callable<Integer> {
    @ParentCommand LockCommand parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Override
    public Integer call() {
      return guarded(
          spec,
          out -> {
            RebootLock.Status st = parent.rebootLock().status();
            Semaphore s = st.semaphore();
            Instant now = parent.clock.instant();
            Duration lease = parent.lease();
            List<String> stale = s.staleHolders(now, lease);
            Optional<LocalHold.Hold> hold;
            try {
              hold = new LocalHold(parent.stateDir()).current();
            } catch (IOException e) {
              hold = Optional.empty();
            }
            if (json) {
              ObjectMapper m = new ObjectMapper();
              ObjectNode n = m.createObjectNode();
              n.put("key", st.key());
              n.put("exists", st.exists());
              n.put("mod_revision", st.modRevision());
              n.put("available", s.available());
              n.put("semaphore", s.semaphore());
              n.put("max", s.max());
              ArrayNode hs = n.putArray("holders");
              for (String h : s.holders()) {
                ObjectNode o = hs.addObject();
                o.put("id", h);
                s.since(h)
                    .ifPresentOrElse(t -> o.put("since", t.toString()), () -> o.putNull("since"));
                s.age(h, now)
                    .ifPresentOrElse(
                        a -> o.put("age_seconds", a.toSeconds()), () -> o.putNull("age_seconds"));
                s.lastRenewal(h)
                    .ifPresentOrElse(
                        t -> o.put("last_renewal", t.toString()), () -> o.putNull("last_renewal"));
                o.put("stale", stale.contains(h));
              }
              n.put("lease_seconds", lease.toSeconds());
              hold.ifPresent(
                  h ->
                      n.putObject("local_hold")
                          .put("reason", h.reason())
                          .put("since", h.since().toString()));
              out.println(m.writerWithDefaultPrettyPrinter().writeValueAsString(n));
              return 0;
            }
            out.println(
                "Key: "
                    + st.key()
                    + (st.exists()
                        ? " (mod revision " + st.modRevision() + ")"
                        : " (not created yet: locksmith's default applies)"));
            out.println("Available: " + s.available());
            out.println("Max: " + s.max());
            out.println();
            if (s.holders().isEmpty()) {
              out.println("No holders.");
            } else {
              out.printf(
                  Locale.ROOT, "%-34s %-10s %-24s %s%n", "MACHINE ID", "AGE", "RENEWED", "SINCE");
              for (String h : s.holders()) {
                out.printf(
                    Locale.ROOT,
                    "%-34s %-10s %-24s %s%n",
                    h,
                    s.age(h, now).map(RebootLock::human).orElse("unknown"),
                    s.lastRenewal(h)
                            .map(t -> RebootLock.human(Duration.between(t, now)) + " ago")
                            .orElse("never")
                        + (stale.contains(h) ? " (stale)" : ""),
                    s.since(h)
                        .map(t -> t + " (" + ago(t, now) + ")")
                        .orElse("unknown (taken by a tool that does not record it)"));
              }
              out.println();
              out.println(
                  lease.isZero()
                      ? "Holds never expire (lease 0): free a gone machine's slot with "
                          + "'basaltctl lock unlock MACHINE-ID --force'."
                      : "Lease "
                          + RebootLock.human(lease)
                          + ": the next machine asking for the lock frees holders not renewed "
                          + "for longer (stale); 'basaltctl lock unlock MACHINE-ID --force' "
                          + "frees one now.");
            }
            out.println();
            out.println(
                "Local hold: "
                    + hold.map(
                            h ->
                                "held since "
                                    + h.since()
                                    + (h.reason().isEmpty() ? "" : ": " + h.reason()))
                        .orElse("none"));
            return 0;
          });
    }
  }

  /** {@code basaltctl lock lock [MACHINE-ID]}. */
  @Command(
      name = "lock",
      mixinStandardHelpOptions = true,
      description =
          "Take a slot for this machine (or MACHINE-ID). Taking a lock already held " + "succeeds.")
  static final class Lock implements Callable<Integer> {
    @ParentCommand LockCommand parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(
        arity = "0..1",
        paramLabel = "MACHINE-ID",
        description = "Holder id (default: this machine's id).")
    String machineId;

    @Option(
        names = "--wait",
        paramLabel = "DURATION",
        description = "Keep trying this long while the lock is full (e.g. 30s, 10m).")
    String wait;

    @Override
    public Integer call() {
      return guarded(
          spec,
          out -> {
            Duration maxWait = wait == null ? null : Durations.parse(wait, "--wait");
            String id = machineId != null ? machineId : parent.requireOwnMachineId();
            RebootLock lock = parent.rebootLock(out::println);
            RebootLock.LockResult r = maxWait == null ? lock.tryLock(id) : lock.lock(id, maxWait);
            Semaphore s = r.status().semaphore();
            switch (r.outcome()) {
              case ACQUIRED:
                out.println(
                    "Locked for " + id + " (" + s.available() + " of " + s.max() + " free).");
                return 0;
              case ALREADY_HELD:
                out.println(id + " already holds the lock.");
                return 0;
              default:
                spec.commandLine()
                    .getErr()
                    .println(
                        spec.qualifiedName()
                            + ": the lock is full: "
                            + s.holders().size()
                            + " holder(s) of max "
                            + s.max()
                            + ": "
                            + String.join(", ", s.holders()));
                return EXIT_FULL;
            }
          });
    }
  }

  /** {@code basaltctl lock unlock [MACHINE-ID] [--force]}. */
  @Command(
      name = "unlock",
      mixinStandardHelpOptions = true,
      description = "Release this machine's slot; releasing another machine's slot needs --force.")
  static final class Unlock implements Callable<Integer> {
    @ParentCommand LockCommand parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(
        arity = "0..1",
        paramLabel = "MACHINE-ID",
        description = "Holder to release (default: this machine).")
    String machineId;

    @Option(names = "--force", description = "Release another machine's hold (a stale holder).")
    boolean force;

    @Override
    public Integer call() {
      return guarded(
          spec,
          out -> {
            Optional<String> own = parent.ownMachineId();
            String id;
            if (machineId == null) {
              id = parent.requireOwnMachineId();
            } else {
              id = machineId;
              if (!force && !own.equals(Optional.of(id))) {
                throw new UsageError(
                    id
                        + " is not this machine ("
                        + own.orElse(
                            "machine id unknown: " + parent.machineIdFile() + " unreadable")
                        + "); releasing another machine's hold needs --force");
              }
            }
            RebootLock.UnlockOutcome r = parent.rebootLock().unlock(id);
            out.println(
                r == RebootLock.UnlockOutcome.RELEASED
                    ? "Unlocked " + id + "."
                    : id + " does not hold the lock; nothing to release.");
            return 0;
          });
    }
  }

  /** {@code basaltctl lock set-max N}. */
  @Command(
      name = "set-max",
      mixinStandardHelpOptions = true,
      description = "Set how many machines may hold the lock at once.")
  static final class SetMax implements Callable<Integer> {
    @ParentCommand LockCommand parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "N", description = "New maximum (0 or more; 0 stops all reboots).")
    int max;

    @Override
    public Integer call() {
      return guarded(
          spec,
          out -> {
            if (max < 0) {
              throw new UsageError("N must be 0 or more, got " + max);
            }
            Semaphore s = parent.rebootLock().setMax(max).semaphore();
            out.println(
                "Max set to "
                    + s.max()
                    + " ("
                    + s.available()
                    + " free, "
                    + s.holders().size()
                    + " holder(s)).");
            return 0;
          });
    }
  }

  /** {@code basaltctl lock hold [--reason TEXT]}. */
  @Command(
      name = "hold",
      mixinStandardHelpOptions = true,
      description = "Hold reboots of this machine back until 'release' (survives reboots).")
  static final class Hold implements Callable<Integer> {
    @ParentCommand LockCommand parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why (shown in status).")
    String reason;

    @Override
    public Integer call() {
      return guarded(
          spec,
          out -> {
            LocalHold h = new LocalHold(parent.stateDir());
            h.hold(reason, parent.clock.instant());
            out.println("Reboots held (" + h.file() + ")" + (reason == null ? "." : ": " + reason));
            return 0;
          });
    }
  }

  /** {@code basaltctl lock release}. */
  @Command(
      name = "release",
      mixinStandardHelpOptions = true,
      description = "Remove this machine's local reboot hold.")
  static final class Release implements Callable<Integer> {
    @ParentCommand LockCommand parent;
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      return guarded(
          spec,
          out -> {
            boolean had = new LocalHold(parent.stateDir()).release();
            out.println(had ? "Local reboot hold released." : "There was no local reboot hold.");
            return 0;
          });
    }
  }
}
