package io.basalt.update.swarm;

import io.basalt.host.SwarmConf;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A Docker Swarm in memory for several {@link Node}s, each a {@link Docker} that records its calls
 * the way the docker client would be called (tokens shown as {@code <manager-token>} or {@code
 * <worker-token>}). Enforces what the real engine does: one swarm, tokens decide the role, join
 * only through the manager address, node labels only from a manager. Thread-safe.
 */
final class FakeSwarm {

  private String managerAddr;
  private int swarms;
  private final Map<String, SortedMap<String, String>> labels = new TreeMap<>();

  static final String MANAGER_TOKEN = "SWMTKN-1-fake-manager-secret";
  static final String WORKER_TOKEN = "SWMTKN-1-fake-worker-secret";

  synchronized int swarms() {
    return swarms;
  }

  synchronized SortedMap<String, String> labels(String nodeId) {
    return labels.getOrDefault(nodeId, new TreeMap<>());
  }

  Node node(String id) {
    return new Node(id);
  }

  /** One machine's docker engine. */
  final class Node implements Docker {
    final String id;
    final List<String> calls = new ArrayList<>();
    String state = "inactive";
    boolean manager;

    Node(String id) {
      this.id = id;
    }

    synchronized List<String> calls() {
      return List.copyOf(calls);
    }

    synchronized List<String> changes() {
      return calls.stream().filter(c -> !c.equals("info")).toList();
    }

    @Override
    public synchronized SwarmInfo info() {
      calls.add("info");
      return new SwarmInfo(state, state.equals("active") ? id : "", manager);
    }

    @Override
    public void init(String advertiseAddr) throws IOException {
      synchronized (this) {
        calls.add("swarm init --advertise-addr " + advertiseAddr);
      }
      synchronized (FakeSwarm.this) {
        if (managerAddr != null) {
          swarms++; // a second swarm: what the etcd meeting must prevent
        } else {
          swarms = 1;
        }
        managerAddr = advertiseAddr + ":2377";
      }
      synchronized (this) {
        state = "active";
        manager = true;
      }
    }

    @Override
    public synchronized String joinToken(SwarmConf.Role role) throws IOException {
      calls.add("swarm join-token -q " + role.word());
      if (!manager) {
        throw new IOException("This node is not a swarm manager.");
      }
      return role == SwarmConf.Role.MANAGER ? MANAGER_TOKEN : WORKER_TOKEN;
    }

    @Override
    public void join(String token, String advertiseAddr, String remoteAddr) throws IOException {
      String shown =
          token.equals(MANAGER_TOKEN)
              ? "<manager-token>"
              : token.equals(WORKER_TOKEN) ? "<worker-token>" : "<bad-token>";
      synchronized (this) {
        calls.add(
            "swarm join --token "
                + shown
                + " --advertise-addr "
                + advertiseAddr
                + " "
                + remoteAddr);
      }
      synchronized (FakeSwarm.this) {
        if (!remoteAddr.equals(managerAddr)) {
          throw new IOException("could not connect to " + remoteAddr);
        }
      }
      if (shown.equals("<bad-token>")) {
        throw new IOException("invalid join token");
      }
      synchronized (this) {
        state = "active";
        manager = shown.equals("<manager-token>");
      }
    }

    @Override
    public synchronized void leave() {
      calls.add("swarm leave --force");
      state = "inactive";
      manager = false;
    }

    @Override
    public void addLabels(String nodeId, SortedMap<String, String> add) throws IOException {
      synchronized (this) {
        calls.add("node update " + add + " " + nodeId);
        if (!manager) {
          throw new IOException("This node is not a swarm manager.");
        }
      }
      synchronized (FakeSwarm.this) {
        labels.computeIfAbsent(nodeId, k -> new TreeMap<>()).putAll(add);
      }
    }
  }
}
