package io.basalt.image.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The workstation CLI {@code basalt}: the root command that the subcommands (build, run, pxe, repo,
 * tuf-client, cloud-config, fleetlock) hang from. Not thread-safe; one instance per invocation.
 */
@Command(
    name = "basalt",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Build, run, sign and publish Basalt OS images.",
    subcommands = {
      CommandLine.HelpCommand.class,
      io.basalt.image.gpt.GptCommand.class,
      PxeCommand.class,
      BuildCommand.class,
      io.basalt.cloudconfig.cli.CloudConfigCommand.class,
      io.basalt.signing.cli.RepoCommand.class,
      io.basalt.signing.cli.TufClientCommand.class,
      io.basalt.update.cli.FleetLockCommand.class,
      RunCommand.class,
      DeltaCommand.class,
      InstallCommand.class
    })
public final class Basalt implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }

  /** Builds the command line with every subcommand registered. */
  public static CommandLine commandLine() {
    return new CommandLine(new Basalt());
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
