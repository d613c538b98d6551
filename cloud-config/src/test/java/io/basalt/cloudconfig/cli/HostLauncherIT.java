package io.basalt.cloudconfig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host's launchers, init-units' {@code /usr/lib/basalt/cloud-config} (run by
 * basalt-cloudinit.service) and {@code /usr/lib/basalt/java-run} (the runtime, flags and start-up
 * caches of every Basalt program), on this JVM with a lib directory laid out as on the host: {@code
 * java-run --make-cache} makes the start-up cache for a usrhash (an AppCDS archive before Java 25,
 * an ahead-of-time cache from 25 on), it is used only for that usrhash, the JDK's own archive
 * otherwise, and the output is the same either way. On the test JVM's runtime here; {@link
 * HostLauncherJava25IT} runs the same on a Java 25 or later (the image's release).
 */
class HostLauncherIT {

  private static final Path RESOURCES =
      Path.of("..", "init-units", "src", "main", "resources", "basalt");
  private static final Path SCRIPT = RESOURCES.resolve("libexec/cloud-config");
  private static final Path JAVA_RUN = RESOURCES.resolve("libexec/java-run");

  /** The runtime the launchers run on: the test JVM's, or another (see the subclass). */
  Path javaHome() {
    return Path.of(System.getProperty("java.home"));
  }

  private static final Pattern RUNTIME_JAR =
      Pattern.compile("(snakeyaml|picocli|jackson-[a-z-]+|basalt-host-contract)-\\d[^/]*\\.jar");
  private static final String HASH_A = "a".repeat(64);
  private static final String HASH_B = "0123456789abcdef".repeat(4);

  @TempDir Path tmp;
  private Path lib;
  private Path cds;
  private Path cmdline;
  private Path config;

  /** Environment set after the defaults of {@link #launch} (e.g. another BASALT_JAVA). */
  private final Map<String, String> extraEnv = new HashMap<>();

  /** Words appended to the kernel command line {@link #launch} writes. */
  private String cmdlineExtra = "";

  /** The feature release in {@code home}'s release file (JAVA_VERSION="25.0.1" is 25). */
  static int feature(Path home) {
    try {
      for (String l : Files.readAllLines(home.resolve("release"))) {
        if (l.startsWith("JAVA_VERSION=\"")) {
          return Integer.parseInt(l.substring(14).split("[^0-9]")[0]);
        }
      }
    } catch (IOException | NumberFormatException e) {
      throw new IllegalStateException("no release file with JAVA_VERSION under " + home, e);
    }
    throw new IllegalStateException("no JAVA_VERSION in " + home.resolve("release"));
  }

  /** The cache file extension for {@link #javaHome}: aot from 25 on, else jsa. */
  private String ext() {
    return feature(javaHome()) >= 25 ? "aot" : "jsa";
  }

  @BeforeEach
  void layout() throws IOException {
    assertTrue(Files.isRegularFile(SCRIPT), "launcher not found at " + SCRIPT.toAbsolutePath());
    lib = Files.createDirectories(tmp.resolve("basalt/lib"));
    Files.createDirectories(lib.resolveSibling("training"));
    Files.copy(
        RESOURCES.resolve("training/cloud-config.yml"),
        lib.resolveSibling("training").resolve("cloud-config.yml"));
    Files.copy(cloudConfigJar(), lib.resolve("basalt-cloud-config.jar"));
    int deps = 0;
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path p = Path.of(e);
      if (RUNTIME_JAR.matcher(p.getFileName().toString()).matches()) {
        Files.copy(p, lib.resolve(p.getFileName()));
        deps++;
      }
    }
    assertTrue(
        deps >= 3, "runtime jars (snakeyaml, picocli, jackson) on the test classpath: " + deps);
    cds = tmp.resolve("cache/basalt/java");
    cmdline = tmp.resolve("cmdline");
    config = tmp.resolve("config.yml");
    Files.writeString(
        config,
        "#cloud-config\nhostname: node1\ncoreos:\n  fleet:\n    metadata: role=web\n"
            + "  units:\n    - name: app.service\n      command: start\n      content: |\n        [Service]\n"
            + "        ExecStart=/bin/true\n");
  }

  /**
   * The packaged cloud-config jar (CDS archives classes from jars only, never from directories).
   */
  private static Path cloudConfigJar() throws IOException {
    try (Stream<Path> s = Files.list(Path.of("target"))) {
      return s.filter(
              p ->
                  p.getFileName().toString().matches("basalt-cloud-config-[^-].*\\.jar")
                      && !p.getFileName().toString().endsWith("-sources.jar")
                      && !p.getFileName().toString().endsWith("-tests.jar"))
          .findFirst()
          .orElseThrow(
              () -> new IllegalStateException("no packaged basalt-cloud-config jar under target/"));
    }
  }

  private record Run(int code, String out) {}

  private Run launch(String usrhash, String jvmLog, String... args) throws Exception {
    Files.writeString(
        cmdline,
        "BOOT_IMAGE=/vmlinuz ro console=ttyS0"
            + (usrhash == null ? "" : " usrhash=" + usrhash)
            + cmdlineExtra
            + " *\n");
    List<String> cmd = new ArrayList<>(List.of("sh"));
    if (args.length > 0 && args[0].equals("--make-cache")) {
      cmd.add(JAVA_RUN.toAbsolutePath().toString());
    } else {
      cmd.add(SCRIPT.toAbsolutePath().toString());
    }
    cmd.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).directory(new File(tmp.toString()));
    Map<String, String> env = pb.environment();
    env.put("BASALT_JAVA_RUN", JAVA_RUN.toAbsolutePath().toString());
    env.put("BASALT_JAVA_HOME", javaHome().toString());
    env.put("BASALT_LIB", lib.getParent().toString());
    env.put("BASALT_JAVA_CACHE", cds.toString());
    env.put("BASALT_CMDLINE", cmdline.toString());
    env.remove("JAVA_TOOL_OPTIONS");
    env.remove("_JAVA_OPTIONS");
    if (jvmLog != null) {
      env.put("JAVA_TOOL_OPTIONS", jvmLog);
    }
    env.putAll(extraEnv);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("launcher did not finish: " + cmd);
    }
    return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private List<String> archives() throws IOException {
    if (!Files.isDirectory(cds)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(cds)) {
      return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  /** Lines of a -Xlog:class+load run saying a Basalt class came from the application archive. */
  private static long fromAppArchive(String out) {
    return out.lines()
        .filter(
            l -> l.contains(" io.basalt.cloudconfig.") && l.contains("source: shared objects file"))
        .count();
  }

  private static String withoutJvmLog(String out) {
    return out.lines()
        .filter(l -> !l.startsWith("[") && !l.startsWith("Picked up JAVA_TOOL_OPTIONS"))
        .collect(Collectors.joining("\n"));
  }

  @Test
  void makesTheArchiveForThisUsrAndUsesItOnlyForThatUsr() throws Exception {
    Run plain = launch(HASH_A, null, "validate", config.toString());
    assertEquals(0, plain.code(), plain.out());
    assertTrue(plain.out().contains("warning"), "fleet is not shipped: a warning: " + plain.out());
    assertEquals(List.of(), archives(), "no cache before --make-cache");

    Run made = launch(HASH_A, null, "--make-cache", "cloud-config");
    assertEquals(0, made.code(), made.out());
    assertEquals(List.of("cloud-config-" + HASH_A + "." + ext()), archives(), made.out());
    Run again = launch(HASH_A, null, "--make-cache", "cloud-config");
    assertEquals(0, again.code(), again.out());
    assertTrue(again.out().contains("is there"), again.out());

    Run archived = launch(HASH_A, "-Xlog:class+load", "validate", config.toString());
    assertEquals(0, archived.code(), archived.out());
    assertTrue(
        fromAppArchive(archived.out()) > 20,
        "cloud-config's classes come from the start-up cache:\n" + archived.out());
    assertEquals(plain.out().strip(), withoutJvmLog(archived.out()).strip());

    // Another /usr (an update): that archive is not used, the run is the same without it.
    Run other = launch(HASH_B, "-Xlog:class+load", "validate", config.toString());
    assertEquals(0, other.code(), other.out());
    assertEquals(0, fromAppArchive(other.out()), other.out());
    assertTrue(
        other.out().contains("source: shared objects file"),
        "the JDK's own archive still is: " + other.out().lines().count());
    assertEquals(plain.out().strip(), withoutJvmLog(other.out()).strip());

    // Its archive replaces the old one.
    Run madeB = launch(HASH_B, null, "--make-cache", "cloud-config");
    assertEquals(0, madeB.code(), madeB.out());
    assertEquals(List.of("cloud-config-" + HASH_B + "." + ext()), archives());

    // render through the launcher writes the same tree with and without the archive.
    Path r1 = tmp.resolve("r1");
    Path r2 = tmp.resolve("r2");
    Run withCds = launch(HASH_B, null, "render", config.toString(), "--root", r1.toString());
    Run without = launch(null, null, "render", config.toString(), "--root", r2.toString());
    assertEquals(0, withCds.code(), withCds.out());
    assertEquals(
        withCds.out().replace(r1.toString(), "R"), without.out().replace(r2.toString(), "R"));
    assertEquals(
        Files.readString(r1.resolve("etc/systemd/system/app.service")),
        Files.readString(r2.resolve("etc/systemd/system/app.service")));
  }

  @Test
  void withoutUsrhashNoArchiveIsMadeAndTheCommandStillRuns() throws Exception {
    Run made = launch(null, null, "--make-cache", "cloud-config");
    assertEquals(0, made.code(), made.out());
    assertTrue(made.out().contains("no usrhash="), made.out());
    assertEquals(List.of(), archives());
    Run bad = launch("../../etc/x", null, "--make-cache", "cloud-config");
    assertEquals(0, bad.code(), bad.out());
    assertEquals(List.of(), archives(), "a usrhash= that is not lower-case hex names no file");
    Run run = launch(null, null, "validate", config.toString());
    assertEquals(0, run.code(), run.out());
    assertFalse(run.out().contains("error"), run.out());
  }

  /**
   * The boot's command with no datasource there at all prints what the Java command prints and
   * exits 0 without starting a JVM; any datasource there (even an empty file), a cloud-config-url=,
   * or any other command or option goes to the JVM.
   */
  @Test
  void theServiceCommandWithNoDatasourceThereRunsNoJvm() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Files.createDirectories(root.resolve("run/basalt/oem"));
    Files.createDirectories(root.resolve("run/basalt/config-2"));
    Files.createDirectories(root.resolve("etc/basalt"));
    // The Java command's own answer for this root (with --root it never takes the fast path).
    Run java =
        launch(
            HASH_A,
            null,
            "apply",
            "--from-datasources",
            "--url-timeout",
            "120",
            "--root",
            root.toString());
    assertEquals(0, java.code(), java.out());
    assertTrue(java.out().contains("no datasource has user-data; nothing to apply"), java.out());

    Path fake = tmp.resolve("fake-java-run");
    Files.writeString(fake, "#!/bin/sh\necho \"JVM started: $*\"\nexit 42\n");
    Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
    extraEnv.put("BASALT_JAVA_RUN", fake.toString());
    extraEnv.put("BASALT_ROOT", root.toString());

    Run fast = launch(HASH_A, null, "apply", "--from-datasources", "--url-timeout", "120");
    assertEquals(0, fast.code(), fast.out());
    assertEquals(
        java.out().strip(), fast.out().strip(), "the same lines as the Java command, no JVM");
    assertEquals(
        0,
        launch(
                null,
                null,
                "apply",
                "--url-timeout=5",
                "--from-datasources",
                "--command-timeout",
                "9")
            .code());

    // Other commands and options always go to the JVM.
    for (List<String> args :
        List.of(
            List.of("apply", "--from-datasources", "--root", root.toString()),
            List.of("apply", "--from-datasources", "--dry-run"),
            List.of("apply", config.toString()),
            List.of("apply"),
            List.of("validate", config.toString()),
            List.of("apply", "--from-datasources", "--url-timeout"))) {
      Run r = launch(HASH_A, null, args.toArray(String[]::new));
      assertEquals(42, r.code(), args + ": " + r.out());
      assertTrue(
          r.out().contains("JVM started: ") && r.out().contains(String.join(" ", args)), r.out());
    }

    // Each datasource, present even as an empty file or folder, goes to the JVM.
    for (String there :
        List.of(
            "run/basalt/oem/cloud-config.yml",
            "run/basalt/config-2/openstack/",
            "run/basalt/context/context.sh",
            "etc/basalt/cloud-config.yml")) {
      Path p = root.resolve(there);
      if (there.endsWith("/")) {
        Files.createDirectories(p);
      } else {
        Files.createDirectories(p.getParent());
        Files.write(p, new byte[0]);
      }
      Run r = launch(HASH_A, null, "apply", "--from-datasources", "--url-timeout", "120");
      assertEquals(42, r.code(), there + ": " + r.out());
      Files.delete(p);
      assertEquals(
          0, launch(HASH_A, null, "apply", "--from-datasources").code(), "after removing " + there);
    }
    cmdlineExtra = " cloud-config-url=http://10.0.2.2:8080/user-data";
    Run url = launch(HASH_A, null, "apply", "--from-datasources", "--url-timeout", "120");
    assertEquals(42, url.code(), url.out());
  }
}
