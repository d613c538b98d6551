package io.basalt.cloudconfig.cli;

import io.basalt.cloudconfig.JsonSchema;
import io.basalt.host.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code basalt cloud-config schema [-o FILE]}: prints (or writes atomically) the JSON Schema of
 * the format for YAML editors. Not thread-safe.
 */
@Command(
    name = "schema",
    mixinStandardHelpOptions = true,
    description = "Print the JSON Schema (draft-07) of #cloud-config for YAML editors.")
final class SchemaCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = {"-o", "--output"},
      paramLabel = "FILE",
      description = "Write to FILE instead of standard output.")
  Path output;

  @Override
  public Integer call() {
    String schema = JsonSchema.generate();
    PrintWriter out = spec.commandLine().getOut();
    if (output == null) {
      out.print(schema);
      out.flush();
      return 0;
    }
    try {
      AtomicFiles.write(output, schema.getBytes(StandardCharsets.UTF_8));
      return 0;
    } catch (IOException e) {
      spec.commandLine().getErr().println(output + ": error: cannot write: " + e);
      return 2;
    }
  }
}
