package io.basalt.cloudconfig.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code basalt cloud-config}: the parent of the cloud-config subcommands (validate, schema,
 * render, apply). Not thread-safe; one instance per invocation.
 */
@Command(
    name = "cloud-config",
    mixinStandardHelpOptions = true,
    description = "Validate, render and apply CoreOS-compatible #cloud-config user-data.",
    subcommands = {
      ValidateCommand.class,
      SchemaCommand.class,
      RenderCommand.class,
      ApplyCommand.class,
      CommandLine.HelpCommand.class
    })
public final class CloudConfigCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand");
  }
}
