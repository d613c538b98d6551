package io.basalt.cloudconfig.cli;

import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/**
 * Stand-alone entry point for the on-host unit and scripts:
 * {@code java -cp '/usr/lib/basalt/lib/*' io.basalt.cloudconfig.cli.CloudConfigMain apply --from-datasources}.
 * Runs {@link CloudConfigCommand} with the given arguments. For the hot subcommands (validate,
 * render, apply) only that subcommand's picocli model is built, which keeps the every-boot start
 * short; the output and exit codes are the same. Not thread-safe.
 */
public final class CloudConfigMain {

  private CloudConfigMain() {}

  /** Runs the command line and exits with its exit code. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line; returns the exit code. */
  static int run(String[] args) {
    if (args.length > 0) {
      Callable<Integer> single = switch (args[0]) {
        case "validate" -> new ValidateCommand();
        case "render" -> new RenderCommand();
        case "apply" -> new ApplyCommand();
        default -> null;
      };
      if (single != null) {
        return new CommandLine(single).execute(Arrays.copyOfRange(args, 1, args.length));
      }
    }
    return new CommandLine(new CloudConfigCommand()).execute(args);
  }
}
