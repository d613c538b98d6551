package io.basalt.update.cli;

import io.basalt.update.agent.AgentPaths;
import io.basalt.update.agent.Durations;
import io.basalt.update.agent.HealthCheck;
import io.basalt.update.strategy.HostCommands;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code basaltctl health}: the boot health check run by {@code basalt-update-health.service}
 * before boot-complete.target; exit 0 healthy, 1 not. Not thread-safe.
 */
@Command(
    name = "health",
    mixinStandardHelpOptions = true,
    description =
        "Check this boot is healthy (update config loads, HEALTH_UNITS active); run before boot-complete.target.")
final class HealthCommand implements Callable<Integer> {

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--root",
      defaultValue = "/",
      hidden = true,
      description = "File system root (tests).")
  Path root;

  @Option(
      names = "--wait",
      defaultValue = "0s",
      description = "Retry every 5 s for up to this long (e.g. 2m).")
  String wait;

  HostCommands host = HostCommands.system();

  @Override
  public Integer call() throws InterruptedException {
    long deadline = System.nanoTime() + Durations.parse(wait, "--wait").toNanos();
    List<String> problems = HealthCheck.run(new AgentPaths(root), host);
    // A unit that has failed (not just still starting) will not recover by waiting.
    while (!problems.isEmpty()
        && System.nanoTime() < deadline
        && problems.stream().noneMatch(HealthCheck::failedUnit)) {
      Thread.sleep(5_000);
      problems = HealthCheck.run(new AgentPaths(root), host);
    }
    if (problems.isEmpty()) {
      spec.commandLine().getOut().println("healthy");
      spec.commandLine().getOut().flush();
      return 0;
    }
    for (String p : problems) {
      spec.commandLine().getErr().println("basaltctl health: " + p);
    }
    return 1;
  }
}
