package io.basalt.update.install;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.BootEntry;
import io.basalt.host.ChunkIndex;
import io.basalt.update.agent.SemVer;
import io.basalt.update.agent.UpdateChecker;
import io.basalt.update.testing.RepoRangeSource;
import io.basalt.update.testing.TufFixture;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The slot check against the reference tools: an image made by {@code mksquashfs} + {@code
 * veritysetup format} (hash tree appended at the padded size, as the build writes USR slots),
 * verified by {@link VerityVerifier#veritysetup()}; and a whole install onto plain files with it.
 */
class VerityIT {

  @TempDir Path tmp;

  /** mksquashfs of a small tree, padded to 4096, then veritysetup format with the tree after it. */
  VerityITAccess.Image makeImage(String version) throws Exception {
    return makeImage(tmp, version);
  }

  static VerityITAccess.Image makeImage(Path tmp, String version) throws Exception {
    Path tree = tmp.resolve("tree-" + version);
    Files.createDirectories(tree.resolve("share/basalt"));
    Files.writeString(tree.resolve("share/basalt/version"), version + "\n");
    byte[] blob = new byte[300_000];
    new java.util.Random(version.hashCode()).nextBytes(blob);
    Files.write(tree.resolve("share/blob"), blob);
    return VerityITAccess.format(tree, tmp.resolve("usr-" + version + ".img"));
  }

  @Test
  void theFormatterRebuildsTheHashAreaByteForByte() throws Exception {
    VerityITAccess.Image im = makeImage("2.1.0");
    int h = (int) im.hashOffset();
    ChunkIndex.Verity v =
        ChunkIndex.Verity.read(Arrays.copyOfRange(im.bytes(), h, h + 4096), h).orElseThrow();
    assertEquals(im.bytes().length, ChunkIndex.Verity.imageLength(h));
    // a slot: the data, zeros where the hash area goes (as the delta path writes them), then
    // what an earlier image left there (a slot is larger than its image)
    Path slot = tmp.resolve("slot");
    byte[] dev = new byte[im.bytes().length + (1 << 20)];
    Arrays.fill(dev, im.bytes().length, dev.length, (byte) 0x5a);
    System.arraycopy(im.bytes(), 0, dev, 0, h);
    Files.write(slot, dev);
    assertEquals(im.rootHash(), VerityFormatter.veritysetup().format(slot, v));
    // the hash area written over the slot is what the builder's image has at its hash offset
    assertArrayEquals(im.bytes(), Arrays.copyOf(Files.readAllBytes(slot), im.bytes().length));
    // a wrong salt gives another tree and another root hash (the caller then refuses the slot)
    String other =
        VerityFormatter.veritysetup()
            .format(slot, new ChunkIndex.Verity(h, "00" + v.salt().substring(2), v.uuid()));
    assertTrue(!other.equals(im.rootHash()), other);
    // so does one changed data bit
    dev = Files.readAllBytes(slot);
    dev[5000] ^= 0x40;
    Files.write(slot, dev);
    assertTrue(!VerityFormatter.veritysetup().format(slot, v).equals(im.rootHash()));
  }

  @Test
  void veritysetupAcceptsTheRightHashAndRefusesWrongHashAndCorruption() throws Exception {
    VerityITAccess.Image im = makeImage("2.0.0");
    Path slot = tmp.resolve("slot");
    byte[] dev =
        Arrays.copyOf(im.bytes(), im.bytes().length + (1 << 20)); // a slot is larger than its image
    Files.write(slot, dev);
    VerityVerifier v = VerityVerifier.veritysetup();
    assertDoesNotThrow(() -> v.verify(slot, im.rootHash(), im.hashOffset()));
    String wrong = (im.rootHash().charAt(0) == '0' ? "1" : "0") + im.rootHash().substring(1);
    IOException e = assertThrows(IOException.class, () -> v.verify(slot, wrong, im.hashOffset()));
    assertTrue(
        e.getMessage()
            .startsWith(
                slot + ": dm-verity check against the signed root hash " + wrong + " failed"),
        e.getMessage());
    dev[5000] ^= 0x40; // one data bit
    Files.write(slot, dev);
    assertThrows(IOException.class, () -> v.verify(slot, im.rootHash(), im.hashOffset()));
  }

  @Test
  void installsOntoASlotFileAndChecksItWithVeritysetup() throws Exception {
    VerityITAccess.Image im = makeImage("2.0.0");
    TufFixture tuf = new TufFixture(tmp.resolve("t"));
    byte[] kernel = "kernel 2.0.0".getBytes(StandardCharsets.UTF_8);
    byte[] initrd = "initramfs 2.0.0".getBytes(StandardCharsets.UTF_8);
    tuf.addRelease(
        "stable", "x86-64", "2.0.0", im.bytes(), im.rootHash(), im.hashOffset(), kernel, initrd);
    // A release signed with the root hash of another image: veritysetup must refuse the slot.
    VerityITAccess.Image other = makeImage("3.0.0");
    tuf.addRelease(
        "stable", "x86-64", "3.0.0", im.bytes(), other.rootHash(), im.hashOffset(), kernel, initrd);
    tuf.publish();
    Path esp = tmp.resolve("esp");
    Files.createDirectories(esp.resolve("loader/entries"));
    Files.writeString(
        esp.resolve("loader/entries/basalt-1.0.0-A.conf"),
        BootEntry.fresh("1.0.0", "A").text(InstallerTest.CMDLINE));
    TestBootDisk.write(tmp);
    Files.createDirectories(tmp.resolve("dev"));
    Path slotB = tmp.resolve("dev/vda3");
    Files.write(slotB, new byte[im.bytes().length + (1 << 20)]);
    HostInfo host = HostInfo.parse(InstallerTest.CMDLINE, "cmdline");
    Installer inst =
        new Installer(
            new ResumableDownload(new RepoRangeSource(tuf.repoDir)),
            new SlotDevices(tmp),
            VerityVerifier.veritysetup(),
            new Esp(esp),
            tmp.resolve("downloads"),
            null,
            null);

    Offer bad =
        new UpdateChecker(tuf.updater(TufFixture.T0.plusSeconds(60)), tuf.clientDir)
            .check("stable", "x86-64", SemVer.parse("1.0.0"), Set.of(), null, false)
            .offer()
            .orElseThrow();
    assertEquals("3.0.0", bad.version().toString());
    IOException e =
        assertThrows(
            IOException.class,
            () -> inst.install(bad, URI.create("http://repo/targets/"), true, host));
    assertTrue(
        e.getMessage().contains("dm-verity check against the signed root hash"), e.getMessage());
    assertEquals(List.of("basalt-1.0.0-A.conf"), list(esp));

    Offer good =
        new UpdateChecker(tuf.updater(TufFixture.T0.plusSeconds(60)), tuf.clientDir)
            .check("stable", "x86-64", SemVer.parse("1.0.0"), Set.of("3.0.0"), "2.0.0", false)
            .offer()
            .orElseThrow();
    Path entry = inst.install(good, URI.create("http://repo/targets/"), true, host);
    assertEquals(List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"), list(esp));
    assertTrue(
        Files.readString(entry)
            .contains("usrhash=" + im.rootHash() + " basalt.usr.hashoffset=" + im.hashOffset()));
    assertArrayEquals(im.bytes(), Arrays.copyOf(Files.readAllBytes(slotB), im.bytes().length));
    // the oracle once more, independently of the agent
    VerityITAccess.run(
        "veritysetup",
        "verify",
        "--hash-offset=" + im.hashOffset(),
        slotB.toString(),
        slotB.toString(),
        im.rootHash());
  }

  private static List<String> list(Path esp) throws IOException {
    try (var s = Files.list(esp.resolve("loader/entries"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
