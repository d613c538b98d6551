package io.basalt.cloudconfig.cli;

import io.basalt.cloudconfig.Metadata;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.cloudconfig.render.Applier;
import io.basalt.cloudconfig.render.ApplyReport;
import io.basalt.cloudconfig.render.DryRunSystemTools;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code basalt cloud-config render FILE --root DIR}: a dry run that writes under DIR every file
 * apply would write on a host and prints the commands it would run. Exit 0 rendered, 1 invalid
 * config (nothing written), 2 usage, 3 some step failed. Not thread-safe.
 */
@Command(
    name = "render",
    mixinStandardHelpOptions = true,
    description =
        "Dry run: write under DIR what apply would change, print the commands it would run.",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:rendered",
      "1:invalid config (nothing written)",
      "2:usage error",
      "3:some step failed"
    })
final class RenderCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Set by {@link CloudConfigMain}'s fast path instead of {@link #spec}. */
  PrintWriter out;

  PrintWriter err;

  @Parameters(index = "0", paramLabel = "FILE", description = "The user-data file.")
  Path file;

  @Option(
      names = "--root",
      required = true,
      paramLabel = "DIR",
      description = "Directory standing for / (created if missing).")
  Path root;

  @Option(names = "--public-ipv4", description = "Value for $public_ipv4.")
  String publicIpv4;

  @Option(names = "--private-ipv4", description = "Value for $private_ipv4.")
  String privateIpv4;

  @Option(names = "--public-ipv6", description = "Value for $public_ipv6.")
  String publicIpv6;

  @Option(names = "--private-ipv6", description = "Value for $private_ipv6.")
  String privateIpv6;

  @Override
  public Integer call() {
    PrintWriter out = this.out != null ? this.out : spec.commandLine().getOut();
    PrintWriter err = this.err != null ? this.err : spec.commandLine().getErr();
    String text;
    try {
      text = ValidateCommand.readUtf8(file);
    } catch (CharacterCodingException e) {
      err.println(file + ":1:1: error: the file is not valid UTF-8 text");
      return 1;
    } catch (IOException e) {
      err.println(file + ": error: cannot read: " + e);
      return 2;
    }
    Metadata md =
        new Metadata(
            publicIpv4, privateIpv4, publicIpv6, privateIpv6, null, List.of(), java.util.Map.of());
    // The workstation's interfaces say nothing about the machine: only the config's own networkd
    // unit stands for a $private_ipv4 that --private-ipv4 did not give.
    Loaded l =
        Loaded.of(
            file.toString(), text, md, ValidationOptions.defaultImage(), List::of, out::println);
    if (!l.report(err)) {
      return 1;
    }
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      err.println(root + ": error: cannot create: " + e);
      return 2;
    }
    ApplyReport r =
        new Applier(root.toAbsolutePath(), new DryRunSystemTools(), true, out::println)
            .apply(l.userData().config(), l.userData().scripts());
    out.flush();
    return r.ok() ? 0 : 3;
  }
}
