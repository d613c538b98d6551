package io.basalt.update.agent;

import io.basalt.update.strategy.HostCommands;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's boot health check, run before {@code boot-complete.target} (so before
 * systemd-bless-boot marks the entry good): the update configuration must load and every unit in
 * {@code HEALTH_UNITS} must be active. (A missing trusted root is the agent's problem, reported in
 * its status, not a reason to fall back.) Stateless; thread-safe.
 */
public final class HealthCheck {

  private HealthCheck() {}

  /** Whether a problem is a unit that has failed (waiting longer will not help). */
  public static boolean failedUnit(String problem) {
    return problem.endsWith(" is failed");
  }

  /**
   * Runs the checks.
   *
   * @return the problems found, empty when healthy
   */
  public static List<String> run(AgentPaths paths, HostCommands host) {
    List<String> problems = new ArrayList<>();
    UpdateConfig c = null;
    try {
      c = UpdateConfig.load(paths.defaultsConf(), paths.overridesConf());
    } catch (IOException e) {
      problems.add("update configuration: " + e.getMessage());
    }
    if (c != null) {
      for (String unit : c.healthUnits()) {
        try {
          // ActiveState: exits 0 whatever the state (is-active exits 3 and puts the state on
          // stdout)
          String state =
              host.run(List.of("systemctl", "show", "-p", "ActiveState", "--value", unit), null)
                  .strip();
          if (!state.equals("active")) {
            problems.add(unit + " is " + (state.isEmpty() ? "unknown" : state));
          }
        } catch (IOException e) {
          problems.add(unit + ": cannot ask systemd (" + e.getMessage() + ")");
        }
      }
    }
    return problems;
  }
}
