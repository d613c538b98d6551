package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.image.spec.ImageSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BuildCommandTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(BuildCommand bc, String... args) {
    CommandLine cl = new CommandLine(bc);
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void badSpecExitsTwoNamingFileLineAndColumn() throws Exception {
    Path spec = dir.resolve("bad.yaml");
    Files.writeString(spec, "name: x\ncompresor: zstd\n");
    int rc = run(new BuildCommand(), "--spec", spec.toString(), "--json");
    assertEquals(2, rc);
    assertTrue(err.toString().contains(spec + ":2:1: unknown key 'compresor'"), err.toString());
    assertTrue(out.toString().contains("\"ok\":false"), out.toString());
  }

  @Test
  void badIsoCloudConfigExitsTwoBeforeAnyStage() throws Exception {
    Path cc = dir.resolve("cc.yml");
    Files.writeString(cc, "#cloud-config\nusers: 3\n");
    BuildCommand bc = new BuildCommand();
    bc.runner =
        (d, tar, log) -> {
          throw new AssertionError("no stage may run");
        };
    bc.env = Map.of();
    int rc =
        run(
            bc,
            "--iso-cloud-config",
            cc.toString(),
            "--out",
            dir.resolve("out").toString(),
            "--cache",
            dir.resolve("cache").toString());
    assertEquals(2, rc);
    assertTrue(err.toString().contains(cc + ":2:"), err.toString());
    assertTrue(err.toString().contains("error"), err.toString());

    Files.writeString(cc, "#cloud-config\nhostname: node1\n");
    assertEquals(null, BuildCommand.checkCloudConfig(cc, ImageSpec.loadDefault()));
    assertTrue(
        BuildCommand.checkCloudConfig(cc, ImageSpec.parse("outputs: [pxe]\n", "s.yaml", null))
            .contains("no iso"));
  }

  @Test
  void bootstrapFailureExitsThreeAndWritesNoOutputs() throws Exception {
    BuildCommand bc = new BuildCommand();
    AtomicInteger runs = new AtomicInteger();
    bc.runner =
        (d, tar, log) -> {
          runs.incrementAndGet();
          throw new IOException("mmdebstrap failed with exit code 1");
        };
    bc.env = Map.of();
    Path outDir = dir.resolve("out");
    int rc = run(bc, "--out", outDir.toString(), "--cache", dir.resolve("cache").toString());
    assertEquals(3, rc);
    assertEquals(1, runs.get());
    assertTrue(
        err.toString().contains("failed at stage base tree: mmdebstrap failed with exit code 1"),
        err.toString());
    assertTrue(err.toString().contains("[1/"), err.toString());
    try (var s = Files.list(outDir)) {
      assertEquals(0, s.count(), "no partial outputs left");
    }
  }

  @Test
  void badSourceDateEpochIsAUsageError() {
    BuildCommand bc = new BuildCommand();
    bc.env = Map.of("SOURCE_DATE_EPOCH", "yesterday");
    assertEquals(2, run(bc, "--out", dir.resolve("o").toString()));
    assertTrue(
        err.toString()
            .contains("SOURCE_DATE_EPOCH: expected seconds since 1970, found \"yesterday\""),
        err.toString());
  }

  @Test
  void badBlockCacheSizeIsAUsageErrorNamingTheOption() {
    BuildCommand bc = new BuildCommand();
    bc.env = Map.of();
    assertEquals(2, run(bc, "--out", dir.resolve("o").toString(), "--block-cache-size", "lots"));
    assertTrue(
        err.toString().contains("--block-cache-size: expected a size such as 500MiB"),
        err.toString());
  }

  @Test
  void blockCacheSizesParseWithBinaryUnits() {
    assertEquals(4096, BuildCommand.parseSize("4096").getAsLong());
    assertEquals(500L << 20, BuildCommand.parseSize("500MiB").getAsLong());
    assertEquals(2L << 30, BuildCommand.parseSize(" 2 GiB").getAsLong());
    assertFalse(BuildCommand.parseSize("2GB").isPresent());
    assertFalse(BuildCommand.parseSize("-1").isPresent());
    assertFalse(BuildCommand.parseSize("999999999999999TiB").isPresent());
  }

  @Test
  void planJsonPrintsTheLayoutAndWritesNothing() throws Exception {
    BuildCommand bc = new BuildCommand();
    AtomicInteger runs = new AtomicInteger();
    bc.runner = (d, tar, log) -> runs.incrementAndGet();
    bc.env = Map.of("SOURCE_DATE_EPOCH", "1700000000");
    Path outDir = dir.resolve("out");
    Path cacheDir = dir.resolve("cache");
    int rc =
        run(bc, "--plan", "--json", "--out", outDir.toString(), "--cache", cacheDir.toString());
    assertEquals(0, rc, err.toString());
    assertEquals(0, runs.get());
    try (var s = Files.list(dir)) {
      assertEquals(0, s.count(), "no out dir, no cache dir");
    }
    JsonNode n = new ObjectMapper().readTree(out.toString());
    assertEquals(1700000000L, n.get("sourceDateEpoch").asLong());
    assertFalse(n.get("base").get("cached").asBoolean());
    JsonNode parts = n.get("disk").get("partitions");
    assertEquals(5, parts.size());
    assertEquals("EFI-SYSTEM", parts.get(0).get("label").asText());
    assertEquals(2048, parts.get(0).get("startLba").asLong());
    assertEquals(2048 + 256 * 2048 - 1, parts.get(0).get("endLba").asLong());
    assertEquals("USR-A", parts.get(1).get("label").asText());
    assertEquals(2048 + 256 * 2048, parts.get(1).get("startLba").asLong());
    assertEquals("8484680c-9521-48c6-9c11-b0720656f69e", parts.get(1).get("type").asText());
    String disk = n.get("commandLines").get(0).get("template").asText();
    String usrA = parts.get(1).get("partuuid").asText();
    assertTrue(
        disk.startsWith(
            "mount.usr=PARTUUID="
                + usrA
                + " usrhash=${usr.roothash}"
                + " basalt.usr.hashoffset=${usr.hashoffset} "),
        disk);
    JsonNode arts = n.get("artifacts");
    assertEquals("manifest.json", arts.get(arts.size() - 1).get("path").asText());
  }

  @Test
  void planTextSaysWhatIsKnownOnlyAtBuildAndWritesNothing() {
    BuildCommand bc = new BuildCommand();
    bc.env = Map.of();
    int rc =
        run(
            bc,
            "--plan",
            "--out",
            dir.resolve("out").toString(),
            "--cache",
            dir.resolve("cache").toString());
    assertEquals(0, rc, err.toString());
    String text = out.toString();
    assertTrue(text.contains("USR-A"), text);
    assertTrue(text.contains("not cached; the build runs mmdebstrap"), text);
    assertTrue(text.contains("Known only at build time:"), text);
    assertTrue(text.contains("SOURCE_DATE_EPOCH (newest"), text);
    assertFalse(Files.exists(dir.resolve("out")));
    assertFalse(Files.exists(dir.resolve("cache")));
  }

  @Test
  void planShowsTheUpdateSectionAndNullWithoutIt() throws Exception {
    Files.write(dir.resolve("root.json"), io.basalt.image.spec.TestRoots.root(2, 1, 1));
    Path spec = dir.resolve("spec.yaml");
    Files.writeString(
        spec,
        "update:\n  repository: https://u.example.org/basalt\n  root: root.json\n"
            + "  settings:\n    REBOOT_STRATEGY: etcd-lock\n");
    BuildCommand bc = new BuildCommand();
    bc.env = Map.of();
    String[] args = {"--spec", spec.toString(), "--plan", "--cache", dir.resolve("c").toString()};
    assertEquals(0, run(bc, args), err.toString());
    String text = out.toString();
    assertTrue(
        text.contains(
            "Updates:\n  trusted root: "
                + dir.resolve("root.json")
                + " (version 1, threshold 1 of 2 root key(s)) -> /usr/share/basalt/root.json\n"
                + "  /usr/share/basalt/update.conf (image defaults; /etc/basalt/update.conf"
                + " overrides):\n"
                + "    REPOSITORY_URL=https://u.example.org/basalt\n"
                + "    CHANNEL=stable\n"
                + "    REBOOT_STRATEGY=etcd-lock\n"),
        text);
    assertTrue(text.contains("spec text, the update root's sha256)"), text);

    out.getBuffer().setLength(0);
    String[] json = {
      "--spec", spec.toString(), "--plan", "--json", "--cache", dir.resolve("c").toString()
    };
    assertEquals(0, run(new BuildCommand(), json), err.toString());
    JsonNode u = new ObjectMapper().readTree(out.toString()).get("update");
    assertEquals(2, u.get("root").get("keyIds").size());
    assertEquals("/usr/share/basalt/root.json", u.get("root").get("path").asText());
    assertEquals("etcd-lock", u.get("settings").get("REBOOT_STRATEGY").asText());

    out.getBuffer().setLength(0);
    String[] plain = {"--plan", "--json", "--cache", dir.resolve("c").toString()};
    assertEquals(0, run(new BuildCommand(), plain), err.toString());
    assertTrue(new ObjectMapper().readTree(out.toString()).get("update").isNull());
  }
}
