package io.basalt.cloudconfig.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.JsonSchema;
import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
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
  void renderTakesPrivateIpv4FromTheConfigsNetworkdUnitAndSaysSo() throws Exception {
    Path cfg = tmp.resolve("member.yml");
    Files.writeString(
        cfg,
        "#cloud-config\ncoreos:\n  etcd2:\n    listen-peer-urls: http://$private_ipv4:2380\n"
            + "  units:\n    - name: 10-private.network\n      content: |\n"
            + "        [Network]\n        Address=10.10.0.3/24\n");
    Path root = tmp.resolve("root");
    Run r = run("render", cfg.toString(), "--root", root.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(
        r.out()
            .startsWith(
                "$private_ipv4 is 10.10.0.3 (no datasource value; from coreos.units[0]"
                    + " (10-private.network))\n"),
        r.out());
    assertTrue(
        Files.readString(root.resolve("run/systemd/system/etcd.service.d/20-cloudinit.conf"))
            .contains("ETCD_LISTEN_PEER_URLS=http://10.10.0.3:2380"));

    Path none = tmp.resolve("none.yml");
    Files.writeString(
        none,
        "#cloud-config\ncoreos:\n  etcd2:\n    listen-peer-urls: http://$private_ipv4:2380\n");
    r = run("render", none.toString(), "--root", tmp.resolve("root2").toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("warning: $private_ipv4 has no value"), r.out());
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
    // The same through merge keys, within the alias limit: each mapping is merged once.
    StringBuilder m = new StringBuilder("#cloud-config\nm0: &m0 {hostname: lol}\n");
    for (int i = 1; i < 25; i++) {
      m.append("m").append(i).append(": &m").append(i);
      m.append(" {<<: [*m").append(i - 1).append(", *m").append(i - 1).append("]}\n");
    }
    Path merges = tmp.resolve("merges.yml");
    Files.writeString(merges, m.append("<<: *m24\n").toString());
    Path root2 = tmp.resolve("root2");
    r =
        assertTimeoutPreemptively(
            Duration.ofSeconds(10),
            () -> run("render", merges.toString(), "--root", root2.toString()));
    assertEquals(0, r.code(), r.err());
    assertEquals("lol\n", Files.readString(root2.resolve("etc/hostname")));
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

  /** coreos-cloudinit's documented write_files example: a gzip stream in a YAML !!binary scalar. */
  @Test
  void binaryGzipWriteFileValidatesAndRenders() throws Exception {
    byte[] script = "#!/bin/sh\necho hello\n".getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
      z.write(script);
    }
    String b64 = Base64.getMimeEncoder(40, new byte[] {'\n'}).encodeToString(gz.toByteArray());
    Path cfg = tmp.resolve("binary.yml");
    Files.writeString(
        cfg,
        "#cloud-config\nwrite_files:\n  - encoding: gzip\n    content: !!binary |\n      "
            + b64.replace("\n", "\n      ")
            + "\n    path: /opt/hello.sh\n    permissions: '0755'\n");
    Run v = run("validate", cfg.toString());
    assertEquals(0, v.code(), v.out());
    assertEquals("", v.out());
    Path root = tmp.resolve("root");
    Run r = run("render", cfg.toString(), "--root", root.toString());
    assertEquals(0, r.code(), r.err());
    assertArrayEquals(script, Files.readAllBytes(root.resolve("opt/hello.sh")));
  }

  /** A !!binary scalar that is not base64 is reported at the scalar, not written. */
  @Test
  void binaryScalarThatIsNotBase64IsAnError() throws Exception {
    Path cfg = tmp.resolve("bad-binary.yml");
    Files.writeString(
        cfg, "#cloud-config\nwrite_files:\n  - path: /opt/x\n    content: !!binary '%%%'\n");
    Run v = run("validate", cfg.toString());
    assertEquals(1, v.code(), v.out());
    assertTrue(v.out().contains(cfg + ":4:14: error: write_files[0].content"), v.out());
    assertTrue(v.out().contains("!!binary"), v.out());
  }

  /**
   * A ~1 KB "billion laughs" document is refused quickly, naming the limit, by render and apply.
   */
  @Test
  void billionLaughsIsRefusedByRenderAndApply() throws Exception {
    StringBuilder b = new StringBuilder("#cloud-config\nl0: &l0 [lol, lol, lol, lol, lol]\n");
    for (int i = 1; i < 10; i++) {
      b.append("l").append(i).append(": &l").append(i).append(" [*l").append(i - 1);
      b.append((", *l" + (i - 1)).repeat(8)).append("]\n");
    }
    b.append("users: [{name: a, groups: *l9}]\nssh_authorized_keys: *l9\n");
    Path cfg = tmp.resolve("laughs.yml");
    Files.writeString(cfg, b.toString());
    Path root = tmp.resolve("root");
    Run r =
        assertTimeoutPreemptively(
            Duration.ofSeconds(10), () -> run("render", cfg.toString(), "--root", root.toString()));
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains("YAML limit exceeded: more than 50 aliases"), r.err());
    assertFalse(Files.exists(root));
    Files.createDirectories(root);
    r =
        assertTimeoutPreemptively(
            Duration.ofSeconds(10), () -> run("apply", cfg.toString(), "--root", root.toString()));
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains("YAML limit exceeded: more than 50 aliases"), r.err());
    try (Stream<Path> s = Files.list(root)) {
      assertEquals(0, s.count());
    }
  }

  /** Bad datasource metadata stops apply with one line naming it, no stack trace, nothing done. */
  @Test
  void applyRefusesBadDatasourceMetadataWithoutAStackTrace() throws Exception {
    Path root = tmp.resolve("root");
    Path context = root.resolve("run/basalt/context");
    Files.createDirectories(context);
    Files.writeString(
        context.resolve("context.sh"), "SET_HOSTNAME='-F/etc/shadow'\nETH0_MASK='255.0.255.0'\n");
    Run r = run("apply", "--from-datasources", "--root", root.toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("opennebula " + context.resolve("context.sh")), r.err());
    assertTrue(r.err().contains("SET_HOSTNAME"), r.err());
    assertFalse(r.err().contains("\tat "), r.err());
    assertFalse(Files.exists(root.resolve("etc/hostname")));
  }
}
