package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.HostPaths;
import io.basalt.signing.tuf.client.HttpFetcher;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.update.install.HttpRangeSource;
import io.basalt.update.install.VerityVerifier;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * README.md's "Your first update", command by command, with the CLI jar this build packaged ({@code
 * ./basalt} runs the same jar): {@code repo init}, a spec with an {@code update:} section, {@code
 * build --plan}, {@code build} of 1.0.0 and 1.1.0, {@code repo publish}, {@code repo serve} on
 * loopback. The machine running 1.0.0 is the update agent itself ({@link UpdateAgent}, with its
 * {@link UpdateConfig} loader and TUF updater) over a host root holding the two update files taken
 * out of 1.0.0's usr.img with unsquashfs: it must offer 1.1.0, and its updater must fetch 1.1.0's
 * payload from the served repository byte for byte. Booting that machine under QEMU is qemu-tests'
 * part. Differences from the README: the repository URL is loopback (the README's is the address a
 * QEMU guest reaches the host at) and the builds write only usr.img and update/ (the disk images
 * play no part here). Uses the shared base tree cache (~/.cache/basalt/base).
 */
class FirstUpdateWalkthroughIT {
  private static final Path JAR = Path.of("target", "basalt.jar").toAbsolutePath();
  private static final String PASSPHRASE = "walkthrough passphrase";

  @TempDir Path tmp;

  private final List<Process> started = new ArrayList<>();

  /** Runs {@code basalt ARGS...} (the packaged jar) to completion; returns its stdout. */
  private String basalt(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(javaBin(), "-jar", JAR.toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("BASALT_KEY_PASSPHRASE", PASSPHRASE);
    pb.environment().put("SOURCE_DATE_EPOCH", "1700000000");
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.MINUTES), "basalt " + args[0] + " finished");
    assertEquals(0, p.exitValue(), "basalt " + String.join(" ", args) + "\n" + out);
    return out;
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  @Test
  @Timeout(value = 45, unit = TimeUnit.MINUTES)
  void aMachineOnTheFirstVersionSeesTheSecondFromTheServedRepository() throws Exception {
    assertTrue(Files.isRegularFile(JAR), JAR + " (packaged before the integration tests)");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path repo = tmp.resolve("basalt-repo");
    Path site = tmp.resolve("basalt-site");
    Path specFile = site.resolve("spec.yaml");
    try {
      // 1. A repository.
      basalt("repo", "init", "-r", repo.toString());

      // 2. A spec with an update: section naming the repository's root.
      Files.createDirectories(site);
      Files.copy(repo.resolve("metadata/1.root.json"), site.resolve("root.json"));
      String spec =
          "version: 1.0.0\n"
              + "update:\n"
              + "  repository: http://127.0.0.1:"
              + port
              + "\n"
              + "  root: root.json\n"
              + "  settings:\n"
              + "    REBOOT_STRATEGY: reboot\n"
              + "    REBOOT_GRACE: \"0\"\n"
              + "outputs: [usr.img, update]\n";
      Files.writeString(specFile, spec, StandardCharsets.UTF_8);
      String plan = basalt("build", "--spec", specFile.toString(), "--plan");
      assertTrue(plan.contains("REPOSITORY_URL=http://127.0.0.1:" + port + "\n"), plan);
      assertTrue(plan.contains("-> " + HostPaths.SHIPPED_TUF_ROOT), plan);

      // 3. Version 1.0.0, then 1.1.0.
      Path v1 = tmp.resolve("out/v1");
      Path v2 = tmp.resolve("out/v2");
      basalt("build", "--spec", specFile.toString(), "--out", v1.toString());
      Files.writeString(specFile, spec.replace("1.0.0", "1.1.0"), StandardCharsets.UTF_8);
      basalt("build", "--spec", specFile.toString(), "--out", v2.toString());

      // 4. Publish 1.1.0 and serve the repository.
      basalt("repo", "publish", "-r", repo.toString(), v2.resolve("update").toString());
      serve(repo, port);

      // 5. The 1.0.0 machine: its update files as the image ships them.
      Path host = tmp.resolve("host");
      Path usr = host.resolve("usr");
      Files.createDirectories(host);
      Process un =
          new ProcessBuilder(
                  "unsquashfs",
                  "-no-progress",
                  "-d",
                  usr.toString(),
                  v1.resolve("usr.img").toString(),
                  "share/basalt/root.json",
                  "share/basalt/update.conf")
              .redirectErrorStream(true)
              .start();
      String unOut = new String(un.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, un.waitFor(), unOut);
      AgentPaths paths = new AgentPaths(host);
      Files.createDirectories(paths.cmdline().getParent());
      Files.writeString(
          paths.cmdline(),
          "console=ttyS0 basalt.version=1.0.0 basalt.slot=A\n",
          StandardCharsets.UTF_8);
      Files.createDirectories(host.resolve("efi/loader/entries"));
      assertEquals(
          Files.readString(repo.resolve("metadata/1.root.json")),
          Files.readString(paths.shippedRoot()));

      List<String> log = new ArrayList<>();
      UpdateAgent agent =
          new UpdateAgent(
              paths,
              Clock.systemUTC(),
              new HttpFetcher(),
              new HttpRangeSource(Duration.ofSeconds(60)),
              VerityVerifier.veritysetup(),
              c -> {
                throw new IOException("no reboot in this test");
              },
              log::add,
              new Random(0));
      agent.start();
      String message = agent.runCycle(false, null, false);
      assertEquals("update available: 1.0.0 -> 1.1.0", message, String.join("\n", log));
      assertEquals("1.1.0", agent.status().available(), message + "\n" + log);
      assertEquals("stable", agent.status().channel());
      assertEquals("reboot", agent.status().strategy());

      // 6. The agent's updater (trusted metadata seeded from the shipped root) fetches 1.1.0's
      // payload from the served repository.
      UpdateConfig c = UpdateConfig.load(paths.defaultsConf(), paths.overridesConf());
      Updater updater =
          new Updater(
              paths.tufDir(),
              c.metadataUrl(),
              c.targetsUrl(),
              new HttpFetcher(),
              Clock.systemUTC());
      updater.refresh();
      Path downloads = Files.createDirectories(tmp.resolve("downloads"));
      for (String name : List.of("usr.img", "vmlinuz", "initramfs")) {
        TargetInfo info =
            updater
                .getTargetInfo("stable/x86-64/1.1.0/" + name)
                .orElseThrow(() -> new AssertionError(name));
        Path got = updater.downloadTarget(info, downloads);
        assertEquals(sha256(v2.resolve("update").resolve(name)), sha256(got), name);
      }
    } finally {
      for (Process p : started) {
        p.destroy();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** {@code basalt repo serve -r REPO --port PORT} in the background, until it answers. */
  private void serve(Path repo, int port) throws Exception {
    List<String> cmd =
        List.of(
            javaBin(),
            "-jar",
            JAR.toString(),
            "repo",
            "serve",
            "-r",
            repo.toString(),
            "--port",
            Integer.toString(port));
    started.add(new ProcessBuilder(cmd).inheritIO().start());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        return;
      } catch (IOException e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("basalt repo serve did not listen on " + port, e);
        }
        Thread.sleep(200);
      }
    }
  }

  private static String sha256(Path p) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    try (var in = Files.newInputStream(p)) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        d.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(d.digest());
  }
}
