package io.basalt.signing.tuf.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.SigningKey;
import io.basalt.signing.tuf.BadMetadataException;
import io.basalt.signing.tuf.ExpiredMetadataException;
import io.basalt.signing.tuf.HashMismatchException;
import io.basalt.signing.tuf.Hashes;
import io.basalt.signing.tuf.LengthMismatchException;
import io.basalt.signing.tuf.RollbackException;
import io.basalt.signing.tuf.UnsignedMetadataException;
import io.basalt.signing.tuf.VersionMismatchException;
import java.io.ByteArrayInputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class UpdaterTest {
  private FileSystem fs;
  private TestRepo repo;
  private Path dir;

  @BeforeEach
  void setUp() throws Exception {
    fs = Jimfs.newFileSystem(Configuration.unix());
    repo = new TestRepo();
    dir = TestRepo.initClient(fs.getPath("/var/lib/basalt/tuf"), repo.root1);
  }

  @AfterEach
  void tearDown() throws Exception {
    fs.close();
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private Set<String> files() throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }
  }

  // ---- happy path, persistence
  // -------------------------------------------------------------------

  @Test
  void refreshPersistsExactBytesAsRoleJsonAndDownloadsTarget() throws Exception {
    repo.addTarget("targets", "basalt/1.2.3/usr.img", b("payload"));
    repo.publishAll();
    Updater u = repo.updater(dir);
    u.refresh();
    assertEquals(Set.of("root.json", "timestamp.json", "snapshot.json", "targets.json"), files());
    assertArrayEquals(
        repo.served.get("timestamp.json"), Files.readAllBytes(dir.resolve("timestamp.json")));
    assertArrayEquals(repo.latest.get("targets"), Files.readAllBytes(dir.resolve("targets.json")));

    TargetInfo info = u.getTargetInfo("basalt/1.2.3/usr.img").orElseThrow();
    assertEquals(7, info.length());
    assertEquals("stable", info.customString("channel"));
    assertEquals("{\"channel\":\"stable\"}", info.customJson());
    assertEquals("targets", info.role());
    Path tdir = Files.createDirectories(fs.getPath("/dl"));
    Path out = u.downloadTarget(info, tdir);
    assertArrayEquals(b("payload"), Files.readAllBytes(out));
    assertEquals("basalt%2F1.2.3%2Fusr.img", out.getFileName().toString());
    // consistent snapshot: target fetched as DIR/HASH.NAME, metadata as VERSION.ROLE.json
    String sha = Hashes.sha256(b("payload"));
    assertTrue(
        repo.fetched.contains(TestRepo.TARGETS + "basalt/1.2.3/" + sha + ".usr.img"),
        repo.fetched.toString());
    assertTrue(repo.fetched.contains(TestRepo.META + "2.targets.json"), repo.fetched.toString());
    assertTrue(u.findCachedTarget(info, tdir).isPresent());
    assertTrue(u.getTargetInfo("missing").isEmpty());
    try (Stream<Path> s = Files.list(tdir)) {
      assertEquals(1, s.count(), "no temp file left behind");
    }
  }

  @Test
  void nonConsistentRepositoryUsesPlainNames() throws Exception {
    repo.consistentSnapshot = false;
    repo.publishRoot();
    repo.addTarget("targets", "a.txt", b("A"));
    repo.publishAll();
    Updater u = repo.updater(dir);
    TargetInfo info = u.getTargetInfo("a.txt").orElseThrow();
    u.downloadTarget(info, Files.createDirectories(fs.getPath("/dl")));
    assertTrue(repo.fetched.contains(TestRepo.META + "snapshot.json"));
    assertTrue(repo.fetched.contains(TestRepo.META + "targets.json"));
    assertTrue(repo.fetched.contains(TestRepo.TARGETS + "a.txt"));
  }

  @Test
  void unchangedRepositoryIsNotDownloadedAgain() throws Exception {
    repo.updater(dir).refresh();
    repo.fetched.clear();
    repo.updater(dir).refresh();
    assertEquals(
        List.of(TestRepo.META + "2.root.json", TestRepo.META + "timestamp.json"), repo.fetched);
  }

  // ---- signatures and thresholds
  // -----------------------------------------------------------------

  @Test
  void badSignatureRejected() throws Exception {
    repo.signers.put("targets", List.of(TestRepo.newKey()));
    repo.publishAll();
    var e = assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
    assertEquals("targets", e.role());
    assertEquals(0, e.validSignatures());
    assertFalse(Files.exists(dir.resolve("targets.json")));
  }

  /** A large targets role (over 256 KiB). */
  private void addManyTargets(int n) {
    for (int i = 0; i < n; i++) {
      repo.addTarget("targets", String.format("bulk/%05d.img", i), b("content " + i));
    }
  }

  @Test
  void largeTargetsRoleVerified() throws Exception {
    addManyTargets(1_500);
    repo.publishAll();
    assertTrue(repo.latest.get("targets").length >= 256 * 1024);
    Updater u = repo.updater(dir);
    assertEquals("content 1499".length(), u.getTargetInfo("bulk/01499.img").orElseThrow().length());
    assertArrayEquals(repo.latest.get("targets"), Files.readAllBytes(dir.resolve("targets.json")));
  }

  @Test
  @SuppressWarnings("unchecked")
  void largeTargetsRoleWithBadSignatureRejectedEvenWhenAlsoMalformed() throws Exception {
    addManyTargets(1_500);
    repo.signers.put("targets", List.of(TestRepo.newKey()));
    repo.publishAll();
    var e = assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
    assertEquals("targets", e.role());
    assertFalse(Files.exists(dir.resolve("targets.json")));
    // malformed and badly signed: the signature failure is reported, as when checked in sequence
    repo.signers.put("targets", List.of(TestRepo.newKey()));
    repo.tamper.put(
        "targets", s -> ((Map<String, Object>) s.get("targets")).put("bad", Map.of("length", -1L)));
    repo.publishAll();
    assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
    assertFalse(Files.exists(dir.resolve("targets.json")));
    // malformed but well signed: the malformed entry is reported, nothing persisted
    repo.tamper.put(
        "targets", s -> ((Map<String, Object>) s.get("targets")).put("bad", Map.of("length", -1L)));
    repo.publishAll();
    var bad =
        assertThrows(
            io.basalt.signing.tuf.BadMetadataException.class, () -> repo.updater(dir).refresh());
    assertTrue(bad.getMessage().contains("signed.targets.bad"), bad.getMessage());
    assertFalse(Files.exists(dir.resolve("targets.json")));
  }

  @Test
  void tamperedContentAfterSigningRejected() throws Exception {
    repo.publishAll();
    byte[] ts = repo.served.get("timestamp.json");
    String tampered =
        new String(ts, StandardCharsets.UTF_8).replace("\"version\": 2", "\"version\": 3");
    repo.served.put("timestamp.json", b(tampered));
    assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
  }

  @Test
  void thresholdNotMetRejected() throws Exception {
    repo.keys.get("snapshot").add(TestRepo.newKey());
    repo.thresholds.put("snapshot", 2);
    repo.publishRoot();
    repo.signers.put("snapshot", List.of(repo.keys.get("snapshot").get(0)));
    repo.publishAll();
    var e = assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
    assertEquals("snapshot", e.role());
    assertEquals(2, e.threshold());
    assertEquals(1, e.validSignatures());
  }

  @Test
  void duplicateSignatureKeyidsRejected() throws Exception {
    repo.keys.get("timestamp").add(TestRepo.newKey());
    repo.thresholds.put("timestamp", 2);
    repo.publishRoot();
    repo.publishAll();
    // Duplicate the one signature so a naive counter would see two.
    String ts = new String(repo.served.get("timestamp.json"), StandardCharsets.UTF_8);
    Map<String, Object> top = CanonicalJson.parseObject(b(ts));
    List<Object> sigs = new ArrayList<>((List<?>) top.get("signatures"));
    sigs.remove(1);
    sigs.add(sigs.get(0));
    Map<String, Object> copy = CanonicalJson.newObject();
    copy.putAll(top);
    copy.put("signatures", sigs);
    repo.served.put("timestamp.json", CanonicalJson.encode(copy));
    var e = assertThrows(BadMetadataException.class, () -> repo.updater(dir).refresh());
    assertTrue(e.getMessage().contains("more than one signature"), e.getMessage());
  }

  // ---- rollback
  // ----------------------------------------------------------------------------------

  @Test
  void timestampRollbackRejected() throws Exception {
    byte[] oldTs = repo.served.get("timestamp.json");
    repo.publishTimestamp();
    repo.updater(dir).refresh();
    repo.served.put("timestamp.json", oldTs);
    var e = assertThrows(RollbackException.class, () -> repo.updater(dir).refresh());
    assertEquals("timestamp", e.role());
    assertEquals(2, e.trustedVersion());
    assertEquals(1, e.receivedVersion());
  }

  @Test
  void snapshotVersionRollbackInTimestampRejected() throws Exception {
    repo.publishSnapshot();
    repo.publishTimestamp(); // snapshot v2
    repo.updater(dir).refresh();
    repo.tamper.put(
        "timestamp",
        s ->
            ((Map<String, Object>) ((Map<String, Object>) s.get("meta")).get("snapshot.json"))
                .put("version", 1L));
    repo.snapshotHashesInTimestamp = false;
    repo.publishTimestamp();
    var e = assertThrows(RollbackException.class, () -> repo.updater(dir).refresh());
    assertEquals("snapshot", e.role());
    assertEquals(2, e.trustedVersion());
    assertEquals(1, e.receivedVersion());
  }

  @Test
  void targetsRollbackInSnapshotRejected() throws Exception {
    repo.publishTargets("targets");
    repo.publishSnapshot();
    repo.publishTimestamp(); // targets v2
    repo.updater(dir).refresh();
    repo.tamper.put(
        "snapshot",
        s ->
            ((Map<String, Object>) ((Map<String, Object>) s.get("meta")).get("targets.json"))
                .put("version", 1L));
    repo.publishSnapshot();
    repo.publishTimestamp();
    var e = assertThrows(RollbackException.class, () -> repo.updater(dir).refresh());
    assertEquals("targets", e.role());
    assertEquals(2, e.trustedVersion());
    assertEquals(1, e.receivedVersion());
  }

  // ---- freeze (expiry)
  // ---------------------------------------------------------------------------

  @Test
  void expiredTimestampSnapshotTargetsRejected() throws Exception {
    for (String role : List.of("timestamp", "snapshot", "targets")) {
      setUp();
      repo.expires.put(role, TestRepo.NOW.minusSeconds(1));
      repo.publishAll();
      var e = assertThrows(ExpiredMetadataException.class, () -> repo.updater(dir).refresh(), role);
      assertEquals(role, e.role());
      assertEquals(TestRepo.NOW, e.now());
    }
  }

  @Test
  void expiryAtExactlyTheStartTimeIsExpired() throws Exception {
    repo.expires.put("timestamp", TestRepo.NOW);
    repo.publishTimestamp();
    assertThrows(ExpiredMetadataException.class, () -> repo.updater(dir).refresh());
  }

  @Test
  void expiredFinalRootRejectedButExpiredIntermediateAccepted() throws Exception {
    repo.expires.put("root", TestRepo.NOW.minus(Duration.ofDays(1)));
    repo.publishRoot(); // v2 expired
    var e = assertThrows(ExpiredMetadataException.class, () -> repo.updater(dir).refresh());
    assertEquals("root", e.role());
    assertEquals(
        2,
        repo.updater(dir).trustedRoot().metadata().version(),
        "v2 is still trusted as a chain link");
    repo.expires.remove("root");
    repo.publishRoot(); // v3 fine
    Updater u = repo.updater(dir);
    u.refresh();
    assertEquals(3, u.trustedRoot().metadata().version());
  }

  // ---- version mismatch
  // --------------------------------------------------------------------------

  @Test
  void snapshotVersionDifferentFromTimestampRejected() throws Exception {
    repo.tamper.put("snapshot", s -> s.put("version", 7L));
    repo.publishSnapshot(); // served as 2.snapshot.json but says 7
    repo.publishTimestamp();
    var e = assertThrows(VersionMismatchException.class, () -> repo.updater(dir).refresh());
    assertEquals("snapshot", e.role());
    assertEquals(2, e.expectedVersion());
    assertEquals(7, e.receivedVersion());
  }

  @Test
  void targetsVersionDifferentFromSnapshotRejected() throws Exception {
    repo.tamper.put("targets", s -> s.put("version", 1L));
    repo.publishAll(); // 2.targets.json says version 1
    var e = assertThrows(VersionMismatchException.class, () -> repo.updater(dir).refresh());
    assertEquals("targets", e.role());
    assertEquals(2, e.expectedVersion());
    assertEquals(1, e.receivedVersion());
  }

  // ---- endless data
  // ------------------------------------------------------------------------------

  @Test
  void endlessTimestampCutOffAtLimit() throws Exception {
    Fetcher base = repo.fetcher();
    Fetcher f = uri -> uri.toString().endsWith("timestamp.json") ? repo.endless() : base.open(uri);
    Updater u =
        new Updater(
            dir,
            java.net.URI.create(TestRepo.META),
            null,
            f,
            java.time.Clock.fixed(TestRepo.NOW, java.time.ZoneOffset.UTC));
    var e = assertThrows(LengthMismatchException.class, u::refresh);
    assertTrue(e.exceeded());
    assertEquals(16_384, e.expectedLength());
    assertEquals("timestamp", e.role());
  }

  @Test
  void snapshotLongerThanTimestampSaysRejected() throws Exception {
    byte[] snap = repo.served.get("1.snapshot.json");
    repo.served.put(
        "1.snapshot.json",
        (new String(snap, StandardCharsets.UTF_8) + "   ").getBytes(StandardCharsets.UTF_8));
    var e = assertThrows(LengthMismatchException.class, () -> repo.updater(dir).refresh());
    assertEquals("snapshot", e.role());
    assertEquals(snap.length, e.expectedLength());
  }

  @Test
  void snapshotHashMismatchRejected() throws Exception {
    byte[] snap = repo.served.get("1.snapshot.json").clone();
    snap[snap.length - 2] = (byte) (snap[snap.length - 2] == ' ' ? '\t' : ' ');
    repo.served.put("1.snapshot.json", snap);
    var e = assertThrows(HashMismatchException.class, () -> repo.updater(dir).refresh());
    assertEquals("sha256", e.algorithm());
  }

  @Test
  void targetLongerThanMetadataSaysCutOff() throws Exception {
    repo.addTarget("targets", "f.bin", b("0123456789"));
    repo.publishAll();
    Updater u = repo.updater(dir);
    TargetInfo info = u.getTargetInfo("f.bin").orElseThrow();
    String sha = Hashes.sha256(b("0123456789"));
    repo.served.put("targets/" + sha + ".f.bin", b("0123456789 and much more"));
    Path tdir = Files.createDirectories(fs.getPath("/dl"));
    var e = assertThrows(LengthMismatchException.class, () -> u.downloadTarget(info, tdir));
    assertTrue(e.exceeded());
    assertEquals(10, e.expectedLength());
    try (Stream<Path> s = Files.list(tdir)) {
      assertEquals(0, s.count(), "nothing half-written left");
    }
    repo.served.put("targets/" + sha + ".f.bin", b("01234"));
    var shortE = assertThrows(LengthMismatchException.class, () -> u.downloadTarget(info, tdir));
    assertFalse(shortE.exceeded());
    assertEquals(5, shortE.receivedLength());
  }

  // ---- hashes
  // ------------------------------------------------------------------------------------

  @Test
  void sha256AndSha512CheckedAndUnknownAlgorithmRejected() throws Exception {
    byte[] content = b("content");
    repo.addTarget("targets", "good.bin", content);
    repo.addTarget(
        "targets",
        "bad512.bin",
        content,
        new java.util.TreeMap<>(
            Map.of("sha256", Hashes.sha256(content), "sha512", TestRepo.sha512(b("other")))));
    repo.addTarget(
        "targets",
        "unknown.bin",
        content,
        new java.util.TreeMap<>(Map.of("sha256", Hashes.sha256(content), "md77", "00")));
    repo.publishAll();
    Updater u = repo.updater(dir);
    Path tdir = Files.createDirectories(fs.getPath("/dl"));
    assertArrayEquals(
        content,
        Files.readAllBytes(u.downloadTarget(u.getTargetInfo("good.bin").orElseThrow(), tdir)));
    var e512 =
        assertThrows(
            HashMismatchException.class,
            () -> u.downloadTarget(u.getTargetInfo("bad512.bin").orElseThrow(), tdir));
    assertEquals("sha512", e512.algorithm());
    assertEquals(TestRepo.sha512(content), e512.actual());
    var unk =
        assertThrows(
            HashMismatchException.class,
            () -> u.downloadTarget(u.getTargetInfo("unknown.bin").orElseThrow(), tdir));
    assertEquals("md77", unk.algorithm());
    assertNull(unk.actual());
  }

  @Test
  void tamperedTargetRejected() throws Exception {
    repo.addTarget("targets", "f.bin", b("genuine"));
    repo.publishAll();
    Updater u = repo.updater(dir);
    TargetInfo info = u.getTargetInfo("f.bin").orElseThrow();
    repo.served.put("targets/" + Hashes.sha256(b("genuine")) + ".f.bin", b("evil!!!"));
    var e =
        assertThrows(
            HashMismatchException.class,
            () -> u.downloadTarget(info, Files.createDirectories(fs.getPath("/dl"))));
    assertEquals(Hashes.sha256(b("evil!!!")), e.actual());
  }

  // ---- root rotation, key rotation, fast-forward recovery ---------------------------------------

  @Test
  void rootRotationChainFollowed() throws Exception {
    for (int i = 0; i < 3; i++) {
      repo.keys.put("root", new ArrayList<>(List.of(TestRepo.newKey(), TestRepo.newKey())));
      repo.thresholds.put("root", 2);
      repo.publishRoot(); // signed by previous and new keys
    }
    Updater u = repo.updater(dir);
    u.refresh();
    assertEquals(4, u.trustedRoot().metadata().version());
    assertArrayEquals(repo.latest.get("root"), Files.readAllBytes(dir.resolve("root.json")));
  }

  @Test
  void rootNotSignedByPreviousRootRejected() throws Exception {
    repo.keys.put("root", new ArrayList<>(List.of(TestRepo.newKey())));
    repo.previousRootKeys = List.of(); // attacker cannot sign with the trusted root keys
    repo.publishRoot();
    var e = assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
    assertEquals("root", e.role());
    assertTrue(e.getMessage().contains("root v1"), e.getMessage());
    assertEquals(1, repo.updater(dir).trustedRoot().metadata().version());
  }

  @Test
  void rootNotSignedByItsOwnNewKeysRejected() throws Exception {
    List<SigningKey> old = repo.keys.get("root");
    repo.keys.put("root", new ArrayList<>(List.of(TestRepo.newKey())));
    repo.signers.put("root", old);
    repo.publishRoot();
    var e = assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
    assertTrue(e.getMessage().contains("root v2"), e.getMessage());
  }

  @Test
  void rootWithWrongVersionInChainRejected() throws Exception {
    repo.tamper.put("root", s -> s.put("version", 3L));
    repo.publishRoot(); // served as 2.root.json
    var e = assertThrows(VersionMismatchException.class, () -> repo.updater(dir).refresh());
    assertEquals(2, e.expectedVersion());
    assertEquals(3, e.receivedVersion());
  }

  @Test
  void maximumRootRotationsBoundsTheChain() throws Exception {
    for (int i = 0; i < 5; i++) {
      repo.publishRoot();
    }
    Updater u =
        new Updater(
            dir,
            java.net.URI.create(TestRepo.META),
            null,
            repo.fetcher(),
            java.time.Clock.fixed(TestRepo.NOW, java.time.ZoneOffset.UTC),
            UpdaterConfig.defaults().withMaxRootRotations(3));
    u.refresh();
    assertEquals(4, u.trustedRoot().metadata().version());
    assertFalse(repo.fetched.contains(TestRepo.META + "5.root.json"));
  }

  @Test
  void nonRootKeyRotation() throws Exception {
    repo.updater(dir).refresh();
    SigningKey old = repo.keys.get("targets").get(0);
    repo.keys.put("targets", new ArrayList<>(List.of(TestRepo.newKey())));
    repo.publishRoot();
    repo.signers.put("targets", List.of(old)); // old (revoked) key no longer counts
    repo.publishAll();
    assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).refresh());
    repo.publishAll(); // signed with the new key
    repo.updater(dir).refresh();
  }

  @Test
  void fastForwardRecoveryAfterTimestampKeyRotation() throws Exception {
    // An attacker with the timestamp key pushes a huge version; the client trusts it.
    repo.versions.put("timestamp", 99L);
    repo.publishTimestamp(); // v100
    repo.updater(dir).refresh();
    // The repository rotates the timestamp key and restarts at a sane version.
    repo.keys.put("timestamp", new ArrayList<>(List.of(TestRepo.newKey())));
    repo.publishRoot();
    repo.versions.put("timestamp", 2L);
    repo.publishTimestamp(); // v3
    Updater u = repo.updater(dir);
    u.refresh();
    assertArrayEquals(
        repo.served.get("timestamp.json"), Files.readAllBytes(dir.resolve("timestamp.json")));
  }

  @Test
  void fastForwardRecoveryAfterSnapshotKeyRotation() throws Exception {
    repo.versions.put("snapshot", 99L);
    repo.publishSnapshot();
    repo.publishTimestamp();
    repo.updater(dir).refresh();
    repo.keys.put("snapshot", new ArrayList<>(List.of(TestRepo.newKey())));
    repo.publishRoot();
    repo.versions.put("snapshot", 4L);
    repo.publishSnapshot();
    // Timestamp refers to snapshot v5 < trusted 100: recovery needs the timestamp key rotated too
    // (5.3.11 deletes both when their keys change); rotate it as the spec's recovery procedure
    // says.
    repo.keys.put("timestamp", new ArrayList<>(List.of(TestRepo.newKey())));
    repo.publishRoot();
    repo.publishTimestamp();
    repo.updater(dir).refresh();
    assertArrayEquals(
        repo.latest.get("snapshot"), Files.readAllBytes(dir.resolve("snapshot.json")));
  }

  @Test
  void fastForwardRecoveryAfterSnapshotKeyRotationAlone() throws Exception {
    repo.versions.put("snapshot", 99L);
    repo.publishSnapshot();
    repo.publishTimestamp();
    repo.updater(dir).refresh();
    repo.keys.put("snapshot", new ArrayList<>(List.of(TestRepo.newKey())));
    repo.publishRoot();
    repo.versions.put("snapshot", 4L);
    repo.publishSnapshot();
    repo.publishTimestamp(); // refers to snapshot v5, below the trusted 100
    repo.updater(dir).refresh();
    assertArrayEquals(
        repo.latest.get("snapshot"), Files.readAllBytes(dir.resolve("snapshot.json")));
  }

  @Test
  void withoutKeyRotationFastForwardedTimestampStaysTrusted() throws Exception {
    repo.versions.put("timestamp", 99L);
    repo.publishTimestamp();
    repo.updater(dir).refresh();
    repo.versions.put("timestamp", 2L);
    repo.publishTimestamp();
    assertThrows(RollbackException.class, () -> repo.updater(dir).refresh());
  }

  // ---- delegations
  // -------------------------------------------------------------------------------

  @Test
  void delegationSearchIsPreOrderDepthFirstInListedOrder() throws Exception {
    repo.delegate("targets", "a", List.of("*"), false);
    repo.delegate("a", "a1", List.of("*"), false);
    repo.delegate("targets", "b", List.of("*"), false);
    repo.addTarget("a1", "f", b("from a1"));
    repo.addTarget("b", "f", b("from b"));
    repo.publishAll();
    TargetInfo info = repo.updater(dir).getTargetInfo("f").orElseThrow();
    assertEquals("a1", info.role());
    assertEquals(7, info.length());
  }

  @Test
  void delegationPathsRestrictWhatARoleMaySign() throws Exception {
    repo.delegate("targets", "beta", List.of("beta/*"), false);
    repo.addTarget("beta", "stable/x.img", b("sneaky"));
    repo.addTarget("beta", "beta/x.img", b("ok"));
    repo.publishAll();
    Updater u = repo.updater(dir);
    assertTrue(u.getTargetInfo("stable/x.img").isEmpty());
    assertEquals("beta", u.getTargetInfo("beta/x.img").orElseThrow().role());
  }

  @Test
  void terminatingDelegationStopsTheSearch() throws Exception {
    repo.delegate("targets", "t", List.of("*"), true);
    repo.delegate("targets", "later", List.of("*"), false);
    repo.addTarget("later", "f", b("x"));
    repo.publishAll();
    assertTrue(repo.updater(dir).getTargetInfo("f").isEmpty());
    assertFalse(repo.fetched.contains(TestRepo.META + "1.later.json"));

    setUp();
    repo.delegate("targets", "t", List.of("*"), false);
    repo.delegate("targets", "later", List.of("*"), false);
    repo.addTarget("later", "f", b("x"));
    repo.publishAll();
    assertEquals("later", repo.updater(dir).getTargetInfo("f").orElseThrow().role());
  }

  @Test
  void cyclicDelegationsTerminate() throws Exception {
    repo.delegate("targets", "a", List.of("*"), false);
    repo.delegate("a", "b", List.of("*"), false);
    // b delegates back to a (same keys), forming a cycle
    Map<String, Object> back = CanonicalJson.newObject();
    back.put("name", "a");
    back.put("keyids", List.of(repo.keys.get("a").get(0).keyId()));
    back.put("threshold", 1L);
    back.put("terminating", false);
    back.put("paths", List.of("*"));
    repo.delegationsOf.computeIfAbsent("b", k -> new ArrayList<>()).add(back);
    repo.publishAll();
    assertTrue(repo.updater(dir).getTargetInfo("nowhere").isEmpty());
  }

  @Test
  void maximumRoleCountBoundsTheSearch() throws Exception {
    String parent = "targets";
    for (int i = 0; i < 5; i++) {
      repo.delegate(parent, "r" + i, List.of("*"), false);
      parent = "r" + i;
    }
    repo.addTarget("r4", "deep", b("deep"));
    repo.publishAll();
    Updater limited =
        new Updater(
            dir,
            java.net.URI.create(TestRepo.META),
            null,
            repo.fetcher(),
            java.time.Clock.fixed(TestRepo.NOW, java.time.ZoneOffset.UTC),
            UpdaterConfig.defaults().withMaxDelegations(4));
    assertTrue(limited.getTargetInfo("deep").isEmpty());
    assertEquals("r4", repo.updater(dir).getTargetInfo("deep").orElseThrow().role());
  }

  // ---- delegated roles: order, persistence and failures in the middle of a search
  // -----------------

  /**
   * 30 sibling roles r00..r29 that may all sign "*" (the search limit is 32); the target is in the
   * last.
   */
  private void thirtyRoles() {
    for (int i = 0; i < 30; i++) {
      repo.delegate("targets", String.format("r%02d", i), List.of("*"), false);
    }
    repo.addTarget("r29", "f", b("from r29"));
  }

  private Set<String> persistedRoles() throws Exception {
    Set<String> out = new TreeSet<>(files());
    out.removeAll(Set.of("root.json", "timestamp.json", "snapshot.json", "targets.json"));
    return out;
  }

  private static Set<String> roleFiles(int from, int to) {
    Set<String> out = new TreeSet<>();
    for (int i = from; i < to; i++) {
      out.add(String.format("r%02d.json", i));
    }
    return out;
  }

  @Test
  void manyDelegatedRolesFetchedInSearchOrderAndAllPersisted() throws Exception {
    thirtyRoles();
    repo.publishAll();
    Updater u = repo.updater(dir);
    u.refresh();
    repo.fetched.clear();
    assertEquals("r29", u.getTargetInfo("f").orElseThrow().role());
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      expected.add(TestRepo.META + String.format("1.r%02d.json", i));
    }
    assertEquals(expected, repo.fetched);
    assertEquals(roleFiles(0, 30), persistedRoles());
    for (int i = 0; i < 30; i++) {
      String r = String.format("r%02d", i);
      assertArrayEquals(repo.latest.get(r), Files.readAllBytes(dir.resolve(r + ".json")));
    }
  }

  @Test
  void badSignatureInTheMiddleStopsTheSearchAndPersistsOnlyTheRolesBefore() throws Exception {
    thirtyRoles();
    repo.publishAll();
    repo.signers.put("r10", List.of(TestRepo.newKey()));
    repo.publishAll();
    Updater u = repo.updater(dir);
    var e = assertThrows(UnsignedMetadataException.class, () -> u.getTargetInfo("f"));
    assertEquals("r10", e.role());
    assertEquals(roleFiles(0, 10), persistedRoles());
    // nothing loaded after r10 stayed trusted in memory: the same search fails the same way
    var again = assertThrows(UnsignedMetadataException.class, () -> u.getTargetInfo("f"));
    assertEquals("r10", again.role());
    assertEquals(roleFiles(0, 10), persistedRoles());
  }

  @Test
  void aRoleSignatureFailureIsReportedBeforeItsOwnAndLaterRolesOtherFailures() throws Exception {
    thirtyRoles();
    repo.publishAll();
    // r05: bad signature and a version other than snapshot's; r07: malformed; r09: not served
    repo.signers.put("r05", List.of(TestRepo.newKey()));
    repo.tamper.put("r05", s -> s.put("version", 99L));
    repo.tamper.put("r07", s -> s.put("targets", "not an object"));
    repo.publishAll();
    repo.served.remove("1.r09.json");
    var e =
        assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).getTargetInfo("f"));
    assertEquals("r05", e.role());
    assertEquals(roleFiles(0, 5), persistedRoles());
  }

  private Updater updater() throws Exception {
    return new Updater(
        dir,
        java.net.URI.create(TestRepo.META),
        null,
        repo.fetcher(),
        java.time.Clock.fixed(TestRepo.NOW, java.time.ZoneOffset.UTC));
  }

  /**
   * Two roles with bad signatures (r08, r21): the first in load order (r08) is the one reported and
   * only the roles before it are persisted, every one byte-exact.
   */
  @Test
  void twoBadlySignedRolesReportTheFirstInLoadOrder() throws Exception {
    thirtyRoles();
    repo.publishAll();
    repo.signers.put("r08", List.of(TestRepo.newKey()));
    repo.signers.put("r21", List.of(TestRepo.newKey()));
    repo.publishAll();
    Updater u = updater();
    var e = assertThrows(UnsignedMetadataException.class, () -> u.getTargetInfo("f"));
    assertEquals("r08", e.role());
    assertEquals(roleFiles(0, 8), persistedRoles());
    for (int i = 0; i < 8; i++) {
      String r = String.format("r%02d", i);
      assertArrayEquals(repo.latest.get(r), Files.readAllBytes(dir.resolve(r + ".json")), r);
    }
    var again = assertThrows(UnsignedMetadataException.class, () -> u.getTargetInfo("f"));
    assertEquals("r08", again.role());
  }

  /**
   * A second client on the same directory uses the persisted delegated roles (checked again)
   * without fetching them.
   */
  @Test
  void persistedDelegatedRolesAreReusedByTheNextClient() throws Exception {
    thirtyRoles();
    repo.publishAll();
    assertEquals("r29", updater().getTargetInfo("f").orElseThrow().role());
    repo.fetched.clear();
    assertEquals("r29", updater().getTargetInfo("f").orElseThrow().role());
    assertTrue(
        repo.fetched.stream().noneMatch(u -> u.matches(".*\\.r\\d\\d\\.json")),
        repo.fetched.toString());
    // a persisted role that no longer verifies is fetched again (and the good copy persisted)
    Files.write(dir.resolve("r05.json"), repo.latest.get("r06"));
    repo.fetched.clear();
    assertEquals("r29", updater().getTargetInfo("f").orElseThrow().role());
    assertEquals(
        List.of(TestRepo.META + "1.r05.json"),
        repo.fetched.stream().filter(u -> u.matches(".*\\.r\\d\\d\\.json")).toList());
    assertArrayEquals(repo.latest.get("r05"), Files.readAllBytes(dir.resolve("r05.json")));
  }

  @Test
  void expiredOrMismatchedDelegatedRoleReportedWithTheRolesBeforePersisted() throws Exception {
    thirtyRoles();
    repo.expires.put("r20", TestRepo.NOW.minusSeconds(1));
    repo.publishAll();
    var e =
        assertThrows(
            io.basalt.signing.tuf.ExpiredMetadataException.class,
            () -> repo.updater(dir).getTargetInfo("f"));
    assertEquals("r20", e.role());
    assertEquals(roleFiles(0, 20), persistedRoles());
    repo.expires.remove("r20");
    repo.tamper.put("r25", s -> s.put("version", 99L));
    repo.publishAll();
    var v =
        assertThrows(
            io.basalt.signing.tuf.VersionMismatchException.class,
            () -> repo.updater(dir).getTargetInfo("f"));
    assertEquals("r25", v.role());
    assertEquals(roleFiles(0, 25), persistedRoles());
  }

  @Test
  void delegatedRoleSignedByWrongKeyRejected() throws Exception {
    repo.delegate("targets", "team", List.of("*"), false);
    repo.addTarget("team", "f", b("f"));
    repo.publishAll();
    repo.signers.put("team", List.of(TestRepo.newKey()));
    repo.publishAll();
    var e =
        assertThrows(UnsignedMetadataException.class, () -> repo.updater(dir).getTargetInfo("f"));
    assertEquals("team", e.role());
  }

  @Test
  void roleNamesWithReservedCharactersAreEscapedInUrlsAndFiles() throws Exception {
    List<String> names = List.of("a/b", "what?", "frag#x", "..", "../../etc/passwd");
    for (String n : names) {
      repo.delegate("targets", n, List.of(n.replaceAll("[^a-z]", "") + "/*"), false);
      repo.addTarget(n, n.replaceAll("[^a-z]", "") + "/t", b(n));
    }
    repo.publishAll();
    Updater u = repo.updater(dir);
    for (String n : names) {
      assertEquals(n, u.getTargetInfo(n.replaceAll("[^a-z]", "") + "/t").orElseThrow().role());
    }
    assertTrue(repo.fetched.contains(TestRepo.META + "1.a%2Fb.json"), repo.fetched.toString());
    assertTrue(repo.fetched.contains(TestRepo.META + "1.what%3F.json"));
    assertTrue(repo.fetched.contains(TestRepo.META + "1.frag%23x.json"));
    assertTrue(repo.fetched.contains(TestRepo.META + "1....json"));
    assertTrue(repo.fetched.contains(TestRepo.META + "1...%2F..%2Fetc%2Fpasswd.json"));
    assertTrue(
        files()
            .containsAll(
                Set.of(
                    "a%2Fb.json",
                    "what%3F.json", "frag%23x.json", "...json", "..%2F..%2Fetc%2Fpasswd.json")),
        files().toString());
    assertFalse(Files.exists(fs.getPath("/var/lib/etc")));
  }

  @Test
  void targetsInSubdirectories() throws Exception {
    repo.addTarget("targets", "stable/amd64/4.1.0/usr.img", b("usr image"));
    repo.publishAll();
    Updater u = repo.updater(dir);
    Path out =
        u.downloadTarget(
            u.getTargetInfo("stable/amd64/4.1.0/usr.img").orElseThrow(),
            Files.createDirectories(fs.getPath("/dl")));
    assertArrayEquals(b("usr image"), Files.readAllBytes(out));
    assertTrue(
        repo.fetched.contains(
            TestRepo.TARGETS + "stable/amd64/4.1.0/" + Hashes.sha256(b("usr image")) + ".usr.img"));
  }

  @Test
  void missingTrustedRootIsAClearError() {
    var e =
        assertThrows(
            java.nio.file.NoSuchFileException.class, () -> repo.updater(fs.getPath("/empty")));
    assertTrue(e.getMessage().contains("root.json"), e.getMessage());
  }

  @Test
  void unknownFieldsInReceivedMetadataAreKeptAndVerified() throws Exception {
    repo.tamper.put("targets", s -> s.put("x-vendor", Map.of("note", "kept")));
    repo.publishAll();
    repo.updater(dir).refresh();
    assertTrue(
        new String(Files.readAllBytes(dir.resolve("targets.json")), StandardCharsets.UTF_8)
            .contains("x-vendor"));
    // same bytes but the unknown field altered: the signature no longer verifies
    String t =
        new String(repo.served.get("2.targets.json"), StandardCharsets.UTF_8)
            .replace("kept", "kepT");
    repo.served.put("2.targets.json", b(t));
    Path fresh = TestRepo.initClient(fs.getPath("/fresh"), repo.root1);
    var e = assertThrows(UnsignedMetadataException.class, () -> repo.updater(fresh).refresh());
    assertEquals("targets", e.role());
  }

  @Test
  void sequenceInputStreamSanity() throws Exception {
    // The bounded reader accepts streams that deliver data in pieces.
    byte[] ts = repo.served.get("timestamp.json");
    Fetcher base = repo.fetcher();
    Fetcher chunky =
        uri ->
            uri.toString().endsWith("timestamp.json")
                ? new SequenceInputStream(
                    new ByteArrayInputStream(ts, 0, 10),
                    new ByteArrayInputStream(ts, 10, ts.length - 10))
                : base.open(uri);
    new Updater(
            dir,
            java.net.URI.create(TestRepo.META),
            null,
            chunky,
            java.time.Clock.fixed(TestRepo.NOW, java.time.ZoneOffset.UTC))
        .refresh();
  }
}
