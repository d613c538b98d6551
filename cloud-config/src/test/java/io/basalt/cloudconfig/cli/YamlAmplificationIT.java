package io.basalt.cloudconfig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cloud-config CLI in its own JVM with a 128 MB heap: small "billion laughs" documents are
 * refused (or, for merge keys, reduced) within seconds, by validate and by render, never an
 * OutOfMemoryError.
 */
class YamlAmplificationIT {

  @TempDir Path tmp;

  private record Run(int code, String out) {}

  private Run cli(String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m",
                "-cp",
                System.getProperty("java.class.path"),
                "io.basalt.cloudconfig.cli.CloudConfigMain"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    boolean done = p.waitFor(60, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly();
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(done, "still running after 60 s: " + String.join(" ", args));
    return new Run(p.exitValue(), out);
  }

  private Path write(String name, String text) throws Exception {
    Path f = tmp.resolve(name);
    Files.writeString(f, text);
    return f;
  }

  @Test
  void billionLaughsUnder128MbHeap() throws Exception {
    StringBuilder lists = new StringBuilder("#cloud-config\nl0: &l0 [lol, lol, lol, lol, lol]\n");
    StringBuilder merges = new StringBuilder("#cloud-config\nm0: &m0 {hostname: lol}\n");
    for (int i = 1; i < 25; i++) {
      if (i < 10) {
        lists.append("l").append(i).append(": &l").append(i).append(" [*l").append(i - 1);
        lists.append((", *l" + (i - 1)).repeat(9)).append("]\n");
      }
      merges.append("m").append(i).append(": &m").append(i);
      merges.append(" {<<: [*m").append(i - 1).append(", *m").append(i - 1).append("]}\n");
    }
    Path l = write("lists.yml", lists.append("ssh_authorized_keys: *l9\n").toString());
    Path m = write("merges.yml", merges.append("<<: *m24\n").toString());
    Path wide =
        write(
            "wide.yml",
            "#cloud-config\ng: &g [a"
                + ",a".repeat(99_999)
                + "]\nu: &u {name: lol, groups: *g}\nusers: [*u"
                + ", *u".repeat(44)
                + "]\n");
    assertTrue(Files.size(l) < 1200 && Files.size(m) < 1200);

    Run r = cli("validate", l.toString());
    assertEquals(1, r.code(), r.out());
    assertTrue(r.out().contains("YAML limit exceeded: more than 50 aliases"), r.out());
    r = cli("render", l.toString(), "--root", tmp.resolve("r1").toString());
    assertEquals(1, r.code(), r.out());
    assertTrue(r.out().contains("YAML limit exceeded"), r.out());

    r = cli("validate", "-q", m.toString());
    assertEquals(0, r.code(), r.out());
    r = cli("render", m.toString(), "--root", tmp.resolve("r2").toString());
    assertEquals(0, r.code(), r.out());
    assertEquals("lol\n", Files.readString(tmp.resolve("r2/etc/hostname")));

    r = cli("validate", wide.toString());
    assertEquals(1, r.code(), r.out());
    assertTrue(r.out().contains("YAML limit exceeded: with its aliases expanded"), r.out());
    assertFalse(r.out().contains("OutOfMemoryError"), r.out());
  }
}
