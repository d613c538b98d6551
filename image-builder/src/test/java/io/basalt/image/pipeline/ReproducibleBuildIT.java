package io.basalt.image.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.api.BuildResult;
import io.basalt.image.api.Progress;
import io.basalt.image.base.BaseTreeCache;
import io.basalt.image.base.BootstrapRunner;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.usr.UsrAssembler;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two builds of the default image from the same cached base tree with the same SOURCE_DATE_EPOCH
 * give byte-identical artifacts; the disk passes sgdisk's checks and the ESP holds the boot entry.
 * Uses the shared base tree cache (~/.cache/basalt/base): the first run on a machine bootstraps it
 * with mmdebstrap (Debian mirror), later runs only read it.
 */
class ReproducibleBuildIT {
  @TempDir Path dir;

  private BuildResult build(Path out) throws Exception {
    // The default image; zstd level 3 instead of 15 keeps two builds within the CI budget
    // (reproducibility does not depend on the level).
    ImageSpec spec = ImageSpec.parse("compressor-level: 3\n", "it-spec.yaml", null);
    Path cache =
        BaseTreeCache.defaultRoot(System.getenv(), Path.of(System.getProperty("user.home")));
    BuildPipeline.Config cfg =
        new BuildPipeline.Config(
            spec,
            out,
            OptionalLong.of(1_700_000_000L),
            new BaseTreeCache(cache, BootstrapRunner.mmdebstrap()),
            UsrAssembler::basaltJarsFromClasspath,
            UsrAssembler.InitUnitsInstaller.fromClasspath(),
            "test",
            new Progress() {
              @Override
              public void stageStarted(int index, int total, String name, String what) {
                System.err.println("[" + index + "/" + total + "] " + name + ": " + what);
              }

              @Override
              public void detail(String line) {}

              @Override
              public void stageFinished(String name, long nanos, String result) {
                System.err.println(
                    "    " + name + ": " + result + " (" + nanos / 1_000_000 + " ms)");
              }
            });
    return BuildPipeline.run(cfg);
  }

  @Test
  @Timeout(value = 40, unit = TimeUnit.MINUTES)
  void twoBuildsAreByteIdentical() throws Exception {
    BuildResult a = build(dir.resolve("a"));
    BuildResult b = build(dir.resolve("b"));
    assertEquals(a.artifacts(), b.artifacts(), "every artifact's path, size and sha256");
    assertEquals(a.usrRootHash(), b.usrRootHash());
    List<String> paths = a.artifacts().stream().map(BuildResult.Artifact::path).toList();
    assertTrue(
        paths.containsAll(
            List.of(
                "disk.raw",
                "usr.img",
                "usr.roothash",
                "manifest.json",
                "pxe/vmlinuz",
                "pxe/initramfs",
                "pxe/usr.img",
                "update/usr.img",
                "update/payload.json",
                "update/vmlinuz",
                "update/initramfs")),
        paths.toString());
    for (BuildResult.Artifact art : a.artifacts()) {
      assertEquals(art.sha256(), sha256Hex(dir.resolve("a").resolve(art.path())), art.path());
    }
    try (Stream<Path> s = Files.list(dir.resolve("a"))) {
      assertTrue(
          s.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no partial files left");
    }
    assertEquals(a.usrRootHash() + "\n", Files.readString(dir.resolve("a/usr.roothash")));

    Path raw = dir.resolve("a/disk.raw");
    String sgdisk = run(List.of("sgdisk", "-v", raw.toString()));
    assertTrue(sgdisk.contains("No problems found"), sgdisk);
    String parts = run(List.of("sgdisk", "-p", raw.toString()));
    for (String label : new String[] {"EFI-SYSTEM", "USR-A", "USR-B", "OEM", "ROOT"}) {
      assertTrue(parts.contains(label), parts);
    }
    // the ESP starts at 1 MiB: list the entries folder with mtools
    String entries = run(List.of("mdir", "-b", "-i", raw + "@@1048576", "::/loader/entries"));
    assertTrue(entries.contains("basalt-0.1.0-A+3.conf"), entries);
    String conf =
        run(List.of("mtype", "-i", raw + "@@1048576", "::/loader/entries/basalt-0.1.0-A+3.conf"));
    assertTrue(conf.contains("usrhash=" + a.usrRootHash()), conf);
    String manifest = Files.readString(dir.resolve("a/manifest.json"), StandardCharsets.UTF_8);
    assertTrue(manifest.contains("\"systemd\""), "package list with versions");
  }

  private static String run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), cmd + " timed out");
      assertEquals(0, p.exitValue(), cmd + ": " + out);
      return out;
    } finally {
      p.destroyForcibly();
    }
  }

  private static String sha256Hex(Path file) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
