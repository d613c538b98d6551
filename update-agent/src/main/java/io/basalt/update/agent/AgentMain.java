package io.basalt.update.agent;

import io.basalt.host.HostPaths;
import io.basalt.signing.tuf.client.HttpFetcher;
import io.basalt.update.install.HttpRangeSource;
import io.basalt.update.install.VerityVerifier;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.FleetLockClient;
import io.basalt.update.lock.FleetLockToken;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import io.basalt.update.status.PeerAccess;
import io.basalt.update.status.StatusServer;
import io.basalt.update.strategy.EtcdQuorumCheck;
import io.basalt.update.strategy.HostCommands;
import io.basalt.update.strategy.LocalHold;
import io.basalt.update.strategy.RebootCoordinator;
import io.basalt.update.strategy.RebootStrategy;
import io.basalt.update.strategy.RebootWindow;
import io.basalt.update.strategy.Rebooter;
import io.basalt.update.swarm.DockerCli;
import io.basalt.update.swarm.SwarmDrain;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The {@code basalt-update-agent} daemon entry point: {@code java -cp ...
 * io.basalt.update.agent.AgentMain [--root DIR]}. Logs one line per event on stdout (the journal).
 * Runs until SIGTERM.
 */
public final class AgentMain {

  private AgentMain() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of("/");
    if (args.length == 2 && args[0].equals("--root")) {
      root = Path.of(args[1]);
    } else if (args.length != 0) {
      System.err.println("usage: AgentMain [--root DIR]");
      System.exit(2);
    }
    AgentPaths paths = new AgentPaths(root);
    Clock clock = Clock.systemUTC();
    UpdateAgent agent =
        new UpdateAgent(
            paths,
            clock,
            new HttpFetcher(),
            new HttpRangeSource(Duration.ofSeconds(60)),
            VerityVerifier.veritysetup(),
            c -> coordinator(c, paths, clock),
            AgentMain::log,
            new SecureRandom());
    try {
      agent.start();
    } catch (IOException e) {
      log("cannot start: " + e.getMessage());
      System.exit(1);
    }
    ExecutorService worker =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "update-worker");
              t.setDaemon(true);
              return t;
            });
    StatusServer server =
        new StatusServer(
            paths.socket(),
            agent.handler(worker),
            PeerAccess.groups(HostPaths.under(root, StatusServer.GROUP_FILE)),
            StatusServer.READ_TIMEOUT);
    server.start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    server.close();
                  } catch (IOException e) {
                    // exiting anyway
                  }
                }));
    log(
        "started: version "
            + agent.status().version()
            + ", slot "
            + agent.status().slot()
            + ", channel "
            + agent.status().channel()
            + ", strategy "
            + agent.status().strategy());
    // First check soon after boot (within the jitter), then every interval + jitter.
    Instant nextCheck =
        clock
            .instant()
            .plus(Duration.ofSeconds(30))
            .plusMillis(
                (long)
                    (new SecureRandom().nextDouble()
                        * Math.min(agent.nextDelay().toMillis(), 300_000)));
    Optional<Instant> nextReboot = Optional.of(clock.instant());
    Instant nextRelease = clock.instant();
    Instant nextRenew = clock.instant();
    while (true) {
      Instant now = clock.instant();
      if (!agent.lockLease().isZero() && !now.isBefore(nextRenew)) {
        // a third of the lease: two renewals may fail before other machines see the hold as stale
        nextRenew = now.plus(agent.lockLease().dividedBy(agent.renewLock() ? 3 : 6));
      }
      if (!now.isBefore(nextRelease) && !agent.releaseLockIfBlessed()) {
        nextRelease = now.plusSeconds(30); // not blessed yet, or the lock service is unreachable
      }
      if (!now.isBefore(nextCheck)) {
        worker.submit(() -> agent.runCycle(true, null, false)).get();
        nextCheck = clock.instant().plus(agent.nextDelay());
        nextReboot = Optional.of(clock.instant());
      }
      if (nextReboot.isPresent() && !clock.instant().isBefore(nextReboot.get())) {
        nextReboot = worker.submit(agent::rebootStep).get();
      } else if (nextReboot.isEmpty() && "reboot-pending".equals(agent.status().state())) {
        nextReboot = Optional.of(clock.instant()); // an update applied through the socket
      }
      Thread.sleep(5_000);
    }
  }

  static RebootCoordinator coordinator(UpdateConfig c, AgentPaths paths, Clock clock)
      throws IOException {
    String machineId =
        Files.exists(paths.machineId())
            ? Files.readString(paths.machineId(), StandardCharsets.UTF_8).strip()
            : "";
    RebootStrategy.Kind kind = RebootStrategy.Kind.parse(c.rebootStrategy());
    EtcdClient etcd =
        kind == RebootStrategy.Kind.ETCD_LOCK || c.quorumCheck()
            ? EtcdClient.create(etcdConfig(c))
            : null;
    RebootStrategy s =
        switch (kind) {
          case ETCD_LOCK ->
              RebootStrategy.etcdLock(
                  new RebootLock(
                      etcd,
                      c.lockGroup(),
                      clock,
                      RetryPolicy.defaults(),
                      c.lockLease(),
                      AgentMain::log),
                  machineId);
          case FLEETLOCK ->
              RebootStrategy.fleetLock(
                  new FleetLockClient(
                      c.fleetlockUrl(),
                      Duration.ofSeconds(30),
                      c.fleetlockTokenFile() == null
                          ? null
                          : FleetLockToken.read(
                              paths.root().resolve(c.fleetlockTokenFile().substring(1)),
                              "update.conf FLEETLOCK_TOKEN_FILE")),
                  machineId,
                  c.lockGroup());
          case REBOOT -> RebootStrategy.immediate();
          case OFF -> RebootStrategy.off();
        };
    RebootCoordinator.Builder b =
        RebootCoordinator.builder()
            .strategy(s)
            .grace(c.rebootGrace())
            .localHold(new LocalHold(paths.stateDir()))
            .rebooter(Rebooter.systemctl(HostCommands.system()))
            .clock(clock)
            .log(AgentMain::log);
    if (c.rebootWindow() != null) {
      b.window(RebootWindow.parse(c.rebootWindow(), ZoneId.of(c.rebootWindowZone())));
    }
    if (kind != RebootStrategy.Kind.OFF) {
      // the order of the steps: quorum check, lock, drain and its wait, reboot (README)
      if (c.quorumCheck()) {
        b.guard(new EtcdQuorumCheck(etcd, self(paths)));
      }
      SwarmDrain.Mode drain = SwarmDrain.Mode.parse(c.swarmDrain());
      if (drain != SwarmDrain.Mode.NO) {
        b.guard(
            new SwarmDrain(
                new DockerCli("docker", Duration.ofSeconds(30)),
                paths.stateDir(),
                drain,
                c.swarmDrainTimeout(),
                clock,
                AgentMain::log));
      }
    }
    return b.build();
  }

  /** This machine's host name and non-loopback addresses, to find its own etcd member. */
  static EtcdQuorumCheck.Self self(AgentPaths paths) {
    String host = "";
    for (String f : new String[] {"etc/hostname", "proc/sys/kernel/hostname"}) {
      try {
        host = Files.readString(paths.root().resolve(f), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        continue;
      }
      if (!host.isEmpty()) {
        break;
      }
    }
    java.util.Set<java.net.InetAddress> addrs = new java.util.HashSet<>();
    try {
      java.net.NetworkInterface.networkInterfaces()
          .forEach(i -> i.inetAddresses().filter(a -> !a.isLoopbackAddress()).forEach(addrs::add));
    } catch (java.net.SocketException e) {
      log("etcd quorum check: cannot list this machine's addresses (" + e.getMessage() + ")");
    }
    return new EtcdQuorumCheck.Self(host, java.util.Set.copyOf(addrs));
  }

  /**
   * The etcd client settings of the update.conf files under {@code root} (the image's defaults, the
   * machine's overrides), as the agent reads them: what {@code basaltctl swarm join} meets through.
   *
   * @throws IOException when a file cannot be read or holds a bad setting (naming file and line)
   */
  public static EtcdConfig etcdConfig(Path root) throws IOException {
    return etcdConfig(
        UpdateConfig.load(
            HostPaths.under(root, UpdateConfig.DEFAULTS_PATH),
            HostPaths.under(root, UpdateConfig.OVERRIDES_PATH)));
  }

  /**
   * The etcd client settings of update.conf: endpoints, TLS (CA, client certificate and key) and
   * username/password.
   */
  static EtcdConfig etcdConfig(UpdateConfig c) {
    EtcdConfig.Builder b = EtcdConfig.builder().endpoints(String.join(",", c.etcdEndpoints()));
    if (c.etcdCaFile() != null) {
      b.caFile(c.etcdCaFile());
    }
    if (c.etcdCertFile() != null) {
      b.clientCertificate(c.etcdCertFile(), c.etcdKeyFile());
    }
    if (c.etcdUsername() != null) {
      b.credentials(c.etcdUsername(), c.etcdPassword());
    }
    return b.build();
  }

  static synchronized void log(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
