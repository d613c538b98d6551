package io.basalt.image.cli;

import io.basalt.cloudconfig.Diagnostic;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.host.HostPaths;
import io.basalt.host.KernelCommandLine;
import io.basalt.image.install.DiskInstall;
import io.basalt.image.install.InstallException;
import io.basalt.image.install.Payload;
import io.basalt.image.install.Sources;
import io.basalt.image.install.Target;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.update.agent.RepoPayload;
import io.basalt.update.install.VerityVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code basalt install [--source DIR|URL] [--repo URL [--channel NAME] [--trusted-root FILE]]
 * [--cloud-config FILE|URL] [--append-karg ARG]... [--dry-run] TARGET}: writes a verified update
 * payload to a whole disk or an image file as the disk {@code basalt build} makes
 * (image-builder/README.md, "basalt install"). Not thread-safe; one instance per invocation.
 */
@Command(
    name = "install",
    mixinStandardHelpOptions = true,
    description = {
      "Install Basalt to TARGET (a whole disk such as /dev/vda, or an image file): the GPT disk"
          + " basalt build writes, slot A holding the payload, verified before the first write.",
      "Exit codes: 0 installed (or --dry-run printed), 1 writing failed, 2 usage or a bad"
          + " cloud-config/kernel argument, 3 target refused (in use, too small, not a whole disk),"
          + " 4 payload missing or failing verification. Nothing is written unless all checks pass."
    })
final class InstallCommand implements Callable<Integer> {

  /** Slot arguments the installer writes itself: an --append-karg may not repeat them. */
  private static final Set<String> OWN_KEYS =
      Set.of(
          KernelCommandLine.MOUNT_USR,
          KernelCommandLine.USR_HASH,
          KernelCommandLine.USR_HASH_OFFSET,
          KernelCommandLine.SLOT,
          KernelCommandLine.VERSION,
          KernelCommandLine.LIVE);

  private static final int MAX_CLOUD_CONFIG = 1 << 20;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--source",
      paramLabel = "DIR|URL",
      description =
          "the payload: a build folder, an update/ folder (the ISO's /basalt/update), a mounted"
              + " ISO, or the http(s) URL of an update/ folder")
  String source;

  @Option(
      names = "--repo",
      paramLabel = "URL",
      description =
          "a TUF repository (as basalt repo serve serves it): install the newest version of the"
              + " channel, verified as the update agent verifies an update")
  String repo;

  @Option(
      names = "--channel",
      paramLabel = "NAME",
      description = "the channel of --repo (default: ${DEFAULT-VALUE})")
  String channel = "stable";

  @Option(
      names = "--trusted-root",
      paramLabel = "FILE",
      description =
          "the TUF root.json --repo starts from (default: the running image's"
              + " /usr/share/basalt/root.json)")
  String trustedRoot;

  @Option(
      names = "--cloud-config",
      paramLabel = "FILE|URL",
      description = "a #cloud-config (file or http(s) URL) put on OEM as cloud-config.yml")
  String cloudConfig;

  @Option(
      names = "--append-karg",
      paramLabel = "ARG",
      description = "a kernel argument added to slot A's boot entry (repeatable)")
  List<String> appendKargs = new ArrayList<>();

  @Option(names = "--dry-run", description = "check everything, print what would be written")
  boolean dryRun;

  @Parameters(index = "0", paramLabel = "TARGET", description = "a whole disk or an image file")
  String target;

  /** The file system of TARGET, --source and --cloud-config (a test's in the unit tests). */
  FileSystem fs = FileSystems.getDefault();

  /** Where /dev, /proc, /sys and /run are read. */
  Path systemRoot = Paths.get("/");

  /** The partition sizes, or null for the default image spec's. */
  ImageSpec.Partitions partitions;

  /** The verifier of usr.img's hash tree: the update agent's. */
  VerityVerifier verity = VerityVerifier.veritysetup();

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path work = null;
    try {
      Target t = Target.check(fs.getPath(target), systemRoot);
      List<String> kargs = kernelArguments();
      Optional<Content> cc = cloudConfig();
      if (source != null && repo != null) {
        throw new InstallException(
            InstallException.Kind.USAGE, "give --source or --repo, not both");
      }
      Payload payload;
      if (repo != null) {
        work = Files.createTempDirectory("basalt-install-");
        payload = fromRepo(work);
      } else if (source == null) {
        payload = Payload.verify(Sources.bootMedium(systemRoot), verity, systemRoot);
      } else if (source.startsWith("http://") || source.startsWith("https://")) {
        work = Sources.download(URI.create(source), downloadPlaces());
        payload = Payload.verify(work, verity, systemRoot);
      } else {
        payload = Payload.verify(Sources.folder(fs.getPath(source)), verity, systemRoot);
      }
      DiskInstall install =
          DiskInstall.plan(
              new DiskInstall.Request(
                  payload,
                  partitions != null ? partitions : ImageSpec.loadDefault().partitions(),
                  kargs,
                  cc),
              t);
      if (dryRun) {
        install.describe(out);
        out.println("dry run: nothing written");
        out.flush();
        return 0;
      }
      install.write();
      out.println(
          "installed "
              + payload.meta().name()
              + " "
              + payload.meta().version()
              + " to "
              + target
              + " ("
              + install.disk().sizeBytes()
              + " bytes)");
      out.flush();
      return 0;
    } catch (InstallException e) {
      err.println("basalt install: " + target + ": " + e.getMessage());
      err.flush();
      return e.kind().exitCode();
    } catch (IOException e) {
      err.println("basalt install: " + target + ": " + e.getMessage());
      err.flush();
      return InstallException.Kind.IO.exitCode();
    } finally {
      if (work != null) {
        deleteQuietly(work);
      }
    }
  }

  /** Where a downloaded payload may go: the temp folder, then RAM, then /var/tmp. */
  private List<Path> downloadPlaces() {
    return List.of(
        Paths.get(System.getProperty("java.io.tmpdir")),
        systemRoot.resolve("dev/shm"),
        systemRoot.resolve("var/tmp"));
  }

  /** The newest payload of --channel in --repo, TUF-verified by the update agent's code. */
  private Payload fromRepo(Path work) throws InstallException {
    Path root =
        trustedRoot != null
            ? fs.getPath(trustedRoot)
            : systemRoot.resolve(HostPaths.SHIPPED_TUF_ROOT.substring(1));
    if (!Files.isRegularFile(root)) {
      throw new InstallException(
          InstallException.Kind.USAGE,
          "no trusted TUF root at " + root + ": give --trusted-root FILE with --repo");
    }
    RepoPayload.Fetched f;
    try {
      f = RepoPayload.fetch(URI.create(repo), channel, ImageSpec.loadDefault().arch(), root, work);
    } catch (IOException e) {
      throw new InstallException(InstallException.Kind.PAYLOAD, repo + ": " + e.getMessage(), e);
    }
    return Payload.verify(f.dir(), f.payload(), verity, systemRoot);
  }

  /** The --append-karg values: single arguments that leave the slot's own keys alone. */
  private List<String> kernelArguments() throws InstallException {
    for (String a : appendKargs) {
      if (a.isEmpty() || !a.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != '"')) {
        throw new InstallException(
            InstallException.Kind.USAGE,
            "--append-karg '"
                + a
                + "': one kernel argument of printable ASCII without spaces or quotes expected");
      }
      if (OWN_KEYS.contains(KernelCommandLine.key(a))) {
        throw new InstallException(
            InstallException.Kind.USAGE,
            "--append-karg '"
                + a
                + "': the installer writes "
                + KernelCommandLine.key(a)
                + " itself");
      }
    }
    return appendKargs;
  }

  /** The --cloud-config text, read and validated as the build validates an ISO's cloud-config. */
  private Optional<Content> cloudConfig() throws InstallException, IOException {
    if (cloudConfig == null) {
      return Optional.empty();
    }
    byte[] b;
    if (cloudConfig.startsWith("http://") || cloudConfig.startsWith("https://")) {
      b = fetchSmall(URI.create(cloudConfig));
    } else {
      Path f = fs.getPath(cloudConfig);
      if (!Files.isRegularFile(f)) {
        throw new InstallException(
            InstallException.Kind.USAGE, "--cloud-config " + f + ": no such file");
      }
      if (Files.size(f) > MAX_CLOUD_CONFIG) {
        throw new InstallException(
            InstallException.Kind.USAGE,
            cloudConfig + ": larger than " + MAX_CLOUD_CONFIG + " bytes");
      }
      b = Files.readAllBytes(f);
    }
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(b))
              .toString();
    } catch (CharacterCodingException e) {
      throw new InstallException(
          InstallException.Kind.USAGE, cloudConfig + ":1:1: error: not valid UTF-8 text", e);
    }
    UserData ud = UserDataParser.parse(text, ValidationOptions.defaultImage());
    if (ud.hasErrors()) {
      for (Diagnostic d : ud.diagnostics()) {
        if (d.severity() == Diagnostic.Severity.ERROR) {
          throw new InstallException(InstallException.Kind.USAGE, d.format(cloudConfig));
        }
      }
    }
    return Optional.of(Content.ofBytes(b));
  }

  private static byte[] fetchSmall(URI uri) throws InstallException {
    HttpClient http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(30))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    try {
      HttpResponse<InputStream> r =
          http.send(
              HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      try (InputStream in = r.body()) {
        if (r.statusCode() != 200) {
          throw new InstallException(
              InstallException.Kind.USAGE, "--cloud-config " + uri + ": HTTP " + r.statusCode());
        }
        byte[] b = in.readNBytes(MAX_CLOUD_CONFIG + 1);
        if (b.length > MAX_CLOUD_CONFIG) {
          throw new InstallException(
              InstallException.Kind.USAGE,
              "--cloud-config " + uri + ": larger than " + MAX_CLOUD_CONFIG + " bytes");
        }
        return b;
      }
    } catch (IOException e) {
      throw new InstallException(
          InstallException.Kind.USAGE, "--cloud-config " + uri + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InstallException(
          InstallException.Kind.USAGE, "--cloud-config " + uri + ": interrupted", e);
    }
  }

  private static void deleteQuietly(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // best effort: a temp folder
    }
  }
}
