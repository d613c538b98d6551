package io.basalt.update.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.basalt.update.status.StatusProtocol;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code basaltctl status}: the update agent's state, read from its control socket. Not
 * thread-safe.
 */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    description =
        "Show the running version and slot, fallback, channel, update state, progress, last check and error.")
final class StatusCommand implements Callable<Integer> {

  /** Exit code when the agent is not running. */
  static final int NOT_RUNNING = 3;

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Option(
      names = "--socket",
      description = "Agent control socket (default ${DEFAULT-VALUE}).",
      defaultValue = StatusProtocol.SOCKET)
  Path socket;

  @Override
  public Integer call() {
    try {
      StatusProtocol.Reply r = StatusProtocol.call(socket, "status");
      if (json) {
        spec.commandLine()
            .getOut()
            .println(
                new ObjectMapper()
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(r.status().toMap()));
      } else {
        spec.commandLine().getOut().print(r.status().render());
      }
      spec.commandLine().getOut().flush();
      return 0;
    } catch (StatusProtocol.NotRunningException e) {
      spec.commandLine().getErr().println("basaltctl status: " + e.getMessage());
      return NOT_RUNNING;
    } catch (IOException e) {
      spec.commandLine().getErr().println("basaltctl status: " + e.getMessage());
      return 1;
    }
  }
}
