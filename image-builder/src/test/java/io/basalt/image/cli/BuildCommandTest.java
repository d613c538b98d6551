package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
  void bootstrapFailureExitsThreeAndWritesNoOutputs() throws Exception {
    BuildCommand bc = new BuildCommand();
    AtomicInteger runs = new AtomicInteger();
    bc.runner = (d, tar, log) -> {
      runs.incrementAndGet();
      throw new IOException("mmdebstrap failed with exit code 1");
    };
    bc.env = Map.of();
    Path outDir = dir.resolve("out");
    int rc = run(bc, "--out", outDir.toString(), "--cache", dir.resolve("cache").toString());
    assertEquals(3, rc);
    assertEquals(1, runs.get());
    assertTrue(err.toString().contains("failed at stage base tree: mmdebstrap failed with exit code 1"), err.toString());
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
    assertTrue(err.toString().contains("SOURCE_DATE_EPOCH: expected seconds since 1970, found \"yesterday\""), err.toString());
  }
}
