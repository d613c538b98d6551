package io.basalt.image.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.cloudconfig.Diagnostic;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.image.api.BuildException;
import io.basalt.image.api.BuildResult;
import io.basalt.image.api.ImagePlan;
import io.basalt.image.api.Progress;
import io.basalt.image.base.BaseTreeCache;
import io.basalt.image.base.BootstrapRunner;
import io.basalt.image.pipeline.BuildPipeline;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.spec.SpecException;
import io.basalt.image.squashfs.BlockCache;
import io.basalt.image.usr.UsrAssembler;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code basalt build}: builds an image from a spec (the embedded default without --spec) into
 * {@code out/<name>-<version>/}. Progress goes to stderr; {@code --json} prints a summary on
 * stdout. Not thread-safe; one instance per invocation.
 */
@Command(
    name = "build",
    mixinStandardHelpOptions = true,
    description = {
      "Build a Basalt image: disk.raw, disk.qcow2, pxe/, usr.img + usr.roothash, update/,"
          + " <name>-<version>.iso, manifest.json.",
      "Exit codes: 0 built, 2 bad spec or usage, 3 base tree (mmdebstrap) failed, 4 base tree unusable,",
      "5 a writer this build needs is missing, 1 other I/O errors."
    })
final class BuildCommand implements Callable<Integer> {
  static final int EXIT_SPEC = 2;
  static final int EXIT_BOOTSTRAP = 3;
  static final int EXIT_TREE = 4;
  static final int EXIT_UNAVAILABLE = 5;
  static final int EXIT_IO = 1;

  @CommandLine.Spec CommandLine.Model.CommandSpec cmd;

  @Option(
      names = "--spec",
      paramLabel = "FILE",
      description = "Image spec YAML (default: the embedded default spec).")
  Path specFile;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Output folder (default: out/<name>-<version>).")
  Path out;

  @Option(
      names = "--cache",
      paramLabel = "DIR",
      description =
          "Base tree cache (default: $XDG_CACHE_HOME/basalt/base or ~/.cache/basalt/base).")
  Path cache;

  @Option(
      names = "--refresh-base",
      description =
          "Bootstrap the base tree again from the archive's current packages (a Debian point"
              + " release or security update) and replace the cached one.")
  boolean refreshBase;

  @Option(
      names = "--block-cache",
      paramLabel = "DIR",
      description =
          "Compressed squashfs block cache (default: $XDG_CACHE_HOME/basalt/blocks or"
              + " ~/.cache/basalt/blocks); output bytes are the same with or without it.")
  Path blockCache;

  @Option(
      names = "--block-cache-size",
      paramLabel = "SIZE",
      description =
          "Bound of the block cache, e.g. 500MiB or 4GiB (default 2GiB); least recently stored"
              + " entries the build did not use go first.")
  String blockCacheSize;

  @Option(
      names = "--no-block-cache",
      description = "Compress every block; read and write no cache.")
  boolean noBlockCache;

  @Option(names = "--json", description = "Print a machine-readable summary (or plan) on stdout.")
  boolean json;

  @Option(
      names = "--plan",
      description =
          "Print what the build would make (layout, artifacts, command lines); write nothing.")
  boolean plan;

  @Option(
      names = {"-v", "--verbose"},
      description = "Show every line of the tools' output (mmdebstrap).")
  boolean verbose;

  @Option(
      names = "--iso-cloud-config",
      paramLabel = "FILE",
      description =
          "Embed this #cloud-config in the ISO as /cloud-config.yml (the ISO is then labelled OEM"
              + " and the live system applies it); checked like 'basalt cloud-config validate'.")
  Path isoCloudConfig;

  /** Test seam: the bootstrap runner (mmdebstrap by default). */
  BootstrapRunner runner = BootstrapRunner.mmdebstrap();

  /** Test seam: the environment. */
  Map<String, String> env = System.getenv();

  @Override
  public Integer call() {
    PrintWriter err = cmd.commandLine().getErr();
    PrintWriter outw = cmd.commandLine().getOut();
    ImageSpec spec;
    try {
      spec = specFile == null ? ImageSpec.loadDefault() : ImageSpec.load(specFile);
    } catch (SpecException e) {
      err.println("basalt build: " + e.getMessage());
      return fail(outw, "spec", e.getMessage(), EXIT_SPEC);
    } catch (IOException e) {
      err.println("basalt build: cannot read " + specFile + ": " + e.getMessage());
      return fail(outw, "spec", e.getMessage(), EXIT_SPEC);
    }
    OptionalLong envEpoch = OptionalLong.empty();
    String sde = env.get("SOURCE_DATE_EPOCH");
    if (sde != null && !sde.isEmpty()) {
      if (!sde.matches("[0-9]{1,12}")) {
        err.println(
            "basalt build: SOURCE_DATE_EPOCH: expected seconds since 1970, found \"" + sde + "\"");
        return fail(outw, "spec", "bad SOURCE_DATE_EPOCH", EXIT_SPEC);
      }
      envEpoch = OptionalLong.of(Long.parseLong(sde));
    }
    if (isoCloudConfig != null) {
      String problem = checkCloudConfig(isoCloudConfig, spec);
      if (problem != null) {
        err.println("basalt build: --iso-cloud-config " + problem);
        return fail(outw, "spec", problem, EXIT_SPEC);
      }
    }
    Path outDir = out != null ? out : Path.of("out", spec.name() + "-" + spec.version());
    Path cacheRoot =
        cache != null
            ? cache
            : BaseTreeCache.defaultRoot(env, Path.of(System.getProperty("user.home")));
    if (plan) {
      return printPlan(outw, err, spec, envEpoch, new BaseTreeCache(cacheRoot, runner));
    }
    Optional<BlockCache> blocks = Optional.empty();
    if (!noBlockCache) {
      long max = BlockCache.DEFAULT_MAX_BYTES;
      if (blockCacheSize != null) {
        OptionalLong parsed = parseSize(blockCacheSize);
        if (parsed.isEmpty()) {
          err.println(
              "basalt build: --block-cache-size: expected a size such as 500MiB or 4GiB (units B,"
                  + " KiB, MiB, GiB), found \""
                  + blockCacheSize
                  + "\"");
          return fail(outw, "usage", "bad --block-cache-size", EXIT_SPEC);
        }
        max = parsed.getAsLong();
      }
      blocks =
          Optional.of(
              new BlockCache(
                  blockCache != null
                      ? blockCache
                      : BlockCache.defaultRoot(env, Path.of(System.getProperty("user.home"))),
                  max));
    }
    err.println(
        "basalt build: "
            + (specFile == null ? "default spec" : specFile.toString())
            + ": "
            + spec.name()
            + " "
            + spec.version()
            + " ("
            + spec.channel()
            + "), "
            + spec.arch()
            + ", Debian "
            + spec.debian().suite()
            + " → "
            + outDir);
    BuildPipeline.Config config =
        new BuildPipeline.Config(
            spec,
            outDir,
            envEpoch,
            refreshBase
                ? new BaseTreeCache(cacheRoot, runner).refreshing()
                : new BaseTreeCache(cacheRoot, runner),
            UsrAssembler::basaltJarsFromClasspath,
            initUnitsInstaller(),
            new VersionProvider().getVersion()[0],
            new TerminalProgress(err, verbose),
            isoCloudConfig,
            blocks);
    try {
      BuildResult r = BuildPipeline.run(config);
      err.println("basalt build: done. Outputs in " + r.outDir().toAbsolutePath() + ":");
      for (BuildResult.Artifact a : r.artifacts()) {
        err.println("  " + r.outDir().resolve(a.path()) + "  " + BuildPipeline.human(a.size()));
      }
      if (json) {
        outw.println(summary(r));
        outw.flush();
      }
      return 0;
    } catch (BuildException e) {
      err.println("basalt build: failed at stage " + e.getMessage());
      int code;
      switch (e.kind()) {
        case BOOTSTRAP:
          code = EXIT_BOOTSTRAP;
          break;
        case TREE:
          code = EXIT_TREE;
          break;
        case UNAVAILABLE:
          code = EXIT_UNAVAILABLE;
          break;
        default:
          code = EXIT_IO;
      }
      return fail(outw, e.stage(), e.getMessage(), code);
    } catch (RuntimeException e) {
      err.println("basalt build: internal error: " + e);
      e.printStackTrace(err);
      return fail(outw, "internal", String.valueOf(e), EXIT_IO);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("basalt build: interrupted");
      return fail(outw, "interrupted", "interrupted", EXIT_IO);
    }
  }

  /**
   * Null when {@code file} is user-data the live system can apply and the spec writes an ISO, else
   * what is wrong: unreadable, not UTF-8, or the validator's errors as {@code FILE:LINE:COL: error:
   * ...} lines.
   */
  static String checkCloudConfig(Path file, ImageSpec spec) {
    if (!spec.outputs().contains(ImageSpec.Output.ISO)) {
      return file + ": the spec's outputs have no iso";
    }
    String text;
    try {
      byte[] b = Files.readAllBytes(file);
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(b))
              .toString();
    } catch (CharacterCodingException e) {
      return file + ":1:1: error: the file is not valid UTF-8 text";
    } catch (IOException e) {
      return file + ": cannot read: " + e.getMessage();
    }
    UserData ud = UserDataParser.parse(text, ValidationOptions.defaultImage());
    if (!ud.hasErrors()) {
      return null;
    }
    StringBuilder b = new StringBuilder();
    for (Diagnostic d : ud.diagnostics()) {
      if (d.severity() == Diagnostic.Severity.ERROR) {
        b.append(b.length() == 0 ? "" : "\n").append(d.format(file.toString()));
      }
    }
    return b.toString();
  }

  /** "2GiB", "500MiB", "4096" (bytes) as bytes; empty when malformed or too large. */
  static OptionalLong parseSize(String s) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("([0-9]{1,15})\\s*(|B|KiB|MiB|GiB|TiB)").matcher(s.trim());
    if (!m.matches()) {
      return OptionalLong.empty();
    }
    int shift;
    switch (m.group(2)) {
      case "KiB":
        shift = 10;
        break;
      case "MiB":
        shift = 20;
        break;
      case "GiB":
        shift = 30;
        break;
      case "TiB":
        shift = 40;
        break;
      default:
        shift = 0;
    }
    long n = Long.parseLong(m.group(1));
    if (n > (Long.MAX_VALUE >> shift)) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(n << shift);
  }

  /** --plan: prints the plan; reads the base tree cache, writes nothing. */
  private int printPlan(
      PrintWriter outw,
      PrintWriter err,
      ImageSpec spec,
      OptionalLong envEpoch,
      BaseTreeCache cache) {
    ImagePlan p;
    try {
      p = BuildPipeline.plan(spec, envEpoch);
    } catch (IllegalArgumentException e) {
      err.println("basalt build: " + e.getMessage());
      return fail(outw, "spec", e.getMessage(), EXIT_SPEC);
    }
    Optional<String> cached = cache.lookup(spec.debian()).map(Path::toString);
    outw.print(json ? PlanPrinter.json(p, cached) + "\n" : PlanPrinter.text(p, cached));
    outw.flush();
    return 0;
  }

  /** The installer of init-units' resources (units, presets, tmpfiles...). */
  static UsrAssembler.InitUnitsInstaller initUnitsInstaller() {
    return UsrAssembler.InitUnitsInstaller.fromClasspath();
  }

  private int fail(PrintWriter outw, String stage, String message, int code) {
    if (json) {
      ObjectMapper m = new ObjectMapper();
      ObjectNode n = m.createObjectNode();
      n.put("ok", false);
      n.put("stage", stage);
      n.put("error", message);
      n.put("exitCode", code);
      outw.println(n.toString());
      outw.flush();
    }
    return code;
  }

  static String summary(BuildResult r) {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode n = m.createObjectNode();
    n.put("ok", true);
    n.put("name", r.name());
    n.put("version", r.version());
    n.put("outDir", r.outDir().toAbsolutePath().toString());
    n.put("sourceDateEpoch", r.sourceDateEpoch());
    n.put("buildId", r.buildId());
    n.put("usrRootHash", r.usrRootHash());
    ArrayNode arts = n.putArray("artifacts");
    for (BuildResult.Artifact a : r.artifacts()) {
      arts.addObject().put("path", a.path()).put("size", a.size()).put("sha256", a.sha256());
    }
    ArrayNode st = n.putArray("stages");
    for (BuildResult.StageTime s : r.stages()) {
      st.addObject().put("stage", s.stage()).put("seconds", Math.round(s.nanos() / 1e6) / 1e3);
    }
    try {
      return m.writeValueAsString(n);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Prints stages and their results as lines on the terminal (stderr). Not thread-safe. */
  static final class TerminalProgress implements Progress {
    private final PrintWriter err;
    private final boolean verbose;
    private String prefix = "";

    TerminalProgress(PrintWriter err, boolean verbose) {
      this.err = err;
      this.verbose = verbose;
    }

    @Override
    public void stageStarted(int index, int total, String name, String what) {
      prefix = "[" + index + "/" + total + "] " + name;
      err.println("basalt build: " + prefix + ": " + what);
      err.flush();
    }

    @Override
    public void detail(String line) {
      if (verbose
          || line.startsWith("I: ")
          || line.startsWith("W: ")
          || line.startsWith("E: ")
          || line.startsWith("running ")) {
        err.println("    " + line);
        err.flush();
      }
    }

    @Override
    public void stageFinished(String name, long nanos, String result) {
      err.println(
          "basalt build: "
              + prefix
              + ": "
              + result
              + " ("
              + String.format(Locale.ROOT, "%.1f s", nanos / 1e9)
              + ")");
      err.flush();
    }
  }
}
