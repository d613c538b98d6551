package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How {@link ClusterIT} reads one roll sample: lock holders and drained nodes. */
class ClusterSamplesTest {

  private static final String SAMPLE =
      """
      http://10.10.0.1:2379 is healthy: successfully committed proposal: took = 12ms
      http://10.10.0.2:2379 is unhealthy: failed to commit proposal: context deadline exceeded
      {"semaphore":0,"max":1,"holders":["3c4ea50f"]}
      node: node-1 Ready Active
      node: node-2 Down Drain
      node: node-3 Ready Drain
      """;

  @Test
  void drainedNodesAreThoseAManagerListsAsDrain() throws Exception {
    assertEquals(Set.of("node-2", "node-3"), ClusterIT.draining(SAMPLE));
    assertEquals(List.of("3c4ea50f"), ClusterIT.holders(SAMPLE));
  }

  @Test
  void aWorkersRefusalShowsNoDrainedNode() {
    assertEquals(
        Set.of(),
        ClusterIT.draining(
            "Error response from daemon: This node is not a swarm manager. Worker nodes can't be"
                + " used to view or modify cluster state.\n"));
  }
}
