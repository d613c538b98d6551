package io.basalt.update.install;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.BootEntry;
import io.basalt.host.DeltaPlan;
import io.basalt.update.agent.SemVer;
import io.basalt.update.agent.UpdateChecker;
import io.basalt.update.testing.RepoRangeSource;
import io.basalt.update.testing.TufFixture;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The delta path against the reference tools, differential: real squashfs + dm-verity images of a
 * v1 and a v2 (v1 plus one file), published with their chunk indexes; the slot the delta path
 * assembles (reused chunks copied from slot A, fetched chunks, {@code veritysetup format} over the
 * data) must hold exactly the bytes the plain path writes (the signed {@code usr.img}), and a wrong
 * reused or fetched chunk must fail the root hash check so that no boot entry is written.
 */
class DeltaSlotIT {

  @TempDir Path tmp;

  private VerityITAccess.Image v1;
  private VerityITAccess.Image v2;
  private TufFixture tuf;
  private Path esp;
  private Path slotA;
  private Path slotB;
  private HostInfo host;
  private final List<String> log = Collections.synchronizedList(new ArrayList<>());

  /** A /usr tree (a 2 MiB file the same in every version), mksquashfs, veritysetup format. */
  private VerityITAccess.Image image(String version, boolean extra) throws Exception {
    Path tree = tmp.resolve("tree-" + version);
    Files.createDirectories(tree.resolve("share/basalt"));
    byte[] blob = new byte[2 << 20];
    new SplittableRandom(7).nextBytes(blob);
    Files.write(tree.resolve("share/blob"), blob);
    Files.writeString(tree.resolve("share/basalt/version"), version + "\n");
    if (extra) {
      byte[] pkg = new byte[150_000];
      new SplittableRandom(8).nextBytes(pkg);
      Files.write(tree.resolve("share/package"), pkg);
    }
    return VerityITAccess.format(tree, tmp.resolve("usr-" + version + ".img"));
  }

  @BeforeEach
  void setUp() throws Exception {
    v1 = image("1.0.0", false);
    v2 = image("2.0.0", true);
    tuf = new TufFixture(tmp.resolve("t"));
    byte[] k = "kernel".getBytes(StandardCharsets.UTF_8);
    byte[] i = "initramfs".getBytes(StandardCharsets.UTF_8);
    tuf.addPayload("stable", "1.0.0", v1.bytes(), v1.rootHash(), v1.hashOffset(), k, i);
    tuf.addPayload("stable", "2.0.0", v2.bytes(), v2.rootHash(), v2.hashOffset(), k, i);
    tuf.publish();
    String cmdline =
        "mount.usr=PARTUUID=aaaaaaaa-0000-0000-0000-00000000000a usrhash="
            + v1.rootHash()
            + " basalt.usr.hashoffset="
            + v1.hashOffset()
            + " basalt.slot=A basalt.version=1.0.0 console=ttyS0";
    host = HostInfo.parse(cmdline, "cmdline");
    esp = tmp.resolve("esp");
    Files.createDirectories(esp.resolve("loader/entries"));
    Files.writeString(
        esp.resolve("loader/entries/basalt-1.0.0-A.conf"),
        BootEntry.fresh("1.0.0", "A").text(cmdline));
    TestBootDisk.write(tmp);
    Files.createDirectories(tmp.resolve("dev"));
    slotA = tmp.resolve("dev/vda2");
    slotB = tmp.resolve("dev/vda3");
    byte[] a = new byte[8 << 20];
    new SplittableRandom(3).nextBytes(a);
    System.arraycopy(v1.bytes(), 0, a, 0, v1.bytes().length);
    Files.write(slotA, a);
    byte[] b = new byte[8 << 20];
    new SplittableRandom(4).nextBytes(b); // an older image's leftovers
    Files.write(slotB, b);
  }

  /** The repository, refusing the full usr.img when {@code noFull} (no fallback). */
  private RangeSource source(boolean noFull, List<String> asked) {
    RepoRangeSource repo = new RepoRangeSource(tuf.repoDir);
    return (uri, offset) -> {
      asked.add(uri.getPath());
      if (noFull && uri.getPath().endsWith("usr.img")) {
        throw new IOException("usr.img refused (test)");
      }
      return repo.open(uri, offset);
    };
  }

  private Path install(RangeSource src, Installer.Hooks hooks, DeltaPlan[] plan) throws Exception {
    Offer offer =
        new UpdateChecker(tuf.updater(TufFixture.T0.plusSeconds(60)), tuf.clientDir)
            .check("stable", "x86-64", SemVer.parse("1.0.0"), Set.of(), null, false)
            .offer()
            .orElseThrow();
    DeltaInstall delta =
        new DeltaInstall(
            new ResumableDownload(src),
            src,
            Duration.ofMinutes(1),
            log::add,
            VerityFormatter.veritysetup());
    return new Installer(
            new ResumableDownload(src),
            new SlotDevices(tmp),
            VerityVerifier.veritysetup(),
            new Esp(esp),
            tmp.resolve("var/lib/basalt/downloads"),
            hooks,
            null,
            delta,
            p -> plan[0] = p,
            log::add)
        .install(offer, URI.create("http://repo/targets/"), true, host);
  }

  private List<String> entries() throws IOException {
    try (var s = Files.list(esp.resolve("loader/entries"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void theAssembledSlotHoldsTheBytesOfThePlainPath() throws Exception {
    List<String> asked = Collections.synchronizedList(new ArrayList<>());
    DeltaPlan[] plan = new DeltaPlan[1];
    install(source(true, asked), null, plan);
    // the plain path writes the signed usr.img: the delta path's slot is the same bytes
    assertArrayEquals(v2.bytes(), Arrays.copyOf(Files.readAllBytes(slotB), v2.bytes().length));
    assertEquals(List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"), entries());
    assertFalse(asked.stream().anyMatch(p -> p.endsWith("usr.img")), asked.toString());
    assertTrue(plan[0].reuseBytes() > plan[0].fetchBytes(), plan[0].toString());
    assertTrue(
        log.contains(
            "delta update: the running slot's chunks from stable/x86-64/1.0.0/usr.img.chunks.json.gz"),
        log.toString());
    assertTrue(
        log.contains("delta update: " + slotB + ": dm-verity root hash matches the signed one"),
        log.toString());
    // the oracle, independently of the agent
    VerityITAccess.run(
        "veritysetup",
        "verify",
        "--hash-offset=" + v2.hashOffset(),
        slotB.toString(),
        slotB.toString(),
        v2.rootHash());
  }

  @Test
  void aWrongReusedChunkFailsTheRootHashAndNoEntryIsWritten() throws Exception {
    byte[] a = Files.readAllBytes(slotA);
    a[(int) (v1.hashOffset() / 2)] ^= 0x10; // inside the blob, which v2 reuses
    Files.write(slotA, a);
    List<String> asked = Collections.synchronizedList(new ArrayList<>());
    IOException e =
        assertThrows(IOException.class, () -> install(source(true, asked), null, new DeltaPlan[1]));
    assertTrue(e.getMessage().contains("usr.img refused (test)"), e.getMessage());
    assertTrue(
        log.stream()
            .anyMatch(
                l ->
                    l.startsWith(
                            "delta update failed: "
                                + slotB
                                + ": dm-verity root hash of the assembled data ")
                        && l.contains(", the signed one is " + v2.rootHash())),
        log.toString());
    assertEquals(List.of("basalt-1.0.0-A.conf"), entries());
  }

  @Test
  void aWrongFetchedChunkFailsTheRootHashAndNoEntryIsWritten() throws Exception {
    Path chunks = tmp.resolve("var/lib/basalt/downloads/2.0.0/chunks");
    Installer.Hooks rot =
        step -> {
          if (step == Installer.Step.DOWNLOADED) {
            try (var s = Files.list(chunks)) {
              Path c = s.sorted().findFirst().orElseThrow();
              byte[] b = Files.readAllBytes(c);
              b[b.length / 2] ^= 1;
              Files.write(c, b);
            }
          }
        };
    List<String> asked = Collections.synchronizedList(new ArrayList<>());
    assertThrows(IOException.class, () -> install(source(true, asked), rot, new DeltaPlan[1]));
    assertTrue(
        log.stream()
            .anyMatch(
                l ->
                    l.startsWith(
                        "delta update failed: "
                            + slotB
                            + ": dm-verity root hash of the assembled data ")),
        log.toString());
    assertEquals(List.of("basalt-1.0.0-A.conf"), entries());
  }

  @Test
  void afterAFailedAssemblyTheFullPayloadIsWrittenAndVerified() throws Exception {
    byte[] a = Files.readAllBytes(slotA);
    a[(int) (v1.hashOffset() / 2)] ^= 0x10;
    Files.write(slotA, a);
    List<String> asked = Collections.synchronizedList(new ArrayList<>());
    install(source(false, asked), null, new DeltaPlan[1]);
    assertTrue(asked.stream().anyMatch(p -> p.endsWith("usr.img")), asked.toString());
    assertArrayEquals(v2.bytes(), Arrays.copyOf(Files.readAllBytes(slotB), v2.bytes().length));
    assertEquals(List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"), entries());
  }
}
