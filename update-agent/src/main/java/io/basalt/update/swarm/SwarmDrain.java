package io.basalt.update.swarm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.host.AtomicFiles;
import io.basalt.update.strategy.ClusterGuard;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Keeps the Docker Swarm serving across this machine's OS reboot (update.conf {@code SWARM_DRAIN},
 * {@code SWARM_DRAIN_TIMEOUT}). With the reboot lock held: {@code docker node update --availability
 * drain SELF}, after recording in {@link #FILE} (state directory, temp file and atomic move) that
 * the agent drained the node, then the reboot waits, asked again every few seconds, until no swarm
 * task container runs on this engine any more or the timeout is over (then it reboots anyway and
 * says so). After the blessed boot and before the lock is given back, a node with that record is
 * set {@code active} again (retried while docker or the swarm are not up yet, for at most {@link
 * #REACTIVATE_BOUND}) and the record deleted. A node drained by someone else (no record) is left as
 * it is. Only a manager can change a node's availability: on a worker the drain is skipped with one
 * log line. As a manager it also refuses the lock while its reboot would cost the swarm's managers
 * their raft quorum. Not thread-safe (one agent loop).
 */
public final class SwarmDrain implements ClusterGuard {

  /** The record of a drain the agent made, in the agent's state directory. */
  public static final String FILE = "swarm-drained.json";

  /** How long the node is tried to be set active again after the blessed boot. */
  public static final Duration REACTIVATE_BOUND = Duration.ofMinutes(10);

  /** update.conf {@code SWARM_DRAIN}. */
  public enum Mode {
    /** Drain when the engine is in a swarm. */
    AUTO,
    /** Drain; a docker that cannot be asked holds the reboot back. */
    YES,
    /** Never drain. */
    NO;

    /**
     * Parses {@code auto}, {@code yes} or {@code no}.
     *
     * @throws IllegalArgumentException naming the value and what is expected
     */
    public static Mode parse(String s) {
      return switch (s == null ? "" : s.strip().toLowerCase(Locale.ROOT)) {
        case "auto" -> AUTO;
        case "yes" -> YES;
        case "no" -> NO;
        default ->
            throw new IllegalArgumentException("expected auto, yes or no, found \"" + s + "\"");
      };
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Docker docker;
  private final Path file;
  private final Mode mode;
  private final Duration timeout;
  private final Clock clock;
  private final Consumer<String> log;
  private final Set<String> saidOnce = new HashSet<>();

  /** When this agent drained the node for the reboot it prepares now; null when it has not. */
  private Instant drainedAt;

  private Instant reactivateFrom;

  /**
   * @param docker this machine's engine
   * @param stateDir the agent's state directory ({@code /var/lib/basalt})
   * @param mode update.conf SWARM_DRAIN
   * @param timeout update.conf SWARM_DRAIN_TIMEOUT: longest wait for the tasks to leave
   */
  public SwarmDrain(
      Docker docker,
      Path stateDir,
      Mode mode,
      Duration timeout,
      Clock clock,
      Consumer<String> log) {
    this.docker = Objects.requireNonNull(docker);
    this.file = stateDir.resolve(FILE);
    this.mode = mode;
    this.timeout = timeout;
    this.clock = clock;
    this.log = log;
  }

  /**
   * The agent's drain record.
   *
   * @param nodeId the node drained
   * @param since when
   */
  public record Drained(String nodeId, Instant since) {}

  /**
   * The record of a drain made by the agent, if any.
   *
   * @throws IOException if the file exists but cannot be read
   */
  public static Optional<Drained> read(Path stateDir) throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(stateDir.resolve(FILE));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    try {
      JsonNode n = JSON.readTree(bytes);
      String node = n.path("node").asText("");
      if (node.isEmpty()) {
        throw new IOException("no \"node\"");
      }
      return Optional.of(new Drained(node, Instant.parse(n.path("since").asText())));
    } catch (IOException | DateTimeParseException e) {
      throw new IOException(
          stateDir.resolve(FILE) + ": not a drain record (" + e.getMessage() + ")", e);
    }
  }

  private Optional<Drained> record() throws IOException {
    return read(file.getParent());
  }

  /** This engine's swarm state when it is a node to drain, else empty (said once why not). */
  private Optional<Docker.SwarmInfo> drainable() throws IOException {
    if (mode == Mode.NO) {
      return Optional.empty();
    }
    Docker.SwarmInfo info;
    try {
      info = docker.info();
    } catch (IOException e) {
      if (mode == Mode.YES) {
        throw new IOException("SWARM_DRAIN=yes: cannot ask docker: " + e.getMessage(), e);
      }
      once("swarm drain: docker cannot be asked (" + e.getMessage() + "); not draining");
      return Optional.empty();
    }
    if (!"active".equals(info.state())) {
      once("swarm drain: the engine is in no swarm (" + info.state() + "); nothing to drain");
      return Optional.empty();
    }
    if (!info.manager()) {
      once(
          "swarm drain: node "
              + info.nodeId()
              + " is a worker and only a manager can drain a node; rebooting without a drain"
              + " (its tasks stop with the reboot and the managers reschedule them)");
      return Optional.empty();
    }
    return Optional.of(info);
  }

  /**
   * As a manager, refuses the lock while this node's reboot would leave its swarm's managers
   * without their raft quorum ({@code n/2+1} of {@code n} managers reachable); as for etcd, a swarm
   * of one or two managers cannot keep its quorum through any manager's reboot, so there only the
   * quorum now counts.
   */
  @Override
  public Optional<String> beforeLock() throws IOException {
    Optional<Docker.SwarmInfo> info = drainable();
    if (info.isEmpty()) {
      return Optional.empty();
    }
    List<Docker.Node> managers =
        docker.nodes().stream().filter(n -> !n.managerStatus().isEmpty()).toList();
    int n = managers.size();
    if (n == 0) {
      return Optional.empty();
    }
    int quorum = n / 2 + 1;
    List<Docker.Node> reachable =
        managers.stream()
            .filter(
                m -> m.managerStatus().equals("Leader") || m.managerStatus().equals("Reachable"))
            .toList();
    String down =
        String.join(
            ", ",
            managers.stream()
                .filter(m -> !reachable.contains(m))
                .map(m -> m.hostname() + " " + m.managerStatus().toLowerCase(Locale.ROOT))
                .toList());
    String counts =
        "swarm: "
            + reachable.size()
            + " of "
            + n
            + " managers reachable"
            + (down.isEmpty() ? "" : " (" + down + ")");
    if (reachable.size() < quorum) {
      return Optional.of(counts + "; quorum is " + quorum + ": the swarm has no quorum now");
    }
    boolean selfReachable = reachable.stream().anyMatch(Docker.Node::self);
    if (selfReachable && n >= 3 && reachable.size() - 1 < quorum) {
      String me = reachable.stream().filter(Docker.Node::self).findFirst().orElseThrow().hostname();
      return Optional.of(
          counts
              + "; rebooting "
              + me
              + " would leave "
              + (reachable.size() - 1)
              + ", quorum is "
              + quorum);
    }
    return Optional.empty();
  }

  @Override
  public Optional<String> beforeReboot() throws IOException {
    Instant now = clock.instant();
    if (drainedAt == null) {
      Optional<Docker.SwarmInfo> info = drainable();
      if (info.isEmpty()) {
        return Optional.empty();
      }
      String id = info.get().nodeId();
      Optional<Drained> mine = record();
      if (mine.isEmpty()) {
        Optional<Docker.Node> self = docker.nodes().stream().filter(Docker.Node::self).findFirst();
        String availability =
            self.map(s -> s.availability().toLowerCase(Locale.ROOT)).orElse("active");
        if (!availability.equals("active")) {
          once(
              "swarm drain: node "
                  + id
                  + " is already "
                  + availability
                  + " (not by this agent); leaving it so, and not setting it active after the"
                  + " reboot");
          return Optional.empty();
        }
      }
      // The record first: a crash between the two leaves a record of a node still active (set
      // active again: harmless), never a node drained with no record (it would stay drained).
      write(new Drained(id, now));
      docker.setAvailability(id, "drain");
      drainedAt = now;
      log.accept(
          "swarm: drained node "
              + id
              + " for the reboot; waiting up to "
              + timeout
              + " for its tasks to move");
    }
    List<String> tasks = docker.runningTasks();
    Duration waited = Duration.between(drainedAt, now);
    if (tasks.isEmpty()) {
      log.accept("swarm: no task of this node left running after " + waited);
      return Optional.empty();
    }
    if (waited.compareTo(timeout) >= 0) {
      log.accept(
          "swarm: "
              + tasks.size()
              + " task(s) still running after "
              + waited
              + " (SWARM_DRAIN_TIMEOUT "
              + timeout
              + "): "
              + String.join(", ", tasks)
              + "; rebooting anyway");
      return Optional.empty();
    }
    return Optional.of(
        "swarm: drained for reboot since "
            + drainedAt
            + "; "
            + tasks.size()
            + " task(s) still running ("
            + String.join(", ", tasks)
            + "), waiting until "
            + drainedAt.plus(timeout));
  }

  /** The reboot is off for now: the node the agent drained serves again. */
  @Override
  public void standDown() throws IOException {
    Optional<Drained> mine = record();
    drainedAt = null;
    if (mine.isEmpty()) {
      return;
    }
    docker.setAvailability(mine.get().nodeId(), "active");
    delete();
    log.accept(
        "swarm: set node "
            + mine.get().nodeId()
            + " active again (reboot called off; drained since "
            + mine.get().since()
            + ")");
  }

  @Override
  public boolean afterBoot() {
    Optional<Drained> mine;
    try {
      mine = record();
    } catch (IOException e) {
      log.accept("swarm: " + e.getMessage() + "; not touching the node's availability");
      return true;
    }
    if (mine.isEmpty()) {
      return true;
    }
    Instant now = clock.instant();
    if (reactivateFrom == null) {
      reactivateFrom = now;
    }
    String id = mine.get().nodeId();
    try {
      Docker.SwarmInfo info = docker.info();
      if (!"active".equals(info.state())) {
        throw new IOException("the engine's swarm state is " + info.state());
      }
      docker.setAvailability(id, "active");
      delete();
      reactivateFrom = null;
      log.accept(
          "swarm: set node "
              + id
              + " active again (drained for the reboot since "
              + mine.get().since()
              + ")");
      return true;
    } catch (IOException e) {
      Duration tried = Duration.between(reactivateFrom, now);
      if (tried.compareTo(REACTIVATE_BOUND) >= 0) {
        log.accept(
            "swarm: could not set node "
                + id
                + " active again within "
                + REACTIVATE_BOUND
                + " ("
                + e.getMessage()
                + "); releasing the reboot lock anyway. The node stays drained: run 'docker node"
                + " update --availability active "
                + id
                + "' on a manager ("
                + file
                + " is kept; the agent tries again when it restarts)");
        reactivateFrom = null;
        return true;
      }
      log.accept(
          "swarm: setting node " + id + " active again: " + e.getMessage() + " (will retry)");
      return false;
    }
  }

  private void write(Drained d) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("node", d.nodeId());
    n.put("since", d.since().toString());
    AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
  }

  private void delete() throws IOException {
    if (Files.deleteIfExists(file)) {
      AtomicFiles.fsyncDirectory(file.toAbsolutePath().getParent());
    }
  }

  private void once(String line) {
    if (saidOnce.add(line)) {
      log.accept(line);
    }
  }
}
