package io.basalt.update.swarm;

import io.basalt.host.SwarmConf;
import java.io.IOException;
import java.util.List;
import java.util.SortedMap;

/**
 * The few Docker Engine commands a node's swarm join and the agent's drain around a reboot need, so
 * that tests can record them. Join tokens pass through {@link #joinToken} and {@link #join} only;
 * implementations never log them. Implementations say whether they are thread-safe; {@link
 * SwarmJoin} calls from one thread.
 */
public interface Docker {

  /**
   * This engine's swarm state ({@code docker info}).
   *
   * @throws IOException when docker cannot be asked
   */
  SwarmInfo info() throws IOException;

  /**
   * Initialises a new swarm with this node as its first manager ({@code docker swarm init
   * --advertise-addr ADDR}).
   *
   * @throws IOException when docker refuses
   */
  void init(String advertiseAddr) throws IOException;

  /**
   * The join token for {@code role} of the swarm this manager is in ({@code docker swarm join-token
   * -q ROLE}).
   *
   * @throws IOException when docker refuses
   */
  String joinToken(SwarmConf.Role role) throws IOException;

  /**
   * Joins the swarm that {@code remoteAddr} ({@code host:port}) manages, with {@code token}
   * deciding the role ({@code docker swarm join --token T --advertise-addr ADDR REMOTE}).
   *
   * @throws IOException when docker refuses (the message never holds the token)
   */
  void join(String token, String advertiseAddr, String remoteAddr) throws IOException;

  /**
   * Leaves the swarm, also as its last manager ({@code docker swarm leave --force}).
   *
   * @throws IOException when docker refuses
   */
  void leave() throws IOException;

  /**
   * Sets labels on a node of the swarm ({@code docker node update --label-add K=V ... ID}); needs a
   * manager.
   *
   * @throws IOException when docker refuses
   */
  void addLabels(String nodeId, SortedMap<String, String> labels) throws IOException;

  /**
   * Sets a node's availability ({@code docker node update --availability active|pause|drain ID});
   * needs a manager.
   *
   * @throws IOException when docker refuses
   */
  void setAvailability(String nodeId, String availability) throws IOException;

  /**
   * The swarm's nodes as a manager sees them ({@code docker node ls}); needs a manager.
   *
   * @throws IOException when docker refuses
   */
  List<Node> nodes() throws IOException;

  /**
   * The names of the swarm task containers running on this engine ({@code docker ps --filter
   * label=com.docker.swarm.task.id}): what this machine still runs for the swarm, in the engine's
   * own view.
   *
   * @throws IOException when docker cannot be asked
   */
  List<String> runningTasks() throws IOException;

  /**
   * One line of {@code docker node ls}.
   *
   * @param id node id
   * @param hostname its host name
   * @param self whether it is the node asked
   * @param status {@code Ready}, {@code Down}, ...
   * @param availability {@code Active}, {@code Pause} or {@code Drain}
   * @param managerStatus {@code Leader}, {@code Reachable}, {@code Unreachable}, or empty for a
   *     worker
   */
  record Node(
      String id,
      String hostname,
      boolean self,
      String status,
      String availability,
      String managerStatus) {}

  /**
   * The part of {@code docker info} a join needs.
   *
   * @param state {@code LocalNodeState}: inactive, pending, active, error or locked
   * @param nodeId this node's id in the swarm, empty when in none
   * @param manager whether this node is a manager ({@code ControlAvailable})
   */
  record SwarmInfo(String state, String nodeId, boolean manager) {}
}
