package io.basalt.update.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.basalt.update.lock.EtcdHealth;
import io.basalt.update.status.StatusProtocol;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
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
        "Show the running version and slot, fallback, channel, update state, progress, last check"
            + " and error, and etcd's health when this machine runs a member or ETCD_ENDPOINTS is"
            + " set.")
final class StatusCommand implements Callable<Integer> {

  /** Exit code when the agent is not running. */
  static final int NOT_RUNNING = 3;

  /** Exit code when this user may not use the request (needs root or a group). */
  static final int NOT_PERMITTED = 4;

  /** How long {@code status} waits for the agent (connect and the whole exchange). */
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  /** The exit code for a refused reply. */
  static int refusedCode(StatusProtocol.Reply r) {
    return r.message() != null && r.message().startsWith("permission denied") ? NOT_PERMITTED : 1;
  }

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Option(
      names = "--socket",
      description = "Agent control socket (default ${DEFAULT-VALUE}).",
      defaultValue = StatusProtocol.SOCKET)
  Path socket;

  @Option(
      names = "--root",
      hidden = true,
      description = "Read update.conf and the etcd member's drop-in under DIR (tests).")
  Path root = Path.of("/");

  @Override
  public Integer call() {
    try {
      StatusProtocol.Reply r = StatusProtocol.call(socket, "status", TIMEOUT);
      if (!r.ok() || r.status() == null) {
        spec.commandLine().getErr().println("basaltctl status: " + r.message());
        return refusedCode(r);
      }
      EtcdHealth.Report etcd = EtcdStatus.probe(root, EtcdStatus.TIMEOUT);
      if (json) {
        Map<String, Object> m = new LinkedHashMap<>(r.status().toMap());
        if (etcd != null) {
          m.put("etcd", etcd.toMap());
        }
        spec.commandLine()
            .getOut()
            .println(
                new ObjectMapper()
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(m));
      } else {
        spec.commandLine().getOut().print(r.status().render());
        if (etcd != null) {
          spec.commandLine()
              .getOut()
              .print(String.format(Locale.ROOT, "%-11s %s%n", "etcd:", etcd.render()));
        }
      }
      spec.commandLine().getOut().flush();
      return 0;
    } catch (StatusProtocol.NotRunningException e) {
      spec.commandLine().getErr().println("basaltctl status: " + e.getMessage());
      return NOT_RUNNING;
    } catch (StatusProtocol.PermissionDeniedException e) {
      spec.commandLine().getErr().println("basaltctl status: " + e.getMessage());
      return NOT_PERMITTED;
    } catch (IOException e) {
      spec.commandLine().getErr().println("basaltctl status: " + e.getMessage());
      return 1;
    }
  }
}
