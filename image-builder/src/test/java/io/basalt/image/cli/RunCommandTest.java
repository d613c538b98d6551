package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunCommandTest {
  private final FileSystem fs = Jimfs.newFileSystem(Configuration.unix());

  private Path build(String name) throws IOException {
    Path d = fs.getPath("/home/u/out", name);
    Files.createDirectories(d.resolve("pxe"));
    Files.writeString(d.resolve("manifest.json"), "{}");
    Files.write(d.resolve("disk.raw"), new byte[512]);
    Files.write(d.resolve("disk.qcow2"), qcow2(2_619_342_848L));
    Files.writeString(
        d.resolve("pxe/boot.ipxe"),
        "#!ipxe\nkernel vmlinuz basalt.live usrhash=ab console=ttyS0,115200\ninitrd initramfs\nboot\n");
    Files.write(d.resolve("pxe/vmlinuz"), new byte[] {1});
    Files.write(d.resolve("pxe/initramfs"), new byte[] {2});
    Files.write(d.resolve("pxe/usr.img"), new byte[] {3});
    return d;
  }

  /** The start of a qcow2 file: magic, version 3, and the virtual size at bytes 24-31. */
  private static byte[] qcow2(long virtualSize) {
    return java.nio.ByteBuffer.allocate(512)
        .put(new byte[] {'Q', 'F', 'I', (byte) 0xfb})
        .putInt(3)
        .putLong(24, virtualSize)
        .array();
  }

  private RunCommand command(Path artifact) throws IOException {
    RunCommand c = new RunCommand();
    c.artifact = artifact;
    c.sshPort = 2222;
    c.memory = "2G";
    Files.createDirectories(fs.getPath("/usr/share/OVMF"));
    c.ovmfCode = Files.write(fs.getPath("/usr/share/OVMF/OVMF_CODE_4M.fd"), new byte[] {9});
    c.ovmfVars = Files.write(fs.getPath("/usr/share/OVMF/OVMF_VARS_4M.fd"), new byte[] {8});
    return c;
  }

  @Test
  void findsTheOnlyBuildUnderOutAndPrefersQcow2() throws IOException {
    Path b = build("basalt-0.1.0");
    assertEquals(
        b.resolve("disk.qcow2"),
        RunCommand.resolveArtifact(fs.getPath("/home/u/out"), true, false));
    assertEquals(
        b.resolve("pxe"), RunCommand.resolveArtifact(fs.getPath("/home/u/out"), true, true));
    assertEquals(
        b.resolve("disk.raw"), RunCommand.resolveArtifact(b.resolve("disk.raw"), false, false));
    build("basalt-0.2.0");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> RunCommand.resolveArtifact(fs.getPath("/home/u/out"), true, false));
    assertTrue(
        e.getMessage().contains("2 build folders") && e.getMessage().contains("basalt-0.2.0"),
        e.getMessage());
  }

  @Test
  void guestForwardLetsTheGuestReachALoopbackPort() throws IOException {
    Path b = build("basalt-0.1.0");
    RunCommand c = command(b);
    c.guestForwards = List.of(8080);
    String q = String.join(" ", c.plan().qemu);
    assertTrue(
        q.contains(
            "-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,"
                + "guestfwd=tcp:10.0.2.100:8080-cmd:busybox nc 127.0.0.1 8080 "),
        q);
    c.guestForwards = List.of(0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::plan);
    assertEquals("--guest-forward: expected a port 1-65535, found 0", e.getMessage());
  }

  @Test
  void diskBootsThroughOvmfOnAnOverlayWithRestrictedNetAndLoopbackSsh() throws IOException {
    Path b = build("basalt-0.1.0");
    RunCommand c = command(b);
    c.diskSize = "8G";
    RunCommand.Plan p = c.plan();
    String q = String.join(" ", p.qemu);
    assertTrue(q.startsWith("qemu-system-x86_64 -accel tcg -m 2G"), q);
    assertTrue(
        q.contains("if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"),
        q);
    assertTrue(q.contains("if=pflash,format=raw,unit=1,file=" + b.resolve("run/OVMF_VARS.fd")), q);
    assertEquals(
        8, Files.readAllBytes(b.resolve("run/OVMF_VARS.fd"))[0], "a copy of the variable store");
    assertTrue(
        q.contains("format=qcow2,file=" + b.resolve("run/disk-overlay.qcow2"))
            && q.contains("virtio-blk-pci"),
        q);
    assertTrue(q.contains("-netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22"), q);
    assertEquals(
        List.of(
            List.of(
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                "qcow2",
                "-b",
                b.resolve("disk.qcow2").toString(),
                b.resolve("run/disk-overlay.qcow2").toString(),
                "8G")),
        p.prepare);
  }

  @Test
  void withoutDiskSizeTheOverlayIs8GibUnlessTheDiskIsLarger() throws IOException {
    Path b = build("basalt-0.1.0");
    // A 2.4 GiB qcow2 (the default image's size): the overlay gets 8 GiB so that ROOT can grow.
    RunCommand.Plan p = command(b).plan();
    assertEquals(
        List.of(
            List.of(
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                "qcow2",
                "-b",
                b.resolve("disk.qcow2").toString(),
                b.resolve("run/disk-overlay.qcow2").toString(),
                "8589934592")),
        p.prepare);
    // A raw disk is measured by its length: 512 bytes here, so 8 GiB too.
    assertEquals("8589934592", command(b.resolve("disk.raw")).plan().prepare.get(0).get(10));
    // A disk larger than 8 GiB keeps its own size (no size argument).
    Files.write(b.resolve("disk.qcow2"), qcow2(20L << 30));
    assertEquals(
        10,
        command(b).plan().prepare.get(0).size(),
        "no size: the overlay takes the backing file's");
    // Not a qcow2 file: a clear error instead of a guess.
    Files.write(b.resolve("disk.qcow2"), new byte[512]);
    IOException e = assertThrows(IOException.class, () -> command(b).plan());
    assertTrue(e.getMessage().contains("not a qcow2 file"), e.getMessage());
    // --in-place boots the artifact itself: no overlay, no size.
    RunCommand inPlace = command(b.resolve("disk.raw"));
    inPlace.inPlace = true;
    assertTrue(inPlace.plan().prepare.isEmpty());
  }

  @Test
  void usbAttachesTheDiskAsAMassStorageStick() throws IOException {
    RunCommand c = command(build("basalt-0.1.0").resolve("disk.raw"));
    c.usb = true;
    c.inPlace = true;
    String q = String.join(" ", c.plan().qemu);
    assertTrue(
        q.contains(
            "-device qemu-xhci,id=xhci -drive if=none,id=stick,format=raw,file=/home/u/out/basalt-0.1.0/disk.raw"
                + " -device usb-storage,bus=xhci.0,drive=stick"),
        q);
  }

  @Test
  void isoBootsAsCdromOrAsAUsbStickWhoseWritesAreDiscarded() throws IOException {
    Path b = build("basalt-0.1.0");
    IllegalArgumentException none =
        assertThrows(
            IllegalArgumentException.class,
            () -> RunCommand.resolveArtifact(b, false, false, true));
    assertTrue(none.getMessage().contains("0 .iso files"), none.getMessage());
    Path iso = Files.write(b.resolve("basalt-0.1.0.iso"), new byte[2048]);
    assertEquals(iso, RunCommand.resolveArtifact(fs.getPath("/home/u/out"), true, false, true));
    RunCommand c = command(b);
    c.iso = true;
    String q = String.join(" ", c.plan().qemu);
    assertTrue(
        q.contains(
            "-machine q35 -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"),
        q);
    assertTrue(
        q.contains(
            "-drive if=none,id=cd,media=cdrom,format=raw,readonly=on,file="
                + iso
                + " -device ide-cd,drive=cd,bootindex=0"),
        q);
    c.usb = true;
    q = String.join(" ", c.plan().qemu);
    assertTrue(
        q.contains(
            "-device qemu-xhci,id=xhci -drive if=none,id=stick,format=raw,snapshot=on,file="
                + iso
                + " -device usb-storage,bus=xhci.0,drive=stick,bootindex=0"),
        q);
    assertTrue(!q.contains("qemu-img") && !q.contains("overlay"), q);
    c.pxe = true;
    assertThrows(IllegalArgumentException.class, c::plan);
  }

  @Test
  void pxeServesIpxeOverQemuTftpWithExtraKernelArguments() throws IOException {
    Path b = build("basalt-0.1.0");
    RunCommand c = command(b);
    c.pxe = true;
    c.kernelArgs = List.of("basalt.testhook");
    String q = String.join(" ", c.plan().qemu);
    Path tftp = b.resolve("run/tftp");
    assertTrue(
        q.contains(
            "restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,tftp=" + tftp + ",bootfile=boot.ipxe"),
        q);
    assertTrue(q.contains("-boot n"), q);
    assertTrue(
        Files.readString(tftp.resolve("boot.ipxe"))
            .contains("console=ttyS0,115200 basalt.testhook\n"));
    assertEquals(2, Files.readAllBytes(tftp.resolve("initramfs"))[0]);
    assertEquals(3, Files.readAllBytes(tftp.resolve("usr.img"))[0], "the initramfs fetches it");
  }

  @Test
  void cloudConfigGoesOnAConfig2Iso() throws IOException {
    Path b = build("basalt-0.1.0");
    RunCommand c = command(b);
    c.cloudConfig = Files.writeString(fs.getPath("/home/u/cc.yml"), "#cloud-config\nhostname: x\n");
    RunCommand.Plan p = c.plan();
    assertEquals(
        "#cloud-config\nhostname: x\n",
        Files.readString(b.resolve("run/config-2/openstack/latest/user_data")));
    assertTrue(
        p.prepare.get(1).containsAll(List.of("xorriso", "-V", "config-2")), p.prepare.toString());
    assertTrue(
        String.join(" ", p.qemu)
            .contains(
                "-drive if=virtio,format=raw,readonly=on,file=" + b.resolve("run/config-2.iso")));
  }

  @Test
  void kernelArgumentsForADiskAreRefused() throws IOException {
    RunCommand c = command(build("basalt-0.1.0"));
    c.kernelArgs = List.of("x=1");
    assertThrows(IllegalArgumentException.class, c::plan);
  }
}
