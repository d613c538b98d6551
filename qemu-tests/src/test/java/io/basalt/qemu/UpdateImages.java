package io.basalt.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The images and TUF repositories of the update end-to-end scenarios: one repository (keys made by
 * {@code basalt repo init}) whose {@code 1.root.json} every image ships as {@code
 * /usr/share/basalt/root.json}, and images v1.0.0, v2.0.0 and v3.0.0 built by {@code basalt build
 * --spec} from specs that differ only in version (v3 also lists a unit built to fail in
 * HEALTH_UNITS). Given {@code -Dbasalt.qemu.update.images=PREFIX}, the folders {@code PREFIX-repo},
 * {@code PREFIX-v1..3} made earlier by {@link #main} are used instead of building. Not thread-safe.
 */
final class UpdateImages {
  /** Passphrase of the test repository's keys. */
  static final String PASSPHRASE = "basalt-e2e";

  /** The guest's repository URL (GuestServer at 10.0.2.100). */
  static final String UPDATE_CONF =
      String.join(
          "\n",
          "# Basalt end-to-end test site settings (the image's /etc defaults).",
          "REPOSITORY_URL=http://10.0.2.100/repo",
          "CHECK_INTERVAL=1m",
          "CHECK_JITTER=10s",
          "");

  final Path repo;
  final Path prefix;

  private UpdateImages(Path prefix) {
    this.prefix = prefix;
    this.repo = Path.of(prefix + "-repo");
  }

  /**
   * The build folder of version {@code major}.0.0.
   *
   * @throws IOException if it has no manifest.json (not built)
   */
  Path image(int major) throws IOException {
    Path p = Path.of(prefix + "-v" + major);
    if (!Files.isRegularFile(p.resolve("manifest.json"))) {
      throw new IOException(p + " has no manifest.json: build it with UpdateImages.main " + prefix);
    }
    return p;
  }

  /**
   * The images: from {@code -Dbasalt.qemu.update.images=PREFIX} when set, else built under {@code
   * work} (minutes per image; the Debian base tree comes from the user's cache).
   */
  static UpdateImages get(Path work) throws Exception {
    String given = System.getProperty("basalt.qemu.update.images");
    if (given != null) {
      return new UpdateImages(Path.of(given));
    }
    return build(work.resolve("build"));
  }

  /**
   * Waits (up to {@code timeout}) for the build folder of {@code major}.0.0 to be complete: with
   * given images a build may still be running while the first VM boots.
   *
   * @throws IOException if it is still missing after the timeout
   */
  Path awaitImage(int major, java.time.Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!Files.isRegularFile(Path.of(prefix + "-v" + major).resolve("manifest.json"))
        && System.nanoTime() < deadline) {
      Thread.sleep(10_000);
    }
    return image(major);
  }

  /**
   * Builds the repository and the three images into {@code PREFIX-repo} and {@code PREFIX-v1..3}.
   */
  static UpdateImages build(Path prefix) throws Exception {
    UpdateImages u = new UpdateImages(prefix);
    Path specs = u.specs();
    String shipped;
    try (var in = UpdateImages.class.getResourceAsStream("/basalt/update.conf")) {
      shipped = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Files.writeString(
        specs.resolve("update-v3-defaults.conf"),
        shipped + "HEALTH_UNITS=basalt-e2e-broken.service\n");
    u.buildMissing(specs, 3, UpdateImages::spec);
    return u;
  }

  /** Builds versions 1..{@code last} from {@code spec(v)} where their folder has no manifest. */
  private void buildMissing(Path specs, int last, java.util.function.IntFunction<String> spec)
      throws IOException, InterruptedException {
    for (int v = 1; v <= last; v++) {
      Path file = specs.resolve("v" + v + ".yaml");
      Files.writeString(file, spec.apply(v));
      Path out = Path.of(prefix + "-v" + v);
      if (!Files.isRegularFile(out.resolve("manifest.json"))) {
        basalt("build", "--spec", file.toString(), "--out", out.toString());
      }
    }
  }

  /**
   * A copy of the test repository at {@code dest} with versions {@code majors}.0.0 published on
   * channel stable (none: the repository as made, nothing offered).
   *
   * @throws IOException if copying or {@code basalt repo publish} fails
   */
  Path repository(Path dest, int... majors) throws IOException, InterruptedException {
    copyTree(repo, dest);
    for (int m : majors) {
      basalt(
          "repo",
          "publish",
          "-r",
          dest.toString(),
          image(m).resolve("update").toString(),
          "--channel",
          "stable");
    }
    return dest;
  }

  /**
   * The build folder of 4.0.0: v1 plus one Debian package ({@code jq} and its libraries), for the
   * update benchmark's one-package delta; built when missing (a new base tree: mmdebstrap,
   * minutes).
   *
   * @throws IOException if the build fails
   */
  Path onePackage() throws IOException, InterruptedException {
    Path out = Path.of(prefix + "-v4");
    if (!Files.isRegularFile(out.resolve("manifest.json"))) {
      Path spec = specs().resolve("v4.yaml");
      Files.writeString(spec, spec(4));
      basalt("build", "--spec", spec.toString(), "--out", out.toString());
    }
    return out;
  }

  /**
   * The images of the cluster scenario: v1.0.0 and v2.0.0 of the default image plus Debian's {@code
   * docker-registry} (the "Coming from CoreOS" page's image spec), with the test repository's root
   * and site settings like the others: from {@code -Dbasalt.qemu.cluster.images=PREFIX} when set
   * (made by {@code UpdateImages PREFIX cluster}), else built under {@code work}.
   */
  static UpdateImages cluster(Path work) throws Exception {
    String given = System.getProperty("basalt.qemu.cluster.images");
    if (given != null) {
      return new UpdateImages(Path.of(given));
    }
    return buildCluster(work.resolve("build-cluster"));
  }

  /**
   * Builds the repository and the cluster images into {@code PREFIX-repo}, {@code PREFIX-v1..2}.
   */
  static UpdateImages buildCluster(Path prefix) throws Exception {
    UpdateImages u = new UpdateImages(prefix);
    u.buildMissing(u.specs(), 2, UpdateImages::clusterSpec);
    return u;
  }

  /** A new repository (when missing) and the specs folder with its root and site settings. */
  private Path specs() throws IOException, InterruptedException {
    Files.createDirectories(prefix.getParent());
    if (!Files.isRegularFile(repo.resolve("metadata/1.root.json"))) {
      deleteTree(repo);
      basalt("repo", "init", "-r", repo.toString());
    }
    Path specs = Path.of(prefix + "-specs");
    Files.createDirectories(specs);
    Files.copy(
        repo.resolve("metadata/1.root.json"),
        specs.resolve("root.json"),
        StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(specs.resolve("update.conf"), UPDATE_CONF);
    return specs;
  }

  /** The cluster image spec of version {@code major}.0.0. */
  static String clusterSpec(int major) {
    return "version: "
        + major
        + ".0.0\n"
        + "debian:\n  extra-packages: [docker-registry]\n"
        + "files:\n"
        + "  - path: /usr/share/basalt/root.json\n    source: root.json\n"
        + "  - path: /etc/basalt/update.conf\n    source: update.conf\n";
  }

  /** The image spec of version {@code major}.0.0 (4: v1 + jq). */
  static String spec(int major) {
    StringBuilder s = new StringBuilder();
    s.append("version: ").append(major).append(".0.0\n");
    if (major == 4) {
      s.append("debian:\n  extra-packages: [jq]\n");
    }
    s.append("files:\n");
    s.append("  - path: /usr/share/basalt/root.json\n    source: root.json\n");
    s.append("  - path: /etc/basalt/update.conf\n    source: update.conf\n");
    if (major == 3) {
      s.append(
          "  # v3 is built to fail its health check: the agent's HEALTH_UNITS lists a unit that fails.\n");
      s.append("  - path: /usr/share/basalt/update.conf\n    source: update-v3-defaults.conf\n");
      s.append("  - path: /usr/lib/systemd/system/basalt-e2e-broken.service\n    content: |\n");
      s.append(
          "      [Unit]\n      Description=A service built to fail (v3 of the update end-to-end test)\n");
      s.append(
          "      [Service]\n      Type=oneshot\n      RemainAfterExit=yes\n      ExecStart=/bin/false\n");
      s.append(
          "  - path: /usr/lib/systemd/system/multi-user.target.d/50-e2e-broken.conf\n    content: |\n");
      s.append("      [Unit]\n      Wants=basalt-e2e-broken.service\n");
    }
    return s.toString();
  }

  /**
   * Runs the {@code basalt} CLI in a child JVM (the test's class path) with the repository
   * passphrase in its environment; returns its output.
   *
   * @throws IOException with the output when it exits non-zero
   */
  static String basalt(String... args) throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                "io.basalt.image.cli.Basalt"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("BASALT_KEY_PASSPHRASE", PASSPHRASE);
    pb.environment().put("SOURCE_DATE_EPOCH", "1700000000");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("basalt " + String.join(" ", args) + " failed:\n" + out);
    }
    return out;
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Copies a repository folder; targets/ files are hard-linked when possible (never modified in
   * place).
   */
  static void copyTree(Path from, Path to) throws IOException {
    try (var s = Files.walk(from)) {
      for (Path p : s.sorted().toList()) {
        Path d = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(d);
        } else if (!from.relativize(p).toString().startsWith("targets/")) {
          Files.copy(p, d, StandardCopyOption.REPLACE_EXISTING);
        } else {
          try {
            Files.createLink(d, p);
          } catch (IOException | UnsupportedOperationException e) {
            Files.copy(p, d, StandardCopyOption.REPLACE_EXISTING);
          }
        }
      }
    }
  }

  /**
   * {@code UpdateImages PREFIX}: builds the repository and the images for {@code
   * -Dbasalt.qemu.update.images=PREFIX}; {@code UpdateImages PREFIX cluster} those for {@code
   * -Dbasalt.qemu.cluster.images=PREFIX}.
   */
  public static void main(String[] args) throws Exception {
    if (args.length > 1 && args[1].equals("cluster")) {
      buildCluster(Path.of(args[0]).toAbsolutePath());
    } else {
      build(Path.of(args[0]).toAbsolutePath());
    }
  }
}
