package io.basalt.cloudconfig.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/**
 * Stand-alone entry point for the on-host unit and scripts: {@code java -cp '/usr/lib/basalt/lib/*'
 * io.basalt.cloudconfig.cli.CloudConfigMain apply --from-datasources}. Same commands, options and
 * exit codes as {@code basalt cloud-config}. Because apply runs on every boot, the plain argument
 * shapes of validate, render and apply are read here directly into the same command objects
 * (building picocli's model costs more CPU than validating a large config); anything else (help,
 * version, a malformed or unknown option) goes through picocli, which also prints the usage errors.
 * Not thread-safe.
 */
public final class CloudConfigMain {

  private CloudConfigMain() {}

  /** Runs the command line and exits with its exit code. */
  public static void main(String[] args) {
    PrintWriter out =
        new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
    PrintWriter err =
        new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
    int code = run(args, out, err);
    out.flush();
    err.flush();
    System.exit(code);
  }

  /** Runs the command line; returns the exit code. */
  static int run(String[] args, PrintWriter out, PrintWriter err) {
    Callable<Integer> fast = args.length == 0 ? null : fast(args, out, err);
    if (fast != null) {
      try {
        return fast.call();
      } catch (Exception e) {
        err.println("error: " + e);
        return 2;
      }
    }
    CommandLine cl = new CommandLine(new CloudConfigCommand());
    cl.setOut(out);
    cl.setErr(err);
    return cl.execute(args);
  }

  /** The command for a plain argument vector, or null to let picocli handle it. */
  static Callable<Integer> fast(String[] args, PrintWriter out, PrintWriter err) {
    List<String> positional = new ArrayList<>();
    List<String[]> options = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      if (a.equals("-q") || a.equals("--quiet") || a.equals("--from-datasources")) {
        options.add(new String[] {a, null});
      } else if (a.startsWith("--") && a.contains("=")) {
        options.add(new String[] {a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1)});
      } else if (a.startsWith("-")) {
        if (i + 1 >= args.length || args[i + 1].startsWith("-")) {
          return null;
        }
        options.add(new String[] {a, args[++i]});
      } else {
        positional.add(a);
      }
    }
    try {
      switch (args[0]) {
        case "validate" -> {
          ValidateCommand c = new ValidateCommand();
          c.files = new ArrayList<>();
          for (String p : positional) {
            c.files.add(Path.of(p));
          }
          for (String[] o : options) {
            switch (o[0]) {
              case "-q", "--quiet" -> c.quiet = true;
              case "--image-root" -> c.imageRoot = Path.of(o[1]);
              default -> {
                return null;
              }
            }
          }
          if (c.files.isEmpty()) {
            return null;
          }
          c.out = out;
          c.err = err;
          return c;
        }
        case "render" -> {
          RenderCommand c = new RenderCommand();
          if (positional.size() != 1) {
            return null;
          }
          c.file = Path.of(positional.get(0));
          for (String[] o : options) {
            if (o[1] == null) {
              return null;
            }
            switch (o[0]) {
              case "--root" -> c.root = Path.of(o[1]);
              case "--public-ipv4" -> c.publicIpv4 = o[1];
              case "--private-ipv4" -> c.privateIpv4 = o[1];
              case "--public-ipv6" -> c.publicIpv6 = o[1];
              case "--private-ipv6" -> c.privateIpv6 = o[1];
              default -> {
                return null;
              }
            }
          }
          if (c.root == null) {
            return null;
          }
          c.out = out;
          c.err = err;
          return c;
        }
        case "apply" -> {
          ApplyCommand c = new ApplyCommand();
          c.source = new ApplyCommand.Source();
          c.root = Path.of("/");
          c.urlTimeout = 120;
          c.commandTimeout = 300;
          for (String[] o : options) {
            switch (o[0]) {
              case "--from-datasources" -> c.source.fromDatasources = true;
              case "--root" -> c.root = Path.of(o[1]);
              case "--url-timeout" -> c.urlTimeout = Long.parseLong(o[1]);
              case "--command-timeout" -> c.commandTimeout = Long.parseLong(o[1]);
              default -> {
                return null;
              }
            }
          }
          if (positional.size() == 1 && !c.source.fromDatasources) {
            c.source.file = Path.of(positional.get(0));
          } else if (!(positional.isEmpty() && c.source.fromDatasources)) {
            return null;
          }
          if (c.urlTimeout <= 0 || c.commandTimeout <= 0) {
            return null;
          }
          c.out = out;
          c.err = err;
          return c;
        }
        default -> {
          return null;
        }
      }
    } catch (RuntimeException e) {
      // Malformed number or path: picocli reports it properly.
      return null;
    }
  }
}
