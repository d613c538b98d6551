package io.basalt.cloudconfig.cli;

import io.basalt.cloudconfig.JsonSchema;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code basalt cloud-config schema [-o FILE]}: prints (or writes atomically) the JSON Schema of the
 * format for YAML editors. Not thread-safe.
 */
@Command(name = "schema", mixinStandardHelpOptions = true,
    description = "Print the JSON Schema (draft-07) of #cloud-config for YAML editors.")
final class SchemaCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write to FILE instead of standard output.")
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
      Path abs = output.toAbsolutePath();
      Path tmp = abs.resolveSibling("." + abs.getFileName() + ".tmp");
      Files.writeString(tmp, schema, StandardCharsets.UTF_8);
      Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return 0;
    } catch (IOException e) {
      spec.commandLine().getErr().println(output + ": error: cannot write: " + e);
      return 2;
    }
  }
}
