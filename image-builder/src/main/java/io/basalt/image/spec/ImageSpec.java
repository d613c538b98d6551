package io.basalt.image.spec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A parsed, checked image spec (see image-builder/README.md, "Image spec"): what to build and how.
 * Immutable, thread-safe.
 *
 * @param name image name, used for the output folder and GUID seed
 * @param version image version (BLS entry names, os-release VERSION_ID, update payloads)
 * @param channel update channel
 * @param arch architecture, always "x86-64"
 * @param debian base tree inputs
 * @param files extra files placed into the tree
 * @param cmdline kernel command line additions
 * @param partitions partition sizes in bytes
 * @param outputs the artifacts to write
 * @param compressor squashfs compressor
 * @param compressorLevel squashfs compression level: the spec's, else the default spec's; empty
 *     only when the spec sets it to null (the compressor's mksquashfs default)
 * @param sourceDateEpoch SOURCE_DATE_EPOCH fixed by the spec, if any
 * @param update the {@code update:} section (the image's update agent settings and trusted TUF
 *     root), if the spec has one
 * @param text the spec's own text (part of the build inputs)
 */
public record ImageSpec(
    String name,
    String version,
    String channel,
    String arch,
    Debian debian,
    List<ExtraFile> files,
    List<String> cmdline,
    Partitions partitions,
    Set<Output> outputs,
    Compressor compressor,
    java.util.OptionalInt compressorLevel,
    OptionalLong sourceDateEpoch,
    Optional<Update> update,
    String text) {

  /** Name of the embedded default spec resource. */
  public static final String DEFAULT_RESOURCE = "default-spec.yaml";

  public ImageSpec {
    Objects.requireNonNull(name, "name");
    files = List.copyOf(files);
    cmdline = List.copyOf(cmdline);
    outputs = Set.copyOf(outputs);
    Objects.requireNonNull(update, "update");
  }

  /**
   * The {@code update:} section, checked: what the builder writes to {@link
   * io.basalt.host.HostPaths#SHIPPED_TUF_ROOT} and into the image's default update.conf ({@link
   * io.basalt.host.HostPaths#UPDATE_CONF_DEFAULTS}).
   *
   * @param root the trusted root file on the build host (resolved against the spec's folder)
   * @param rootJson the root metadata exactly as read (valid UTF-8: the TUF parser checked it)
   * @param rootVersion the root's version
   * @param rootKeyIds the key ids of the root role, sorted
   * @param rootThreshold the root role's threshold
   * @param settings update.conf lines, native key to value, in file order: {@code REPOSITORY_URL}
   *     (when set), {@code CHANNEL}, then the spec's {@code settings} in spec order
   */
  public record Update(
      Path root,
      String rootJson,
      long rootVersion,
      List<String> rootKeyIds,
      int rootThreshold,
      java.util.Map<String, String> settings) {
    public Update {
      Objects.requireNonNull(root, "root");
      Objects.requireNonNull(rootJson, "rootJson");
      rootKeyIds = List.copyOf(rootKeyIds);
      settings = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(settings));
    }

    /** The repository URL, or null when each machine sets it (cloud-config). */
    public String repository() {
      return settings.get(io.basalt.host.UpdateConfKeys.REPOSITORY_URL);
    }

    /** The channel the image's agent follows. */
    public String channel() {
      return settings.get(io.basalt.host.UpdateConfKeys.CHANNEL);
    }
  }

  /**
   * Debian inputs of the base tree.
   *
   * @param suite Debian suite (codename), e.g. trixie
   * @param mirror archive URL
   * @param variant mmdebstrap variant (essential, minbase, ...)
   * @param packages packages to install, in spec order
   * @param pathExclude dpkg path-exclude filters
   * @param pathInclude dpkg path-include filters (exceptions to the excludes)
   * @param java the feature release of the Java runtime the image's Basalt programs run on ({@code
   *     debian.java}; its openjdk-N-jre-headless is among {@code packages}), or empty for the
   *     newest runtime the packages bring
   */
  public record Debian(
      String suite,
      String mirror,
      String variant,
      List<String> packages,
      List<String> pathExclude,
      List<String> pathInclude,
      OptionalInt java) {
    public Debian {
      packages = List.copyOf(packages);
      pathExclude = List.copyOf(pathExclude);
      pathInclude = List.copyOf(pathInclude);
      Objects.requireNonNull(java, "java");
    }

    /** Inputs without a named Java release (the newest runtime the packages bring). */
    public Debian(
        String suite,
        String mirror,
        String variant,
        List<String> packages,
        List<String> pathExclude,
        List<String> pathInclude) {
      this(suite, mirror, variant, packages, pathExclude, pathInclude, OptionalInt.empty());
    }
  }

  /**
   * A file added to the image tree: bytes from {@code source} (a host file resolved against the
   * spec's folder) or inline {@code content}.
   *
   * @param path absolute in-image path
   * @param source host file, or null
   * @param content inline text, or null
   * @param mode permission bits
   */
  public record ExtraFile(String path, Path source, String content, int mode) {}

  /** Partition sizes in bytes (each a multiple of 1 MiB). */
  public record Partitions(long esp, long usr, long oem, long root) {}

  /** The artifacts a build can write. */
  public enum Output {
    DISK_RAW("disk.raw"),
    DISK_QCOW2("disk.qcow2"),
    PXE("pxe"),
    USR_IMG("usr.img"),
    UPDATE("update"),
    ISO("iso"),
    /** An OpenNebula VM template for disk.qcow2; needs {@link #DISK_QCOW2}. */
    OPENNEBULA("opennebula");

    private final String key;

    Output(String key) {
      this.key = key;
    }

    /** The name used in the spec. */
    public String key() {
      return key;
    }
  }

  /** Squashfs compressors a spec may name. */
  public enum Compressor {
    ZSTD(1, 22),
    XZ(0, 9),
    GZIP(1, 9);

    private final int minLevel;
    private final int maxLevel;

    Compressor(int minLevel, int maxLevel) {
      this.minLevel = minLevel;
      this.maxLevel = maxLevel;
    }

    /** Lowest accepted compression level. */
    public int minLevel() {
      return minLevel;
    }

    /** Highest accepted compression level. */
    public int maxLevel() {
      return maxLevel;
    }

    /** The name used in the spec (lower case). */
    public String key() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Reads and checks the spec in {@code file}; extra files' sources resolve against its folder.
   *
   * @throws IOException if the file cannot be read
   * @throws SpecException naming file:line:col for any syntax error, unknown key or wrong value
   */
  public static ImageSpec load(Path file) throws IOException, SpecException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    Path dir = file.toAbsolutePath().getParent();
    return SpecBinder.bind(text, file.toString(), dir);
  }

  /**
   * The embedded default spec (what {@code basalt build} builds with no --spec).
   *
   * @throws IllegalStateException if the resource is missing or invalid (a packaging bug)
   */
  public static ImageSpec loadDefault() {
    try (InputStream in = ImageSpec.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(
            "resource " + DEFAULT_RESOURCE + " missing from the basalt jar");
      }
      return SpecBinder.bind(
          new String(in.readAllBytes(), StandardCharsets.UTF_8), "(default spec)", null);
    } catch (IOException | SpecException e) {
      throw new IllegalStateException("embedded default spec is invalid: " + e.getMessage(), e);
    }
  }

  /**
   * Parses spec text; {@code sourceName} prefixes error messages, {@code baseDir} resolves extra
   * files' sources (null: sources are not allowed).
   *
   * @throws SpecException naming sourceName:line:col for any syntax error, unknown key or wrong
   *     value
   */
  public static ImageSpec parse(String text, String sourceName, Path baseDir) throws SpecException {
    return SpecBinder.bind(text, sourceName, baseDir);
  }
}
