package io.basalt.update.swarm;

import io.basalt.host.SwarmConf;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.KeyValue;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.Timer;
import java.util.TimerTask;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Puts this machine into the Docker Swarm its {@link SwarmConf} names, meeting the other nodes
 * through etcd. A node already in a swarm only gets its labels. Otherwise, under {@code
 * /basalt/swarm/CLUSTER/}: a manager tries to create {@code init} under a lease, in one transaction
 * that also requires {@code token/manager} to be absent; the one that succeeds runs {@code docker
 * swarm init}, publishes {@code token/manager}, {@code token/worker} and {@code manager-addr} in
 * one transaction guarded by its {@code init} key, and revokes the lease. Every other node waits
 * (bounded) for its role's token and joins. A winner that dies before publishing stops renewing the
 * lease, its {@code init} key goes when the lease ends, and the next manager to try takes over.
 * Tokens are never logged. One instance per run; not thread-safe.
 */
public final class SwarmJoin {

  /** The swarm's port for managers ({@code docker swarm init} default). */
  static final int MANAGER_PORT = 2377;

  /** How a run ended. */
  public enum Outcome {
    /** The node was already in a swarm: labels applied. */
    ALREADY_IN_SWARM,
    /** This manager initialised the swarm and published its tokens. */
    INITIALISED,
    /** The node joined with a published token. */
    JOINED
  }

  /**
   * How long a run waits and how often it looks.
   *
   * @param tokenWait longest time to wait for the join tokens
   * @param initLease the TTL of a manager's {@code init} key while it initialises (renewed every
   *     third of it)
   * @param poll time between two looks at etcd
   */
  public record Timing(Duration tokenWait, Duration initLease, Duration poll) {}

  /** The tokens did not appear in etcd within {@link Timing#tokenWait()}. */
  public static final class WaitedTooLongException extends IOException {
    private static final long serialVersionUID = 1L;

    WaitedTooLongException(String message) {
      super(message);
    }
  }

  private final EtcdClient etcd;
  private final Docker docker;
  private final SwarmConf conf;
  private final String nodeName;
  private final Timing timing;
  private final Clock clock;
  private final Consumer<String> log;
  private final String prefix;

  /**
   * @param nodeName how this machine is named in the {@code init} key (its host name)
   * @param log receives one line per step (never a token)
   */
  public SwarmJoin(
      EtcdClient etcd,
      Docker docker,
      SwarmConf conf,
      String nodeName,
      Timing timing,
      Clock clock,
      Consumer<String> log) {
    this.etcd = etcd;
    this.docker = docker;
    this.conf = conf;
    this.nodeName = nodeName;
    this.timing = timing;
    this.clock = clock;
    this.log = log;
    this.prefix = keyPrefix(conf.cluster());
  }

  /** The etcd prefix of swarm {@code cluster}: {@code /basalt/swarm/CLUSTER/}. */
  private static String keyPrefix(String cluster) {
    return "/basalt/swarm/" + cluster + "/";
  }

  private String initKey() {
    return prefix + "init";
  }

  private String tokenKey(SwarmConf.Role role) {
    return prefix + "token/" + role.word();
  }

  private String managerAddrKey() {
    return prefix + "manager-addr";
  }

  private String labelsPrefix() {
    return prefix + "labels/";
  }

  /**
   * Runs once: labels when already in a swarm, else init or join.
   *
   * @throws WaitedTooLongException when the tokens did not appear in time
   * @throws IOException when docker or etcd fail (etcd's own exception types)
   * @throws InterruptedException when interrupted while waiting
   */
  public Outcome run() throws IOException, InterruptedException {
    Docker.SwarmInfo info = docker.info();
    if (info.state().equals("pending")) {
      log.accept("docker's swarm state is pending (a join under way); waiting for it to settle");
      info = settle(clock.instant().plus(timing.tokenWait()));
    }
    switch (info.state()) {
      case "active" -> {
        log.accept(
            "already in a swarm as "
                + (info.manager() ? "manager" : "worker")
                + " node "
                + info.nodeId());
        labels(info);
        return Outcome.ALREADY_IN_SWARM;
      }
      case "inactive" -> {
        return meet();
      }
      case "locked" ->
          throw new IOException(
              "docker's swarm state is locked (autolock): unlock it with docker swarm unlock");
      default ->
          throw new IOException(
              "docker's swarm state is "
                  + info.state()
                  + " (expected active or inactive); try again once docker has settled,"
                  + " or docker swarm leave --force");
    }
  }

  private Outcome meet() throws IOException, InterruptedException {
    Instant deadline = clock.instant().plus(timing.tokenWait());
    SwarmConf.Role role = conf.role();
    log.accept(
        "meeting swarm '"
            + conf.cluster()
            + "' through etcd as "
            + role.word()
            + " ("
            + prefix
            + ")");
    while (true) {
      Optional<KeyValue> token = etcd.get(tokenKey(role));
      Optional<KeyValue> addr = etcd.get(managerAddrKey());
      if (token.isPresent() && addr.isPresent()) {
        String remote = text(addr.get());
        log.accept(
            "joining swarm '" + conf.cluster() + "' as " + role.word() + " through " + remote);
        Docker.SwarmInfo info = join(text(token.get()), remote);
        log.accept("joined as node " + info.nodeId());
        labels(info);
        return Outcome.JOINED;
      }
      // A lease is granted only when init looks free: the transaction decides among the racers.
      if (role == SwarmConf.Role.MANAGER && etcd.get(initKey()).isEmpty() && tryInit()) {
        return Outcome.INITIALISED;
      }
      if (!clock.instant().isBefore(deadline)) {
        Optional<KeyValue> init = etcd.get(initKey());
        throw new WaitedTooLongException(
            "waited "
                + timing.tokenWait()
                + " for swarm '"
                + conf.cluster()
                + "' in etcd: "
                + tokenKey(role)
                + " and "
                + managerAddrKey()
                + " are not both there (the manager that initialises the swarm publishes them); "
                + initKey()
                + (init.isPresent()
                    ? " is held by " + text(init.get()) + ", still initialising"
                    : " is free: no manager has started initialising"));
      }
      Thread.sleep(timing.poll().toMillis());
    }
  }

  /**
   * Joins through {@code remote} and returns the engine's state once it is in the swarm. {@code
   * docker swarm join} gives up waiting after its own timeout while the engine goes on joining in
   * the background (state {@code pending}); a busy manager makes that common. So a failed join is
   * judged by the engine's state, not by the command: pending is waited for (at most {@link
   * Timing#tokenWait()}), active is a join, anything else fails with docker's message.
   */
  private Docker.SwarmInfo join(String token, String remote)
      throws IOException, InterruptedException {
    try {
      docker.join(token, conf.advertiseAddr(), remote);
      return docker.info();
    } catch (IOException failed) {
      Docker.SwarmInfo info;
      try {
        info = docker.info();
      } catch (IOException asking) {
        failed.addSuppressed(asking);
        throw failed;
      }
      if (info.state().equals("pending")) {
        log.accept(
            "docker swarm join returned before the join completed ("
                + failed.getMessage()
                + "); docker goes on in the background: waiting for it to settle");
        info = settle(clock.instant().plus(timing.tokenWait()));
      }
      if (info.state().equals("active")) {
        return info;
      }
      throw new IOException(
          "joining swarm '"
              + conf.cluster()
              + "' through "
              + remote
              + " failed: "
              + failed.getMessage()
              + "; docker's swarm state is now "
              + info.state()
              + (info.state().equals("error")
                  ? " (see docker info; when a manager's docker node ls lists this machine as"
                      + " Down, remove that entry there before docker swarm leave --force here)"
                  : ""),
          failed);
    }
  }

  /**
   * Asks docker every {@link Timing#poll()} until its swarm state is no longer {@code pending} or
   * {@code deadline} passed, and returns the last answer.
   */
  private Docker.SwarmInfo settle(Instant deadline) throws IOException, InterruptedException {
    while (true) {
      Docker.SwarmInfo info = docker.info();
      if (!info.state().equals("pending")) {
        log.accept("docker's swarm state settled: " + info.state());
        return info;
      }
      if (!clock.instant().isBefore(deadline)) {
        log.accept("docker's swarm state is still pending after " + timing.tokenWait());
        return info;
      }
      Thread.sleep(timing.poll().toMillis());
    }
  }

  /** Tries to win {@code init}; when won, initialises and publishes. Returns whether it won. */
  private boolean tryInit() throws IOException, InterruptedException {
    long lease = etcd.grantLease(timing.initLease());
    long rev =
        etcd.createIfAbsent(
            initKey(),
            nodeName.getBytes(StandardCharsets.UTF_8),
            lease,
            List.of(tokenKey(SwarmConf.Role.MANAGER)));
    if (rev == 0) {
      etcd.revokeLease(lease);
      return false;
    }
    log.accept("won " + initKey() + "; initialising the swarm");
    // Renews the lease every third of its TTL while this manager initialises (a daemon thread:
    // a process that dies stops renewing, and the key goes when the lease ends).
    Timer keeper = new Timer("swarm-init-lease", true);
    long period = Math.max(200, timing.initLease().toMillis() / 3);
    keeper.scheduleAtFixedRate(
        new TimerTask() {
          @Override
          public void run() {
            try {
              etcd.keepAlive(lease);
            } catch (IOException e) {
              log.accept("renewing the lease of " + initKey() + " failed: " + e.getMessage());
            }
          }
        },
        period,
        period);
    boolean initialised = false;
    boolean published = false;
    try {
      docker.init(conf.advertiseAddr());
      initialised = true;
      Map<String, byte[]> values = new LinkedHashMap<>();
      values.put(
          tokenKey(SwarmConf.Role.MANAGER),
          docker.joinToken(SwarmConf.Role.MANAGER).getBytes(StandardCharsets.UTF_8));
      values.put(
          tokenKey(SwarmConf.Role.WORKER),
          docker.joinToken(SwarmConf.Role.WORKER).getBytes(StandardCharsets.UTF_8));
      values.put(
          managerAddrKey(), remoteAddr(conf.advertiseAddr()).getBytes(StandardCharsets.UTF_8));
      if (!etcd.putAllIf(initKey(), rev, values)) {
        throw new IOException(
            initKey()
                + " was lost (its lease ended) before the join tokens were published; another"
                + " manager may have initialised the swarm");
      }
      published = true;
      log.accept(
          "initialised swarm '"
              + conf.cluster()
              + "'; published "
              + String.join(", ", values.keySet()));
    } finally {
      keeper.cancel();
      if (initialised && !published) {
        try {
          docker.leave();
          log.accept("left the swarm made here: its tokens were not published");
        } catch (IOException e) {
          log.accept("leaving the unpublished swarm failed: " + e.getMessage());
        }
      }
      try {
        etcd.revokeLease(lease);
      } catch (IOException e) {
        log.accept("revoking the lease of " + initKey() + " failed: " + e.getMessage());
      }
    }
    labels(docker.info());
    return true;
  }

  /**
   * A manager sets its own labels and those workers published; a worker cannot ({@code docker node
   * update} needs a manager), so it publishes them under {@code labels/NODE-ID}.
   */
  private void labels(Docker.SwarmInfo info) throws IOException {
    if (info.manager()) {
      if (!conf.labels().isEmpty()) {
        docker.addLabels(info.nodeId(), conf.labels());
        log.accept("labels of node " + info.nodeId() + ": " + conf.labels());
      }
      List<KeyValue> published;
      try {
        published = etcd.getPrefix(labelsPrefix());
      } catch (IOException e) {
        // This node is in the swarm already; the workers' labels wait for the next run.
        log.accept("labels published by workers not read: " + e.getMessage());
        return;
      }
      for (KeyValue kv : published) {
        String id = kv.key().substring(labelsPrefix().length());
        if (id.equals(info.nodeId())) {
          continue;
        }
        SortedMap<String, String> labels = parseLabels(text(kv));
        try {
          docker.addLabels(id, labels);
          log.accept("labels of node " + id + " (published by it): " + labels);
        } catch (IOException e) {
          log.accept("labels of node " + id + " not applied: " + e.getMessage());
        }
      }
      return;
    }
    if (conf.labels().isEmpty()) {
      return;
    }
    String key = labelsPrefix() + info.nodeId();
    byte[] want = renderLabels(conf.labels()).getBytes(StandardCharsets.UTF_8);
    Optional<KeyValue> have = etcd.get(key);
    if (have.isEmpty() || !Arrays.equals(have.get().value(), want)) {
      etcd.put(key, want);
      log.accept(
          "published labels "
              + conf.labels()
              + " at "
              + key
              + " for the managers to apply (their next basaltctl swarm join)");
    }
  }

  static String renderLabels(SortedMap<String, String> labels) {
    StringBuilder b = new StringBuilder();
    labels.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
    return b.toString();
  }

  static SortedMap<String, String> parseLabels(String text) {
    SortedMap<String, String> out = new TreeMap<>();
    for (String line : text.split("\n")) {
      if (SwarmConf.problem(SwarmConf.LABEL, line).isEmpty()) {
        int eq = line.indexOf('=');
        out.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return out;
  }

  /** {@code ADDR:2377}, IPv6 addresses in brackets. */
  static String remoteAddr(String advertiseAddr) {
    return (advertiseAddr.contains(":") ? "[" + advertiseAddr + "]" : advertiseAddr)
        + ":"
        + MANAGER_PORT;
  }

  private static String text(KeyValue kv) {
    return new String(kv.value(), StandardCharsets.UTF_8).strip();
  }
}
