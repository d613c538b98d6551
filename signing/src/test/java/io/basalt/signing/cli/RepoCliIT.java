package io.basalt.signing.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.SigningKey;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.Root;
import io.basalt.signing.tuf.client.HttpFetcher;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import io.basalt.signing.tuf.repo.Passphrases;
import io.basalt.signing.tuf.repo.RepoServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code basalt repo} end to end on the real file system, served over loopback HTTP, keys checked
 * with openssl.
 */
class RepoCliIT {
  @TempDir Path tmp;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  @BeforeEach
  void passphrases() {
    RepoCommand.passphrases =
        () -> Passphrases.fromEnvironment(Map.of(Passphrases.ENV, "it secret"));
  }

  @AfterEach
  void restore() {
    RepoCommand.passphrases = Passphrases::system;
    RepoCommand.clock = Clock.systemUTC();
  }

  private int run(String... args) {
    CommandLine cl = new CommandLine(new RepoCommand());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return cl.execute(args);
  }

  @Test
  void initAddPublishServeAndClientDownload() throws Exception {
    Path repo = tmp.resolve("repo");
    assertEquals(
        0,
        run(
            "init",
            "-r",
            repo.toString(),
            "--key-type",
            "ecdsa",
            "--expires",
            "timestamp=PT12H",
            "--warn-before",
            "timestamp=PT13H"),
        err.toString());
    assertTrue(err.toString().contains("warning: role timestamp expires"), err.toString());
    Path f = Files.writeString(tmp.resolve("update.raw"), "usr payload");
    assertEquals(
        0,
        run(
            "add-target",
            "-r",
            repo.toString(),
            "--name",
            "stable/4.1.0/update.raw",
            "--custom",
            "version=4.1.0",
            "--custom",
            "channel=stable",
            "--custom-json",
            "{\"size_hint\": 11}",
            f.toString()),
        err.toString());
    assertEquals(0, run("publish", "-r", repo.toString()), err.toString());
    assertEquals(0, run("verify", "-r", repo.toString()), err.toString());
    assertTrue(out.toString().contains("OK: 1 target(s) verified"), out.toString());

    try (RepoServer server = RepoServer.start(repo, 0)) {
      Path client = Files.createDirectories(tmp.resolve("client"));
      Files.copy(repo.resolve("metadata/1.root.json"), client.resolve("root.json"));
      Updater u =
          new Updater(
              client,
              server.baseUrl().resolve("metadata/"),
              server.baseUrl().resolve("targets/"),
              new HttpFetcher(),
              Clock.systemUTC());
      u.refresh();
      TargetInfo info = u.getTargetInfo("stable/4.1.0/update.raw").orElseThrow();
      assertEquals("4.1.0", info.customString("version"));
      assertEquals(11L, info.custom().get("size_hint"));
      Path dl = Files.createDirectories(tmp.resolve("dl"));
      assertEquals("usr payload", Files.readString(u.downloadTarget(info, dl)));
      // the trusted files are exactly what the server has
      assertArrayEquals(
          Files.readAllBytes(repo.resolve("metadata/timestamp.json")),
          Files.readAllBytes(client.resolve("timestamp.json")));
    }

    // wrong passphrase: clear message, exit 1
    RepoCommand.passphrases = () -> Passphrases.fromEnvironment(Map.of(Passphrases.ENV, "nope"));
    assertEquals(1, run("refresh-timestamp", "-r", repo.toString()));
    assertTrue(err.toString().contains("wrong passphrase"), err.toString());
  }

  @Test
  void privateKeysInteroperateWithOpenssl() throws Exception {
    for (KeyType t : KeyType.values()) {
      SigningKey k = SigningKey.generate(t, new java.security.SecureRandom());
      Path pem =
          Files.write(
              tmp.resolve(t + ".pem"),
              k.toEncryptedPem("pw1".toCharArray(), new java.security.SecureRandom()));
      String pub = exec("openssl", "pkey", "-in", pem.toString(), "-passin", "pass:pw1", "-pubout");
      if (t == KeyType.ED25519) {
        byte[] der =
            java.util.Base64.getMimeDecoder().decode(pub.replaceAll("-----[A-Z ]+-----", ""));
        assertEquals(
            k.publicKey().publicValue(),
            HexFormat.of().formatHex(der, der.length - 32, der.length));
      } else {
        assertEquals(k.publicKey().publicValue().trim(), pub.trim());
      }
    }
    // keys made by openssl are read by Basalt
    Path ossl = tmp.resolve("ossl.pem");
    exec(
        "openssl",
        "genpkey",
        "-algorithm",
        "ed25519",
        "-aes-256-cbc",
        "-pass",
        "pass:pw2",
        "-out",
        ossl.toString());
    SigningKey k =
        SigningKey.fromEncryptedPem(Files.readAllBytes(ossl), "pw2".toCharArray(), ossl.toString());
    assertEquals(KeyType.ED25519, k.type());
    Path ec = tmp.resolve("ec.pem");
    exec(
        "openssl",
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-aes-256-cbc",
        "-pass",
        "pass:pw3",
        "-out",
        ec.toString());
    SigningKey eck =
        SigningKey.fromEncryptedPem(Files.readAllBytes(ec), "pw3".toCharArray(), ec.toString());
    byte[] data = "x".getBytes(StandardCharsets.UTF_8);
    assertTrue(eck.publicKey().verify(data, eck.sign(data)));
    assertEquals(
        exec("openssl", "pkey", "-in", ec.toString(), "-passin", "pass:pw3", "-pubout").trim(),
        eck.publicKey().publicValue().trim());
  }

  @Test
  void delegateRotateAndResignFromTheCommandLine() throws Exception {
    Path repo = tmp.resolve("repo");
    Path offline = tmp.resolve("usb");
    assertEquals(
        0,
        run(
            "init",
            "-r",
            repo.toString(),
            "--root-key-dir",
            offline.toString(),
            "--root-keys",
            "2",
            "--root-threshold",
            "2"),
        err.toString());
    assertEquals(
        0,
        run(
            "delegate",
            "-r",
            repo.toString(),
            "--name",
            "beta",
            "--path",
            "beta/*",
            "--terminating"),
        err.toString());
    Path f = Files.writeString(tmp.resolve("b"), "beta");
    assertEquals(
        0,
        run(
            "add-target",
            "-r",
            repo.toString(),
            "--role",
            "beta",
            "--name",
            "beta/b",
            f.toString()),
        err.toString());
    assertEquals(0, run("publish", "-r", repo.toString()), err.toString());
    Root root =
        Root.from(Metadata.parse(Files.readAllBytes(repo.resolve("metadata/root.json")), "root"));
    String old = root.role("snapshot").keyids().get(0);
    assertEquals(
        0,
        run(
            "rotate-key",
            "-r",
            repo.toString(),
            "--role",
            "snapshot",
            "--revoke",
            old,
            "--add",
            "1"),
        err.toString());
    assertEquals(0, run("resign", "-r", repo.toString(), "--role", "beta"), err.toString());
    assertEquals(0, run("verify", "-r", repo.toString()), err.toString() + out);
    Root now =
        Root.from(Metadata.parse(Files.readAllBytes(repo.resolve("metadata/root.json")), "root"));
    assertEquals(2, now.metadata().version());
    assertTrue(!now.keys().containsKey(old));
    assertEquals(
        1,
        run("rotate-key", "-r", repo.toString(), "--role", "snapshot", "--revoke", "0".repeat(64)));
    assertTrue(err.toString().contains("has no key " + "0".repeat(64)), err.toString());
  }

  private static String exec(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] o = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String s = new String(o, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), List.of(cmd) + ": " + s);
    return s;
  }
}
