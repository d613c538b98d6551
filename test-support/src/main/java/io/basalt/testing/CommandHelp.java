package io.basalt.testing;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine;

/** Runs {@code --help} on every command of a picocli tree, for the CLIs' help tests. Stateless. */
public final class CommandHelp {
  private CommandHelp() {}

  /**
   * Runs {@code NAME [SUBCOMMAND...] --help} for every command reachable from a fresh tree of
   * {@code commandLine} (aliases once, picocli's own help command included), each on a new tree.
   *
   * @param name the program name the usage line starts with
   * @return one line per command that did not exit 0 with its usage, empty when all did
   */
  public static List<String> failures(String name, Supplier<CommandLine> commandLine) {
    List<List<String>> paths = new ArrayList<>();
    collect(commandLine.get(), new ArrayList<>(), paths, new IdentityHashMap<>());
    List<String> failures = new ArrayList<>();
    for (List<String> path : paths) {
      List<String> args = new ArrayList<>(path);
      args.add("--help");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CommandLine cl = commandLine.get();
      cl.setOut(new PrintWriter(out));
      cl.setErr(new PrintWriter(err));
      int rc = cl.execute(args.toArray(String[]::new));
      List<String> command = new ArrayList<>();
      command.add(name);
      command.addAll(path);
      if (rc != 0 || !out.toString().contains("Usage: " + String.join(" ", command))) {
        failures.add(String.join(" ", args) + " -> exit " + rc + ": " + out + err);
      }
    }
    return failures;
  }

  private static void collect(
      CommandLine cl, List<String> path, List<List<String>> out, Map<CommandLine, Boolean> seen) {
    out.add(List.copyOf(path));
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      if (seen.put(e.getValue(), true) == null) {
        List<String> p = new ArrayList<>(path);
        p.add(e.getKey());
        collect(e.getValue(), p, out, seen);
      }
    }
  }
}
