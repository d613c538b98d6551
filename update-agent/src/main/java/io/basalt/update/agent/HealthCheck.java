package io.basalt.update.agent;

import io.basalt.update.strategy.HostCommands;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's boot health check, run before {@code boot-complete.target} (so before
 * systemd-bless-boot marks the entry good): the update configuration must load, the trusted TUF
 * root must be present, and every unit in {@code HEALTH_UNITS} must be active. Stateless;
 * thread-safe.
 */
public final class HealthCheck {

  private HealthCheck() {}

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
    if (!Files.isRegularFile(paths.shippedRoot())) {
      problems.add(paths.shippedRoot() + ": trusted TUF root missing");
    }
    if (c != null) {
      for (String unit : c.healthUnits()) {
        try {
          String state = host.run(List.of("systemctl", "is-active", unit), null).strip();
          if (!state.equals("active")) {
            problems.add(unit + " is " + state);
          }
        } catch (IOException e) {
          // systemctl is-active exits non-zero for anything but active; the state is in the message
          problems.add(unit + " is not active (" + e.getMessage() + ")");
        }
      }
    }
    return problems;
  }
}
