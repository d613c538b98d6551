package io.basalt.image.cli;

import picocli.CommandLine;

/**
 * {@code /usr/bin/basalt install} on a Basalt host: the install command alone, so the host needs
 * none of the libraries the workstation's other commands load. Not thread-safe.
 */
public final class InstallMain {
  private InstallMain() {}

  /** Runs {@code basalt install} with {@code args} (the arguments after {@code install}). */
  public static void main(String[] args) {
    CommandLine cl = new CommandLine(new InstallCommand());
    cl.setCommandName("basalt install");
    System.exit(cl.execute(args));
  }
}
