package io.basalt.update.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The host CLI {@code basaltctl}: status, updates, reboot locks. Also usable from a workstation
 * against remote endpoints. Not thread-safe; one instance per invocation.
 */
@Command(
    name = "basaltctl",
    mixinStandardHelpOptions = true,
    versionProvider = Basaltctl.Version.class,
    description =
        "Inspect and steer the Basalt update agent and the cluster reboot lock; join the swarm.",
    subcommands = {
      CommandLine.HelpCommand.class,
      LockCommand.class,
      StatusCommand.class,
      UpdateCommand.class,
      RollbackCommand.class,
      HealthCommand.class,
      SwarmCommand.class
    })
public final class Basaltctl implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  /** Builds the command line with every subcommand registered. */
  public static CommandLine commandLine() {
    return new CommandLine(new Basaltctl());
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** Reports the version recorded in the jar manifest and the Java runtime it runs on. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Basaltctl.class.getPackage().getImplementationVersion();
      return new String[] {
        "basaltctl " + (v == null ? "(development build)" : v),
        "Java "
            + Runtime.version()
            + " ("
            + System.getProperty("java.vm.name")
            + ", "
            + System.getProperty("java.home")
            + ")"
      };
    }
  }
}
