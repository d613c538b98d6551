package io.basalt.image.api;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What {@code basalt build} will make from a spec, computed without writing anything: the trees,
 * the disk layout, the artifacts and the kernel command lines (with placeholders for what only the
 * built /usr decides), and the list of values known only at build time. Immutable, thread-safe.
 *
 * @param name image name
 * @param version image version
 * @param channel update channel
 * @param arch architecture
 * @param guidSeed the seed of the disk and partition GUIDs
 * @param sourceDateEpoch SOURCE_DATE_EPOCH if the environment or the spec fixes it, else empty
 *     (derived from the base tree at build time)
 * @param base the Debian base tree's inputs
 * @param trees the trees the build makes, in build order
 * @param disk the disk layout, if the spec asks for disk.raw or disk.qcow2
 * @param usrSlotBytes the size of each USR slot: the most usr.img may take
 * @param artifacts the files written under the output folder, sorted by path, manifest.json last
 * @param commandLines the kernel command lines
 * @param knownAtBuild what is computed only while building
 * @param update the update agent's image defaults from the spec's {@code update:} section, if any
 */
public record ImagePlan(
    String name,
    String version,
    String channel,
    String arch,
    String guidSeed,
    OptionalLong sourceDateEpoch,
    Base base,
    List<Tree> trees,
    Optional<DiskLayout> disk,
    long usrSlotBytes,
    List<Artifact> artifacts,
    List<CommandLine> commandLines,
    List<String> knownAtBuild,
    Optional<Update> update) {

  /** Placeholder for the usr dm-verity root hash in command line templates. */
  public static final String USR_ROOT_HASH = "${usr.roothash}";

  /** Placeholder for the usr dm-verity hash offset in command line templates. */
  public static final String USR_HASH_OFFSET = "${usr.hashoffset}";

  public ImagePlan {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(disk, "disk");
    trees = List.copyOf(trees);
    artifacts = List.copyOf(artifacts);
    commandLines = List.copyOf(commandLines);
    knownAtBuild = List.copyOf(knownAtBuild);
    Objects.requireNonNull(update, "update");
  }

  /**
   * What the build writes for the update agent from the spec's {@code update:} section.
   *
   * @param rootFile the trusted root file on the build host
   * @param rootVersion its version
   * @param rootKeyIds the root role's key ids
   * @param rootThreshold the root role's threshold
   * @param rootPath where it goes in the image
   * @param confPath the image's default update.conf the settings go into
   * @param settings the update.conf settings (native key to value, in file order)
   */
  public record Update(
      String rootFile,
      long rootVersion,
      List<String> rootKeyIds,
      int rootThreshold,
      String rootPath,
      String confPath,
      java.util.Map<String, String> settings) {
    public Update {
      rootKeyIds = List.copyOf(rootKeyIds);
      settings = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(settings));
    }
  }

  /**
   * The Debian base tree's inputs.
   *
   * @param suite Debian suite
   * @param variant mmdebstrap variant
   * @param mirror archive URL
   * @param packages packages the spec names (their versions are known once the tree exists)
   * @param cacheKey the base tree cache key (sha256 of the inputs)
   */
  public record Base(
      String suite, String variant, String mirror, List<String> packages, String cacheKey) {
    public Base {
      packages = List.copyOf(packages);
    }
  }

  /**
   * A tree the build assembles.
   *
   * @param name short name ("usr", "esp", ...)
   * @param description what goes into it
   */
  public record Tree(String name, String description) {}

  /**
   * One output file.
   *
   * @param path path relative to the output folder
   * @param description what it is
   */
  public record Artifact(String path, String description) {}

  /**
   * A kernel command line.
   *
   * @param name where it is used ("disk slot A", "pxe")
   * @param template the command line with {@link #USR_ROOT_HASH} and {@link #USR_HASH_OFFSET}
   *     standing for the values of the built usr.img
   */
  public record CommandLine(String name, String template) {
    /** The command line with the placeholders replaced. */
    public String resolve(String usrRootHash, long usrHashOffset) {
      return template
          .replace(USR_ROOT_HASH, usrRootHash)
          .replace(USR_HASH_OFFSET, Long.toString(usrHashOffset));
    }
  }

  /** The artifact paths, in plan order. */
  public List<String> artifactPaths() {
    return artifacts.stream().map(Artifact::path).toList();
  }

  /**
   * The command line called {@code name}.
   *
   * @throws IllegalArgumentException if the plan has none of that name
   */
  public CommandLine commandLine(String name) {
    for (CommandLine c : commandLines) {
      if (c.name().equals(name)) {
        return c;
      }
    }
    throw new IllegalArgumentException("plan has no command line '" + name + "'");
  }
}
