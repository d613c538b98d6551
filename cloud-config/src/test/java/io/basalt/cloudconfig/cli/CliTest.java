package io.basalt.cloudconfig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.JsonSchema;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {

  @TempDir Path tmp;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new CloudConfigCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void validateExitCodes() throws Exception {
    Path ok = tmp.resolve("ok.yml");
    Files.writeString(ok, "#cloud-config\nhostname: a\nfoo: 1\n");
    Path bad = tmp.resolve("bad.yml");
    Files.writeString(bad, "#cloud-config\nhostname: [a]\n");
    Run r = run("validate", ok.toString());
    assertEquals(0, r.code());
    assertEquals(ok + ":3:1: warning: unknown key 'foo' in the top level\n", r.out());
    r = run("validate", ok.toString(), bad.toString());
    assertEquals(1, r.code());
    assertTrue(r.out().contains(bad + ":2:11: error: wrong type for hostname"), r.out());
    assertEquals(2, run("validate").code());
    assertEquals(2, run("validate", tmp.resolve("missing.yml").toString()).code());
    assertEquals(0, run("validate", "-q", ok.toString()).code());
    assertEquals("", run("validate", "-q", ok.toString()).out());
  }

  @Test
  void renderWritesUnderRootAndInvalidConfigWritesNothing() throws Exception {
    Path cfg = tmp.resolve("c.yml");
    Files.writeString(
        cfg,
        "#cloud-config\ncoreos:\n  etcd2:\n    advertise-client-urls: http://$private_ipv4:2379\n");
    Path root = tmp.resolve("root");
    Run r = run("render", cfg.toString(), "--root", root.toString(), "--private-ipv4", "10.1.2.3");
    assertEquals(0, r.code(), r.err());
    assertTrue(
        Files.readString(root.resolve("run/systemd/system/etcd.service.d/20-cloudinit.conf"))
            .contains("ETCD_ADVERTISE_CLIENT_URLS=http://10.1.2.3:2379"));
    assertTrue(r.out().contains("would run systemctl daemon-reload"), r.out());

    Path bad = tmp.resolve("bad.yml");
    Files.writeString(bad, "#cloud-config\nhostname: ok\nwrite_files:\n  - path: /usr/x\n");
    Path root2 = tmp.resolve("root2");
    r = run("render", bad.toString(), "--root", root2.toString());
    assertEquals(1, r.code());
    assertFalse(Files.exists(root2));
  }

  @Test
  void renderRefusesASymlinkedDirectoryThatLeadsOutOfTheRoot() throws Exception {
    Path outside = tmp.resolve("outside");
    Files.createDirectories(outside);
    Path root = tmp.resolve("root");
    Files.createDirectories(root.resolve("etc/systemd"));
    Files.createSymbolicLink(root.resolve("etc/systemd/system"), outside);
    Files.createSymbolicLink(root.resolve("opt"), outside);
    Path cfg = tmp.resolve("c.yml");
    Files.writeString(
        cfg,
        "#cloud-config\nwrite_files:\n  - path: /opt/bin/tool\n    content: x\n"
            + "coreos:\n  units:\n    - name: a.service\n      content: \"[Service]\\n\"\n"
            + "      drop_ins:\n        - name: 10-x.conf\n          content: y\n"
            + "    - name: m.service\n      mask: true\n");
    Run r = run("render", cfg.toString(), "--root", root.toString());
    assertEquals(3, r.code(), r.out());
    try (Stream<Path> s = Files.list(outside)) {
      assertEquals(0, s.count(), "something was written outside the root");
    }
    assertTrue(
        r.out().contains("/etc/systemd/system is a symbolic link (to " + outside + ")"), r.out());
    assertTrue(r.out().contains("/opt is a symbolic link"), r.out());
  }

  @Test
  void applyOfAnInvalidConfigChangesNothing() throws Exception {
    Path bad = tmp.resolve("bad.yml");
    Files.writeString(
        bad, "#cloud-config\nhostname: fine\nusers:\n  - name: x\n    groups: nope\n");
    Path root = tmp.resolve("root");
    Files.createDirectories(root);
    Run r = run("apply", bad.toString(), "--root", root.toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains("invalid cloud-config: nothing was applied"), r.err());
    try (Stream<Path> s = Files.list(root)) {
      assertEquals(0, s.count());
    }
  }

  /**
   * With a --root other than /, apply writes files there but never runs useradd & co. on this
   * machine.
   */
  @Test
  void applyToAnotherRootNeverRunsSystemTools() throws Exception {
    Path cfg = tmp.resolve("c.yml");
    Files.writeString(
        cfg, "#cloud-config\nhostname: elsewhere\nusers:\n  - name: zz-never-created\n");
    Path root = tmp.resolve("root");
    Files.createDirectories(root);
    Run r = run("apply", cfg.toString(), "--root", root.toString());
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("system commands are printed, not run"), r.out());
    assertTrue(r.out().contains("would run useradd --create-home zz-never-created"), r.out());
    assertEquals("elsewhere\n", Files.readString(root.resolve("etc/hostname")));
    assertFalse(Files.readString(Path.of("/etc/passwd")).contains("zz-never-created"));
  }

  @Test
  void applyWithNoDatasourceDoesNothing() throws Exception {
    Path root = tmp.resolve("root");
    Files.createDirectories(root);
    Run r = run("apply", "--from-datasources", "--root", root.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("no datasource has user-data"), r.out());
  }

  /** CloudConfigMain's fast path gives the same exit code and output as the picocli commands. */
  @Test
  void fastPathMatchesPicocli() throws Exception {
    Path ok = tmp.resolve("ok.yml");
    Files.writeString(
        ok,
        "#cloud-config\nhostname: a\nfoo: 1\ncoreos:\n  units:\n    - name: a.service\n      command: start\n");
    Path bad = tmp.resolve("bad.yml");
    Files.writeString(bad, "#cloud-config\nhostname: [a]\n");
    Path empty = tmp.resolve("empty");
    Files.createDirectories(empty);
    String[][] cases = {
      {"validate", ok.toString()},
      {"validate", "-q", ok.toString(), bad.toString()},
      {"validate", "--image-root", empty.toString(), ok.toString()},
      {"validate", "--image-root=" + empty, ok.toString()},
      {"validate", tmp.resolve("missing").toString()},
      {
        "render",
        ok.toString(),
        "--root",
        tmp.resolve("r1").toString(),
        "--private-ipv4",
        "10.0.0.1"
      },
      {"render", bad.toString(), "--root", tmp.resolve("r2").toString()},
      {"apply", bad.toString(), "--root", empty.toString()},
      {"apply", "--from-datasources", "--root", empty.toString(), "--url-timeout", "5"},
    };
    for (String[] c : cases) {
      StringWriter o = new StringWriter();
      StringWriter e = new StringWriter();
      assertTrue(
          CloudConfigMain.fast(c, new PrintWriter(o), new PrintWriter(e)) != null,
          String.join(" ", c));
      int code = CloudConfigMain.run(c, new PrintWriter(o, true), new PrintWriter(e, true));
      deleteTree(tmp.resolve("r1"));
      Run viaPicocli = run(c);
      assertEquals(viaPicocli.code(), code, String.join(" ", c));
      assertEquals(viaPicocli.out(), o.toString(), String.join(" ", c));
      assertEquals(viaPicocli.err(), e.toString(), String.join(" ", c));
    }
    // Anything else goes to picocli (usage errors, help).
    for (String[] c :
        new String[][] {
          {"validate"},
          {"validate", "--bogus", ok.toString()},
          {"apply"},
          {"--help"},
          {"render", ok.toString()},
          {"apply", "--url-timeout", "x", "--from-datasources"}
        }) {
      StringWriter o = new StringWriter();
      StringWriter e = new StringWriter();
      int code = CloudConfigMain.run(c, new PrintWriter(o, true), new PrintWriter(e, true));
      assertEquals(run(c).code(), code, String.join(" ", c));
    }
  }

  private static void deleteTree(Path p) throws Exception {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted((a, b) -> b.compareTo(a)).toList()) {
        Files.delete(q);
      }
    }
  }

  @Test
  void schemaCommand() throws Exception {
    assertEquals(JsonSchema.generate(), run("schema").out());
    Path out = tmp.resolve("s.json");
    assertEquals(0, run("schema", "-o", out.toString()).code());
    assertEquals(JsonSchema.generate(), Files.readString(out));
  }
}
