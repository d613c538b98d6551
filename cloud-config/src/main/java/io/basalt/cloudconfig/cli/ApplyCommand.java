package io.basalt.cloudconfig.cli;

import io.basalt.cloudconfig.Metadata;
import io.basalt.cloudconfig.PrivateIpv4;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.cloudconfig.datasource.Datasource;
import io.basalt.cloudconfig.datasource.Datasources;
import io.basalt.cloudconfig.render.Applier;
import io.basalt.cloudconfig.render.ApplyReport;
import io.basalt.cloudconfig.render.DryRunSystemTools;
import io.basalt.cloudconfig.render.ProcessSystemTools;
import io.basalt.cloudconfig.render.SystemTools;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code apply}: makes a cloud-config so on this host (run every boot by basalt-cloudinit.service).
 * The user-data comes from FILE or, with {@code --from-datasources}, from the first datasource in
 * Basalt's order. An invalid config is not applied at all. Exit 0 applied (or nothing to apply), 1
 * invalid config, 2 usage or unreadable datasource, 3 applied but some step failed. Not
 * thread-safe.
 */
@Command(
    name = "apply",
    mixinStandardHelpOptions = true,
    description =
        "Apply user-data to this host: from FILE, or --from-datasources (OEM, config-2, CONTEXT, "
            + "cloud-config-url=, /etc/basalt/cloud-config.yml).",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:applied or nothing to apply",
      "1:invalid config (nothing applied)",
      "2:usage error or unreadable datasource",
      "3:applied, some steps failed"
    })
final class ApplyCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Set by {@link CloudConfigMain}'s fast path instead of {@link #spec}. */
  PrintWriter out;

  PrintWriter err;

  static final class Source {
    @Parameters(index = "0", paramLabel = "FILE", description = "The user-data file.")
    Path file;

    @Option(
        names = "--from-datasources",
        description = "Take user-data from the first datasource that has some.")
    boolean fromDatasources;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  @Option(
      names = "--root",
      paramLabel = "DIR",
      defaultValue = "/",
      description =
          "The root to apply to (default /). Any other root only gets files: system commands are printed, not run.")
  Path root;

  @Option(
      names = "--url-timeout",
      paramLabel = "SECONDS",
      defaultValue = "120",
      description = "Longest wait for cloud-config-url= (retries with backoff), default 120.")
  long urlTimeout;

  @Option(
      names = "--command-timeout",
      paramLabel = "SECONDS",
      defaultValue = "300",
      description = "Longest wait for one system command, default 300.")
  long commandTimeout;

  @Override
  public Integer call() {
    PrintWriter out = this.out != null ? this.out : spec.commandLine().getOut();
    PrintWriter err = this.err != null ? this.err : spec.commandLine().getErr();
    if (urlTimeout <= 0 || commandTimeout <= 0) {
      err.println("error: --url-timeout and --command-timeout must be positive");
      err.flush();
      return 2;
    }
    String name;
    String text;
    Metadata md = Metadata.none();
    try {
      if (source.fromDatasources) {
        Optional<Datasource.Found> found =
            Datasources.standard(root, Duration.ofSeconds(urlTimeout), out::println)
                .first(out::println);
        if (found.isEmpty()) {
          out.println("no datasource has user-data; nothing to apply");
          out.flush();
          return 0;
        }
        name = found.get().source();
        md = found.get().metadata();
        text = found.get().userData() == null ? "" : Datasources.text(found.get().userData());
      } else {
        name = source.file.toString();
        text = Datasources.text(Files.readAllBytes(source.file));
      }
    } catch (IOException e) {
      err.println("error: " + e.getMessage());
      err.println("nothing was applied");
      err.flush();
      return 2;
    }
    // The system's tools act on the running system; with another --root they would change this
    // machine's accounts and units, so there they are only printed ("would run ...").
    boolean live = root.toAbsolutePath().normalize().equals(root.getFileSystem().getPath("/"));
    // This host's interfaces stand for $private_ipv4 only when the config is for this host.
    Loaded l =
        Loaded.of(
            name,
            text,
            md,
            ValidationOptions.forRoot(root),
            live ? PrivateIpv4::hostInterfaces : List::of,
            out::println);
    if (!l.report(err)) {
      return 1;
    }
    SystemTools tools = live ? new ProcessSystemTools(commandTimeout) : new DryRunSystemTools();
    if (!live) {
      out.println("--root " + root + " is not /: system commands are printed, not run");
    }
    ApplyReport r =
        new Applier(root, tools, !live, out::println)
            .apply(l.userData().config().withMetadata(l.metadata()), l.userData().scripts());
    out.println(
        name
            + ": "
            + r.changes().size()
            + " changes, "
            + r.actions().size()
            + " commands, "
            + r.failures().size()
            + " failures");
    out.flush();
    return r.ok() ? 0 : 3;
  }
}
