package io.basalt.cloudconfig.cli;

import picocli.CommandLine;

/**
 * Stand-alone entry point for the on-host unit and scripts:
 * {@code java -cp ... io.basalt.cloudconfig.cli.CloudConfigMain apply --from-datasources}.
 * Runs {@link CloudConfigCommand} with the given arguments. Not thread-safe.
 */
public final class CloudConfigMain {

  private CloudConfigMain() {}

  /** Runs the command line and exits with its exit code. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new CloudConfigCommand()).execute(args));
  }
}
