package io.basalt.signing.tuf.repo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.WrongPassphraseException;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.Root;
import io.basalt.signing.tuf.client.FetchException;
import io.basalt.signing.tuf.client.Fetcher;
import io.basalt.signing.tuf.client.TargetInfo;
import io.basalt.signing.tuf.client.Updater;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

public class RepositoryTest {
  static final Instant T0 = Instant.parse("2031-03-01T12:00:00Z");
  private FileSystem fs;
  private Path repoDir;
  private final Passphrases pass =
      Passphrases.fromEnvironment(
          Map.of(Passphrases.ENV, "repo secret", Passphrases.envName("root"), "root secret"));

  @BeforeEach
  void setUp() {
    fs = Jimfs.newFileSystem(Configuration.unix());
    repoDir = fs.getPath("/srv/tuf");
  }

  @AfterEach
  void tearDown() throws Exception {
    fs.close();
  }

  static Clock at(Instant t) {
    return Clock.fixed(t, ZoneOffset.UTC);
  }

  /** Serves a repository directory the way {@code basalt repo serve} lays it out. */
  public static Fetcher fetcher(Path repo) {
    return uri -> {
      boolean meta = uri.getRawPath().startsWith("/metadata/");
      String p = meta ? uri.getRawPath() : uri.getPath();
      Path f =
          repo.resolve(meta ? "metadata" : "targets").resolve(p.substring(p.indexOf('/', 1) + 1));
      if (!Files.isRegularFile(f)) {
        throw new FetchException(uri, 404, "HTTP status 404", null);
      }
      return Files.newInputStream(f);
    };
  }

  Updater client(Path clientDir, Instant now) throws Exception {
    if (!Files.exists(clientDir.resolve("root.json"))) {
      Files.createDirectories(clientDir);
      Files.copy(repoDir.resolve("metadata/1.root.json"), clientDir.resolve("root.json"));
    }
    return new Updater(
        clientDir,
        URI.create("http://repo/metadata/"),
        URI.create("http://repo/targets/"),
        fetcher(repoDir),
        at(now));
  }

  private Path file(String name, String content) throws Exception {
    Path p = fs.getPath("/work/" + name);
    Files.createDirectories(p.getParent());
    Files.write(p, content.getBytes(StandardCharsets.UTF_8));
    return p;
  }

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void roundTripsThroughTheClientForEachKeyType(KeyType type) throws Exception {
    Repository r =
        Repository.init(
            repoDir, new Repository.InitOptions().keyType(type), pass, at(T0), new SecureRandom());
    r.addTarget(
        "targets",
        "stable/amd64/4.1.0/update.raw",
        file("u.raw", "usr image v4.1.0"),
        Map.of(
            "version",
            "4.1.0",
            "channel",
            "stable",
            "arch",
            "amd64",
            "usr_root_hash",
            "ab".repeat(32)));
    r.delegate("targets", "beta", List.of("beta/*"), false, type, 1, 1);
    r.addTarget("beta", "beta/x.raw", file("b.raw", "beta build"), Map.of());
    assertTrue(r.publish().isEmpty());

    Updater u = client(fs.getPath("/client"), T0.plusSeconds(60));
    u.refresh();
    assertTrue(u.trustedRoot().consistentSnapshot());
    assertEquals(type.keytype(), u.trustedRoot().keys().values().iterator().next().keytype());
    TargetInfo info = u.getTargetInfo("stable/amd64/4.1.0/update.raw").orElseThrow();
    assertEquals("4.1.0", info.customString("version"));
    assertEquals("ab".repeat(32), info.customString("usr_root_hash"));
    assertEquals(
        Map.of("sha256", info.hashes().get("sha256"), "sha512", info.hashes().get("sha512")),
        info.hashes());
    Path dl = Files.createDirectories(fs.getPath("/dl"));
    assertEquals("usr image v4.1.0", Files.readString(u.downloadTarget(info, dl)));
    TargetInfo beta = u.getTargetInfo("beta/x.raw").orElseThrow();
    assertEquals("beta", beta.role());
    assertEquals("beta build", Files.readString(u.downloadTarget(beta, dl)));
    assertTrue(r.verify().ok());
  }

  @Test
  void removeTargetAndRepublish() throws Exception {
    Repository r =
        Repository.init(repoDir, new Repository.InitOptions(), pass, at(T0), new SecureRandom());
    r.addTarget("targets", "a", file("a", "A"), null);
    r.publish();
    assertTrue(client(fs.getPath("/c"), T0).getTargetInfo("a").isPresent());
    r.removeTarget("targets", "a");
    r.publish();
    assertTrue(client(fs.getPath("/c"), T0).getTargetInfo("a").isEmpty());
    assertThrows(java.io.IOException.class, () -> r.removeTarget("targets", "a"));
    assertThrows(
        IllegalArgumentException.class, () -> r.addTarget("targets", "../x", file("x", "x"), null));
  }

  @Test
  void rotatingKeysKeepsOldRootsAndClientsFollow() throws Exception {
    Path offline = fs.getPath("/media/usb/root-keys");
    Repository r =
        Repository.init(
            repoDir,
            new Repository.InitOptions().rootKeyDir(offline),
            pass,
            at(T0),
            new SecureRandom());
    r.addTarget("targets", "f", file("f", "one"), null);
    r.publish();
    Path clientDir = fs.getPath("/client");
    client(clientDir, T0).refresh();
    try (var s = Files.list(repoDir.resolve("keys"))) {
      assertEquals(3, s.count(), "root key lives offline, not in the repository");
    }

    // Rotate the targets key (revoke the old one) and the root key; old roots stay published.
    Root before = client(clientDir, T0).trustedRoot();
    String oldTargetsKey = before.role("targets").keyids().get(0);
    String oldRootKey = before.role("root").keyids().get(0);
    r.rotateKey("targets", List.of(oldTargetsKey), 1, null, KeyType.ECDSA);
    r.rotateKey("root", List.of(oldRootKey), 2, 2, KeyType.ED25519);
    assertTrue(Files.exists(repoDir.resolve("metadata/1.root.json")));
    assertTrue(Files.exists(repoDir.resolve("metadata/2.root.json")));
    assertTrue(Files.exists(repoDir.resolve("metadata/3.root.json")));

    Updater u = client(clientDir, T0);
    u.refresh();
    Root now = u.trustedRoot();
    assertEquals(3, now.metadata().version());
    assertFalse(now.keys().containsKey(oldTargetsKey), "revoked key removed from root");
    assertFalse(now.role("targets").keyids().contains(oldTargetsKey));
    assertEquals(2, now.role("root").threshold());
    assertEquals(
        "one",
        Files.readString(
            u.downloadTarget(
                u.getTargetInfo("f").orElseThrow(), Files.createDirectories(fs.getPath("/dl")))));
    // Metadata signed only by the revoked targets key no longer verifies.
    Metadata t =
        Metadata.parse(Files.readAllBytes(repoDir.resolve("metadata/targets.json")), "targets");
    assertEquals(1, t.signatureKeyIds().size());
    assertFalse(t.signatureKeyIds().contains(oldTargetsKey));
    // A brand-new client walks the whole chain from 1.root.json.
    Updater fresh = client(fs.getPath("/fresh"), T0);
    fresh.refresh();
    assertEquals(3, fresh.trustedRoot().metadata().version());
    Repository.VerifyReport rep = r.verify();
    assertTrue(rep.ok(), rep.errors().toString());
  }

  @Test
  void rootRotationWithoutTheOfflineKeysFailsClearly() throws Exception {
    Path offline = fs.getPath("/media/usb/root-keys");
    Repository.init(
        repoDir,
        new Repository.InitOptions().rootKeyDir(offline),
        pass,
        at(T0),
        new SecureRandom());
    // the offline medium is not mounted: its directory is gone
    Path moved = fs.getPath("/safe");
    Files.move(offline, moved);
    Repository r = Repository.open(repoDir, List.of(), pass, at(T0), new SecureRandom());
    var e =
        assertThrows(
            java.io.IOException.class,
            () -> r.rotateKey("timestamp", List.of(), 1, null, KeyType.ED25519));
    assertTrue(e.getMessage().contains("--key-dir"), e.getMessage());
    Repository withKeys =
        Repository.open(repoDir, List.of(moved), pass, at(T0), new SecureRandom());
    withKeys.rotateKey("timestamp", List.of(), 1, null, KeyType.ED25519);
    client(fs.getPath("/c"), T0).refresh();
  }

  @Test
  void wrongPassphraseIsAClearError() throws Exception {
    Repository.init(repoDir, new Repository.InitOptions(), pass, at(T0), new SecureRandom());
    Passphrases wrong = Passphrases.fromEnvironment(Map.of(Passphrases.ENV, "not it"));
    Repository r = Repository.open(repoDir, List.of(), wrong, at(T0), new SecureRandom());
    var e = assertThrows(WrongPassphraseException.class, r::refreshTimestamp);
    assertTrue(
        e.getMessage().matches("/srv/tuf/keys/[0-9a-f]{64}\\.pem: wrong passphrase .*"),
        e.getMessage());
    Passphrases none = Passphrases.fromEnvironment(Map.of());
    var e2 =
        assertThrows(
            java.io.IOException.class,
            () ->
                Repository.open(repoDir, List.of(), none, at(T0), new SecureRandom())
                    .refreshTimestamp());
    assertTrue(e2.getMessage().contains("BASALT_KEY_PASSPHRASE_TIMESTAMP"), e2.getMessage());
  }

  @Test
  void roleCloseToExpiryWarnsAndRefreshTimestampFixesIt() throws Exception {
    Repository.init(
        repoDir,
        new Repository.InitOptions().expires("timestamp", "P1D").warnBefore("timestamp", "PT6H"),
        pass,
        at(T0),
        new SecureRandom());
    Instant later = T0.plus(Duration.ofHours(20));
    Repository r = Repository.open(repoDir, List.of(), pass, at(later), new SecureRandom());
    List<String> w = r.expiryWarnings();
    assertEquals(1, w.size(), w.toString());
    assertTrue(
        w.get(0).startsWith("role timestamp expires at 2031-03-02T12:00:00Z (in 4 hours"),
        w.get(0));
    assertTrue(r.refreshTimestamp().isEmpty());
    Repository expired =
        Repository.open(
            repoDir, List.of(), pass, at(later.plus(Duration.ofDays(3))), new SecureRandom());
    assertTrue(expired.expiryWarnings().stream().anyMatch(s -> s.contains("timestamp EXPIRED")));
    assertTrue(expired.verify().errors().stream().anyMatch(s -> s.contains("timestamp: expired")));
  }

  @Test
  void verifyFindsTamperedTargetsAndUnreachableOnes() throws Exception {
    Repository r =
        Repository.init(repoDir, new Repository.InitOptions(), pass, at(T0), new SecureRandom());
    var v = r.addTarget("targets", "dir/f.bin", file("f.bin", "genuine"), null);
    r.delegate("targets", "team", List.of("team/*"), false, KeyType.ED25519, 1, 1);
    r.addTarget("team", "elsewhere/x", file("x", "x"), null);
    r.publish();
    Repository.VerifyReport rep = r.verify();
    assertEquals(1, rep.targetsChecked());
    assertEquals(1, rep.errors().size(), rep.errors().toString());
    assertTrue(rep.errors().get(0).contains("elsewhere/x"));
    Files.writeString(repoDir.resolve("targets/dir/" + v.sha256() + ".f.bin"), "tampere");
    assertTrue(
        r.verify().errors().stream().anyMatch(s -> s.contains("dir/f.bin") && s.contains("sha")),
        r.verify().errors().toString());
  }

  @Test
  void publishingRefusesToSignBelowThreshold() throws Exception {
    Repository r =
        Repository.init(
            repoDir,
            new Repository.InitOptions().keys("targets", 2, 2),
            pass,
            at(T0),
            new SecureRandom());
    Path keys = repoDir.resolve("keys");
    // lose one targets key: publishing must refuse rather than produce under-signed metadata
    Root root =
        Root.from(
            Metadata.parse(Files.readAllBytes(repoDir.resolve("metadata/root.json")), "root"));
    Files.delete(keys.resolve(root.role("targets").keyids().get(0) + ".pem"));
    Repository reopened = Repository.open(repoDir, List.of(), pass, at(T0), new SecureRandom());
    reopened.addTarget("targets", "a", file("a", "a"), null);
    var e = assertThrows(java.io.IOException.class, reopened::publish);
    assertTrue(e.getMessage().contains("needs 2 signature(s)"), e.getMessage());
  }
}
