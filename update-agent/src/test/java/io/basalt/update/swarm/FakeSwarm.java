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
 * only through the manager address, node labels, availability and the node list only from a
 * manager. Each node's running task containers are what the test puts in {@link Node#tasks}.
 * Thread-safe.
 */
final class FakeSwarm {

  private String managerAddr;
  private int swarms;
  private final Map<String, SortedMap<String, String>> labels = new TreeMap<>();
  private final Map<String, String> availability = new TreeMap<>();
  private final Map<String, Node> members = new java.util.LinkedHashMap<>();

  static final String MANAGER_TOKEN = "SWMTKN-1-fake-manager-secret";
  static final String WORKER_TOKEN = "SWMTKN-1-fake-worker-secret";

  synchronized int swarms() {
    return swarms;
  }

  synchronized SortedMap<String, String> labels(String nodeId) {
    return labels.getOrDefault(nodeId, new TreeMap<>());
  }

  synchronized String availability(String nodeId) {
    return availability.getOrDefault(nodeId, "active");
  }

  /** Sets a node's availability as an operator would from another manager. */
  synchronized void operatorSets(String nodeId, String a) {
    availability.put(nodeId, a);
  }

  Node node(String id) {
    return new Node(id);
  }

  /** A node already in the swarm (as manager or worker), its engine active. */
  Node member(String id, boolean manager) {
    Node n = new Node(id);
    synchronized (this) {
      swarms = Math.max(swarms, 1);
      members.put(id, n);
    }
    synchronized (n) {
      n.state = "active";
      n.manager = manager;
    }
    return n;
  }

  /** One machine's docker engine. */
  final class Node implements Docker {
    final String id;
    final List<String> calls = new ArrayList<>();
    String state = "inactive";
    boolean manager;
    boolean reachable = true;
    final List<String> tasks = new ArrayList<>();
    IOException failure;

    /**
     * When set, the next join returns docker's timeout while the engine goes on in the background:
     * state {@code pending}, then these states, one per {@link #info()} call (the last one stays;
     * {@code active} joins with the token's role).
     */
    List<String> background;

    Node(String id) {
      this.id = id;
    }

    synchronized List<String> calls() {
      return List.copyOf(calls);
    }

    synchronized List<String> changes() {
      return calls.stream().filter(c -> !c.equals("info")).toList();
    }

    synchronized void setTasks(String... names) {
      tasks.clear();
      tasks.addAll(List.of(names));
    }

    /** Makes every later call fail with {@code e} (docker not ready), or none when null. */
    synchronized void failWith(IOException e) {
      failure = e;
    }

    private void failIfBroken() throws IOException {
      if (failure != null) {
        throw failure;
      }
    }

    @Override
    public synchronized SwarmInfo info() throws IOException {
      calls.add("info");
      failIfBroken();
      if (state.equals("pending") && background != null && !background.isEmpty()) {
        state = background.remove(0);
      }
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
        manager = shown.equals("<manager-token>");
        if (background != null) {
          state = "pending";
          throw new IOException(
              "Timeout was reached before node joined. The attempt to join the swarm will"
                  + " continue in the background. Use the \"docker info\" command to see the"
                  + " current swarm status of your node.");
        }
        state = "active";
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

    @Override
    public void setAvailability(String nodeId, String a) throws IOException {
      synchronized (this) {
        calls.add("node update --availability " + a + " " + nodeId);
        failIfBroken();
        if (!manager) {
          throw new IOException("This node is not a swarm manager.");
        }
      }
      synchronized (FakeSwarm.this) {
        availability.put(nodeId, a);
      }
    }

    @Override
    public List<Docker.Node> nodes() throws IOException {
      synchronized (this) {
        calls.add("node ls");
        failIfBroken();
        if (!manager) {
          throw new IOException("This node is not a swarm manager.");
        }
      }
      List<Docker.Node> out = new ArrayList<>();
      synchronized (FakeSwarm.this) {
        boolean leader = true;
        for (FakeSwarm.Node n : members.values()) {
          String ms = "";
          if (n.manager) {
            ms = !n.reachable ? "Unreachable" : leader ? "Leader" : "Reachable";
            leader = leader && !n.reachable;
          }
          out.add(
              new Docker.Node(
                  n.id,
                  "host-" + n.id,
                  n == this,
                  n.reachable ? "Ready" : "Down",
                  capital(availability.getOrDefault(n.id, "active")),
                  ms));
        }
      }
      return out;
    }

    @Override
    public synchronized List<String> runningTasks() throws IOException {
      calls.add("ps tasks");
      failIfBroken();
      return List.copyOf(tasks);
    }
  }

  private static String capital(String s) {
    return s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1);
  }
}
