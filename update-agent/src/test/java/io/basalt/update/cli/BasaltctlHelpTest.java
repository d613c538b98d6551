package io.basalt.update.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every {@code basaltctl} command, walked from the picocli tree, answers {@code --help}. */
class BasaltctlHelpTest {

  @Test
  void everyBasaltctlCommandAnswersHelp() {
    List<List<String>> paths = new ArrayList<>();
    collect(Basaltctl.commandLine(), new ArrayList<>(), paths, new IdentityHashMap<>());
    List<String> failures = new ArrayList<>();
    for (List<String> path : paths) {
      List<String> args = new ArrayList<>(path);
      args.add("--help");
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      CommandLine cl = Basaltctl.commandLine();
      cl.setOut(new PrintWriter(out));
      cl.setErr(new PrintWriter(err));
      int rc = cl.execute(args.toArray(String[]::new));
      String usage = "Usage: " + String.join(" ", prepend("basaltctl", path));
      if (rc != 0 || !out.toString().contains(usage)) {
        failures.add(String.join(" ", args) + " -> exit " + rc + ": " + out + err);
      }
    }
    assertEquals(List.of(), failures);
  }

  private static List<String> prepend(String first, List<String> rest) {
    List<String> l = new ArrayList<>();
    l.add(first);
    l.addAll(rest);
    return l;
  }

  /** Every command's subcommand path (aliases once, the built-in help command included). */
  static void collect(
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
