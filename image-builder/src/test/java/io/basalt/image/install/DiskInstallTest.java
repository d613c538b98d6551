package io.basalt.image.install;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.host.RootPartition;
import io.basalt.image.api.DiskLayout;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.TreeEntry;
import io.basalt.update.install.VerityVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DiskInstallTest {
  /** The spec's smallest partitions, but a USR slot of 4 MiB and ROOT of 1 MiB. */
  static final ImageSpec.Partitions SMALL =
      new ImageSpec.Partitions(64L << 20, 4L << 20, 32L << 20, 1L << 20);

  private FileSystem fs;
  private Path dir;
  private final List<String> verified = new ArrayList<>();
  private final VerityVerifier recording =
      (dev, hash, off) -> verified.add(dev.getFileName() + " " + hash + " " + off);

  @BeforeEach
  void setUp() throws IOException {
    fs = Jimfs.newFileSystem(Configuration.unix());
    dir = fs.getPath("/build/update");
    InstallFixtures.payload(dir);
  }

  @AfterEach
  void tearDown() throws IOException {
    fs.close();
  }

  @Test
  void verifiesFilesAndTheHashTreeAndReadsTheLoaderOutOfUsr() throws Exception {
    Payload p = Payload.verify(dir, recording, fs.getPath("/"));
    long offset = Files.size(dir.resolve("usr.img"));
    assertEquals(List.of("usr.img " + InstallFixtures.ROOT_HASH + " " + offset), verified);
    assertEquals(InstallFixtures.EPOCH, p.epoch());
    try (InputStream in = p.systemdBoot().open()) {
      assertArrayEquals(InstallFixtures.SDBOOT, in.readAllBytes());
    }
    assertEquals("0.1.0", p.meta().version());
  }

  @Test
  void aChangedFileFailsItsSha256() throws IOException {
    Files.write(dir.resolve("vmlinuz"), "kernEl".getBytes(StandardCharsets.UTF_8));
    InstallException e =
        assertThrows(InstallException.class, () -> Payload.verify(dir, recording, fs.getPath("/")));
    assertEquals(InstallException.Kind.PAYLOAD, e.kind());
    assertTrue(e.getMessage().startsWith("/build/update/vmlinuz: sha256 "), e.getMessage());
    assertTrue(verified.isEmpty(), "verity is checked after the hashes");
  }

  @Test
  void aFileOfAnotherSizeOrMissingIsNamed() throws IOException {
    Files.write(dir.resolve("initramfs"), "initramfs!".getBytes(StandardCharsets.UTF_8));
    InstallException e =
        assertThrows(InstallException.class, () -> Payload.verify(dir, recording, fs.getPath("/")));
    assertEquals("/build/update/initramfs: 10 bytes, payload.json says 9", e.getMessage());
    Files.delete(dir.resolve("initramfs"));
    e = assertThrows(InstallException.class, () -> Payload.verify(dir, recording, fs.getPath("/")));
    assertEquals("/build/update/initramfs: missing (payload.json lists it)", e.getMessage());
  }

  @Test
  void aHashTreeThatFailsStopsTheInstall() {
    VerityVerifier failing =
        (dev, hash, off) -> {
          throw new IOException(dev + ": dm-verity check against the signed root hash failed");
        };
    InstallException e =
        assertThrows(InstallException.class, () -> Payload.verify(dir, failing, fs.getPath("/")));
    assertEquals(InstallException.Kind.PAYLOAD, e.kind());
    assertTrue(e.getMessage().contains("dm-verity check"), e.getMessage());
  }

  private DiskInstall plan(Target t, List<String> kargs, Optional<Content> cc) throws Exception {
    return DiskInstall.plan(
        new DiskInstall.Request(Payload.verify(dir, recording, fs.getPath("/")), SMALL, kargs, cc),
        t);
  }

  @Test
  void aTargetSmallerThanTheLayoutIsRefusedUntouched() throws Exception {
    Path img = fs.getPath("/small.raw");
    byte[] old = new byte[64 << 20];
    old[0] = 42;
    Files.write(img, old);
    InstallException e =
        assertThrows(
            InstallException.class,
            () -> plan(Target.check(img, fs.getPath("/")), List.of(), Optional.empty()));
    assertEquals(InstallException.Kind.TARGET, e.kind());
    assertTrue(
        e.getMessage().startsWith("too small: 67108864 bytes (64.0 MiB), the layout"),
        e.getMessage());
    assertArrayEquals(old, Files.readAllBytes(img));
  }

  @Test
  void writesTheLayoutToAnImageFileOfTheTargetsSize() throws Exception {
    Path img = fs.getPath("/disk.raw");
    long size = (64L + 4 + 4 + 32 + 1 + 1 + 16) << 20;
    try (SeekableByteChannel ch =
        Files.newByteChannel(
            img, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
      ch.position(size - 1);
      ch.write(ByteBuffer.wrap(new byte[] {7}));
    }
    Content cc = Content.ofBytes("#cloud-config\nhostname: a\n".getBytes(StandardCharsets.UTF_8));
    DiskInstall install =
        plan(Target.check(img, fs.getPath("/")), List.of("quiet"), Optional.of(cc));
    install.write();
    assertEquals(size, Files.size(img));
    DiskLayout layout = install.disk().layout();
    byte[] all = Files.readAllBytes(img);
    // UEFI 5.3.2: the primary header at LBA 1, the backup header in the target's last LBA
    String sig = "EFI PART";
    assertEquals(sig, new String(all, 512, 8, StandardCharsets.US_ASCII));
    assertEquals(sig, new String(all, all.length - 512, 8, StandardCharsets.US_ASCII));
    byte[] usr = Files.readAllBytes(dir.resolve("usr.img"));
    long usrAt = layout.partition("USR-A").firstLba() * 512;
    assertArrayEquals(
        usr, java.util.Arrays.copyOfRange(all, (int) usrAt, (int) usrAt + usr.length));
    long rootAt = layout.partition("ROOT").firstLba() * 512;
    byte[] marker = RootPartition.firstBootMarker();
    assertArrayEquals(
        marker, java.util.Arrays.copyOfRange(all, (int) rootAt, (int) rootAt + marker.length));
    assertEquals(0, all[all.length - 1], "the file is written anew (the old last byte was 7)");
    TreeEntry entry = install.disk().esp().get("/loader/entries/basalt-0.1.0-A+3.conf");
    String text = new String(entry.content().open().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(text.contains("usrhash=" + InstallFixtures.ROOT_HASH), text);
    assertTrue(text.strip().endsWith(" quiet"), text);
    assertTrue(install.disk().oem().get("/cloud-config.yml") != null);
    java.io.StringWriter out = new java.io.StringWriter();
    install.describe(new java.io.PrintWriter(out));
    assertTrue(out.toString().contains("USR-A"), out.toString());
    assertTrue(out.toString().contains("/cloud-config.yml"), out.toString());
  }

  @Test
  void aNewImageFileGetsTheLayoutsOwnSize() throws Exception {
    Path img = fs.getPath("/new.raw");
    DiskInstall install = plan(Target.check(img, fs.getPath("/")), List.of(), Optional.empty());
    install.write();
    assertEquals(io.basalt.image.pipeline.BasaltDisk.minimumSize(SMALL), Files.size(img));
  }

  @Test
  void onAHostRunningThePayloadTheLoaderComesFromTheVerifiedUsr() throws Exception {
    Path loader = fs.getPath("/usr/lib/systemd/boot/efi/systemd-bootx64.efi");
    Files.createDirectories(loader.getParent());
    Files.write(loader, "running".getBytes(StandardCharsets.US_ASCII));
    Files.createDirectories(fs.getPath("/proc"));
    Path cmdline = fs.getPath("/proc/cmdline");
    Files.writeString(
        cmdline, "mount.usr=PARTUUID=x usrhash=" + InstallFixtures.ROOT_HASH + " quiet\n");
    try (InputStream in = Payload.verify(dir, recording, fs.getPath("/")).systemdBoot().open()) {
      assertArrayEquals("running".getBytes(StandardCharsets.US_ASCII), in.readAllBytes());
    }
    Files.writeString(cmdline, "usrhash=" + "00".repeat(32) + "\n");
    try (InputStream in = Payload.verify(dir, recording, fs.getPath("/")).systemdBoot().open()) {
      assertArrayEquals(InstallFixtures.SDBOOT, in.readAllBytes());
    }
  }
}
