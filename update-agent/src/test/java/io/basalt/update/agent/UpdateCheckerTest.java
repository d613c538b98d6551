package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.signing.tuf.TufException;
import io.basalt.update.install.Offer;
import io.basalt.update.testing.TufFixture;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class UpdateCheckerTest {

  private final FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
  private final Instant now = TufFixture.T0.plusSeconds(3600);
  private TufFixture tuf;

  @BeforeEach
  void setUp() throws Exception {
    tuf = new TufFixture(fs.getPath("/t"));
    tuf.addRelease("stable", "x86-64", "1.0.0");
    tuf.addRelease("stable", "x86-64", "1.10.0");
    tuf.addRelease("stable", "x86-64", "1.9.0");
    tuf.addRelease("beta", "x86-64", "3.0.0-beta.1");
    tuf.addRelease("stable", "arm64", "5.0.0");
    tuf.publish();
  }

  private UpdateChecker.Result check(
      String channel, String running, Set<String> failed, String pin, boolean force)
      throws Exception {
    return new UpdateChecker(tuf.updater(now), tuf.clientDir)
        .check(channel, "x86-64", SemVer.parse(running), failed, pin, force);
  }

  @Test
  void picksNewestForChannelAndArchInSemverOrder() throws Exception {
    UpdateChecker.Result r = check("stable", "1.0.0", Set.of(), null, false);
    Offer o = r.offer().orElseThrow();
    assertEquals(
        "1.10.0", o.version().toString()); // 1.10.0 > 1.9.0, not lexical; arm64 5.0.0 ignored
    assertEquals("stable/x86-64/1.10.0/usr.img", o.usr().path());
    assertEquals("stable/x86-64/1.10.0/vmlinuz", o.kernel().path());
    assertEquals("stable/x86-64/1.10.0/initramfs", o.initramfs().path());
    assertEquals("ab".repeat(32), o.usrRootHash());
    assertEquals(4096, o.usrHashOffset());
    assertEquals(8192, o.usr().length());
    assertEquals("update available: 1.0.0 -> 1.10.0", r.message());
    assertEquals(
        "3.0.0-beta.1",
        check("beta", "1.0.0", Set.of(), null, false).offer().orElseThrow().version().toString());
  }

  @Test
  void upToDateAndNeverADowngrade() throws Exception {
    UpdateChecker.Result r = check("stable", "1.10.0", Set.of(), null, false);
    assertTrue(r.offer().isEmpty());
    assertEquals("up to date: running 1.10.0, newest on channel stable is 1.10.0", r.message());
    assertTrue(check("stable", "2.0.0", Set.of(), null, false).offer().isEmpty());
    UpdateChecker.Result pinned = check("stable", "1.10.0", Set.of(), "1.9.0", false);
    assertTrue(pinned.offer().isEmpty());
    assertEquals(
        "version 1.9.0 is older than the running 1.10.0; a downgrade needs --force",
        pinned.message());
    assertEquals(
        "1.9.0",
        check("stable", "1.10.0", Set.of(), "1.9.0", true)
            .offer()
            .orElseThrow()
            .version()
            .toString());
  }

  @Test
  void failedVersionIsNotRetriedUntilANewerOneAppears() throws Exception {
    UpdateChecker.Result r = check("stable", "1.0.0", Set.of("1.10.0"), null, false);
    assertTrue(r.offer().isEmpty());
    assertEquals(
        "newest version 1.10.0 failed to boot here before; waiting for a newer one", r.message());
    tuf.addRelease("stable", "x86-64", "1.11.0");
    tuf.publish();
    assertEquals(
        "1.11.0",
        check("stable", "1.0.0", Set.of("1.10.0"), null, false)
            .offer()
            .orElseThrow()
            .version()
            .toString());
  }

  @Test
  void tamperedTargetsMetadataIsRefused() throws Exception {
    // A mirror serving targets metadata altered after signing: the refresh fails, no offer.
    var meta = tuf.repoDir.resolve("metadata");
    try (var s = Files.list(meta)) {
      for (var p : s.filter(p -> p.getFileName().toString().endsWith("targets.json")).toList()) {
        Files.writeString(p, Files.readString(p).replace("1.10.0", "9.10.0"));
      }
    }
    assertThrows(TufException.class, () -> check("stable", "1.0.0", Set.of(), null, false));
  }

  @Test
  void mirrorReplayingOlderMetadataIsRefused() throws Exception {
    java.nio.file.Path old = fs.getPath("/old-metadata");
    copyTree(tuf.repoDir.resolve("metadata"), old);
    tuf.addRelease("stable", "x86-64", "1.11.0");
    tuf.publish();
    assertEquals(
        "1.11.0",
        check("stable", "1.0.0", Set.of(), null, false).offer().orElseThrow().version().toString());
    // A compromised mirror now serves the older signed metadata (which offers only up to 1.10.0).
    java.nio.file.Path meta = tuf.repoDir.resolve("metadata");
    try (var s = Files.list(meta)) {
      for (var p : s.toList()) {
        Files.delete(p);
      }
    }
    copyTree(old, meta);
    assertThrows(
        io.basalt.signing.tuf.RollbackException.class,
        () -> check("stable", "1.0.0", Set.of(), null, false));
  }

  private static void copyTree(java.nio.file.Path from, java.nio.file.Path to) throws Exception {
    Files.createDirectories(to);
    try (var s = Files.list(from)) {
      for (var p : s.toList()) {
        Files.copy(p, to.resolve(p.getFileName().toString()));
      }
    }
  }
}
