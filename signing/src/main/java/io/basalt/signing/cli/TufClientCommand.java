package io.basalt.signing.cli;

import io.basalt.host.AtomicFiles;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.Root;
import io.basalt.signing.tuf.client.HttpFetcher;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code basalt tuf-client}: the TUF conformance suite's client-under-test interface
 * (tuf-conformance CLIENT-CLI.md). Options in any order, the command word last: {@code
 * --metadata-dir D init TRUSTED_ROOT}, {@code --metadata-url U --metadata-dir D refresh}, {@code
 * --metadata-url U --metadata-dir D --target-name P... --target-dir T --target-base-url TU
 * download}. Exit 0 on success, 1 on any failure. Time comes from the system clock (so {@code
 * faketime} works). Not thread-safe; one instance per invocation.
 */
@Command(
    name = "tuf-client",
    mixinStandardHelpOptions = true,
    exitCodeOnInvalidInput = 1,
    exitCodeOnExecutionException = 1,
    description = "TUF client (tuf-conformance client-under-test CLI): init, refresh, download.")
public final class TufClientCommand implements Callable<Integer> {

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--metadata-dir",
      required = true,
      paramLabel = "DIR",
      description = "Trusted metadata directory (ROLE.json files, exactly as received).")
  Path metadataDir;

  @Option(
      names = "--metadata-url",
      paramLabel = "URL",
      description = "Repository metadata base URL.")
  String metadataUrl;

  @Option(
      names = "--target-name",
      paramLabel = "PATH",
      description = "Target to download; repeatable.")
  List<String> targetNames = new ArrayList<>();

  @Option(names = "--target-dir", paramLabel = "DIR", description = "Where downloaded targets go.")
  Path targetDir;

  @Option(
      names = "--target-base-url",
      paramLabel = "URL",
      description = "Repository targets base URL.")
  String targetBaseUrl;

  @Parameters(index = "0", paramLabel = "COMMAND", description = "init, refresh or download.")
  String command;

  @Parameters(index = "1..*", paramLabel = "ARG", description = "init: the trusted root file.")
  List<String> args = new ArrayList<>();

  /** Runs the CLI standalone (same behaviour as {@code basalt tuf-client}). */
  public static void main(String[] argv) {
    System.exit(new CommandLine(new TufClientCommand()).execute(argv));
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try {
      switch (command) {
        case "init" -> init(out);
        case "refresh" -> refresh(out);
        case "download" -> download(out);
        default ->
            throw new IllegalArgumentException(
                "unknown command '" + command + "' (init, refresh, download)");
      }
      out.flush();
      return 0;
    } catch (IOException | RuntimeException e) {
      err.println(
          "tuf-client "
              + command
              + ": "
              + (e.getMessage() != null ? e.getMessage() : e.toString()));
      err.flush();
      return 1;
    }
  }

  private void init(PrintWriter out) throws IOException {
    if (args.size() != 1) {
      throw new IllegalArgumentException("init takes exactly one argument, the trusted root file");
    }
    Path trusted = Path.of(args.get(0));
    byte[] bytes = Files.readAllBytes(trusted);
    Metadata m = Metadata.parse(bytes, "root", "root");
    Root root = Root.from(m);
    root.verify("root", m); // the initial root must be signed by a threshold of its own keys
    Files.createDirectories(metadataDir);
    AtomicFiles.write(metadataDir.resolve("root.json"), bytes);
    out.println("initialised " + metadataDir + " with root version " + m.version());
  }

  private Updater updater(boolean withTargets) throws IOException {
    if (metadataUrl == null) {
      throw new IllegalArgumentException("--metadata-url is required for " + command);
    }
    URI targets = null;
    if (withTargets) {
      if (targetBaseUrl == null || targetDir == null || targetNames.isEmpty()) {
        throw new IllegalArgumentException(
            "download needs --target-name, --target-dir and --target-base-url");
      }
      targets = URI.create(targetBaseUrl);
    }
    return new Updater(
        metadataDir, URI.create(metadataUrl), targets, new HttpFetcher(), Clock.systemUTC());
  }

  private void refresh(PrintWriter out) throws IOException {
    Updater u = updater(false);
    u.refresh();
    out.println("refreshed: root v" + u.trustedRoot().metadata().version());
  }

  private void download(PrintWriter out) throws IOException {
    Updater u = updater(true);
    u.refresh();
    Files.createDirectories(targetDir);
    for (String name : targetNames) {
      TargetInfo info =
          u.getTargetInfo(name)
              .orElseThrow(
                  () -> new IOException("target '" + name + "' is not listed by any trusted role"));
      Optional<Path> cached = u.findCachedTarget(info, targetDir);
      if (cached.isPresent()) {
        out.println(name + ": already present as " + cached.get());
        continue;
      }
      out.println(name + ": downloaded to " + u.downloadTarget(info, targetDir));
    }
  }
}
