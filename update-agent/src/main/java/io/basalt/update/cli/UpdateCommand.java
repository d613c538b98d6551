package io.basalt.update.cli;

import io.basalt.update.status.StatusProtocol;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code basaltctl update check|apply}: asks the running agent over its control socket. Not
 * thread-safe.
 */
@Command(
    name = "update",
    mixinStandardHelpOptions = true,
    description = "Check for or apply an update through the running agent.",
    subcommands = {UpdateCommand.Check.class, UpdateCommand.Apply.class})
final class UpdateCommand implements Runnable {

  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand: check or apply");
  }

  /** How long {@code update check} waits (it refreshes the metadata before answering). */
  static final Duration CHECK_TIMEOUT = Duration.ofMinutes(5);

  /** How long {@code update apply} waits (the agent answers once the install has started). */
  static final Duration APPLY_TIMEOUT = Duration.ofSeconds(30);

  static int send(CommandLine cl, Path socket, String request, String what, Duration timeout) {
    try {
      StatusProtocol.Reply r = StatusProtocol.call(socket, request, timeout);
      (r.ok() ? cl.getOut() : cl.getErr())
          .println((r.ok() ? "" : "basaltctl " + what + ": ") + r.message());
      cl.getOut().flush();
      return r.ok() ? 0 : StatusCommand.refusedCode(r);
    } catch (StatusProtocol.NotRunningException e) {
      cl.getErr().println("basaltctl " + what + ": " + e.getMessage());
      return StatusCommand.NOT_RUNNING;
    } catch (StatusProtocol.PermissionDeniedException e) {
      cl.getErr().println("basaltctl " + what + ": " + e.getMessage());
      return StatusCommand.NOT_PERMITTED;
    } catch (IOException e) {
      cl.getErr().println("basaltctl " + what + ": " + e.getMessage());
      return 1;
    }
  }

  /** {@code update check}. */
  @Command(
      name = "check",
      mixinStandardHelpOptions = true,
      description = "Refresh the signed metadata and say what is offered.")
  static final class Check implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--socket",
        defaultValue = StatusProtocol.SOCKET,
        description = "Agent control socket.")
    Path socket;

    @Override
    public Integer call() {
      return send(spec.commandLine(), socket, "check", "update check", CHECK_TIMEOUT);
    }
  }

  /** {@code update apply}. */
  @Command(
      name = "apply",
      description = "Install the newest offered version (or --version) into the inactive slot now.")
  static final class Apply implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    // --version is this command's own option, so the standard help mixin (-h, --help, -V,
    // --version) does not fit: help alone.
    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "Show this help message and exit.")
    boolean help;

    @Option(
        names = "--socket",
        defaultValue = StatusProtocol.SOCKET,
        description = "Agent control socket.")
    Path socket;

    @Option(names = "--version", description = "Install this version.")
    String version;

    @Option(
        names = "--force",
        description = "With --version: allow a downgrade or a version recorded as failed.")
    boolean force;

    @Override
    public Integer call() {
      if (force && version == null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--force needs --version");
      }
      if (version != null && !version.matches("[0-9A-Za-z.+~_-]+")) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "--version: not a version: " + version);
      }
      return send(
          spec.commandLine(),
          socket,
          "apply " + (version == null ? "-" : version) + (force ? " force" : ""),
          "update apply",
          APPLY_TIMEOUT);
    }
  }
}
