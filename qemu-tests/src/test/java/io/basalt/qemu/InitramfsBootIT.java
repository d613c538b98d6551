package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.host.RootPartition;
import io.basalt.image.initramfs.Initramfs;
import io.basalt.image.initramfs.InitramfsBuilder;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.testing.QemuTest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Boots the real Debian kernel of a mmdebstrap'ed tree with Basalt's initramfs (built by {@link
 * InitramfsBuilder} from that tree) in QEMU/TCG, against a small GPT disk made here with the
 * reference tools (mksquashfs, veritysetup, sgdisk): the /usr squashfs of the disk holds a stand-in
 * for systemd that reports what it finds and powers off. Proves the initramfs logic end to end:
 * modules, device discovery, dm-verity, first-boot ROOT creation and growth, persistence, USB
 * storage, live mode, refusal of a tampered /usr and the emergency shell.
 */
@QemuTest
class InitramfsBootIT {
  static final Duration BOOT = Duration.ofMinutes(4);
  static final String USR_UUID = "6a2c8b1e-0d4f-4c5e-9a51-2f6b3c7d8e90";
  static final String[] FAILURES = {
    "Kernel panic", "basalt-initramfs: dropping to an emergency shell"
  };
  static final long MIB = 1 << 20;

  static Path work;
  static Path kernel;
  static Path initrd;
  static Path liveInitrd;
  static Path pristine;
  static String rootHash;
  static long hashOffset;
  static long usrStart;
  static Initramfs built;

  @BeforeAll
  static void setUp() throws Exception {
    work = Path.of("target", "initramfs-it").toAbsolutePath();
    Files.createDirectories(work);
    Path tree = Fixtures.debianInitramfsTree();
    // /usr/share, /var and Debian's own initrd are not needed to build an initramfs.
    FileTree image = DirTrees.read(tree, "/usr/share", "/var", "/boot/initrd.img-");
    built = InitramfsBuilder.forImage(image).mtime(1_700_000_000L).build();
    kernel = tree.resolve(built.kernelImagePath().substring(1));
    initrd = work.resolve("initramfs.cpio.gz");
    CpioFiles.writeGzipNewc(built.tree(), initrd);

    // /usr: busybox-static and a stand-in for systemd that reports and powers off.
    Path usr = work.resolve("usr");
    Host.run("rm", "-rf", usr.toString());
    Files.createDirectories(usr.resolve("bin"));
    Files.createDirectories(usr.resolve("lib/systemd"));
    Files.createDirectories(usr.resolve("share/basalt/etc/basalt"));
    Files.copy(Path.of("/bin/busybox"), usr.resolve("bin/busybox"));
    Path init = usr.resolve("lib/systemd/systemd");
    Files.writeString(
        init,
        String.join(
            "\n",
            "#!/usr/bin/busybox sh",
            "b=/usr/bin/busybox",
            "echo \"FAKE-INIT: pid=$$\"",
            "echo \"FAKE-INIT: usr=$($b awk '$2 == \"/usr\" { print $1 \" \" $3 \" \" substr($4, 1, 2) }' /proc/mounts)\"",
            "echo \"FAKE-INIT: root=$($b awk '$2 == \"/\" { print $1 \" \" $3 }' /proc/mounts | $b tail -n 1)\"",
            "echo \"FAKE-INIT: dm=$($b cat /sys/block/dm-0/dm/name)\"",
            "echo \"FAKE-INIT: rootkb=$($b df -k / | $b tail -n 1 | $b awk '{ print $2 }')\"",
            "echo \"FAKE-INIT: hostname=$($b cat /etc/hostname) lib=$($b readlink /lib)\"",
            "if [ -f /var/lib/fake/persist ]; then echo \"FAKE-INIT: persisted=$($b cat /var/lib/fake/persist)\"; "
                + "else echo \"FAKE-INIT: persisted=none\"; fi",
            "$b mkdir -p /var/lib/fake && echo boot-data > /var/lib/fake/persist && $b sync",
            "if $b touch /usr/probe 2>/dev/null; then echo \"FAKE-INIT: usr-writable\"; fi",
            "echo \"FAKE-INIT: generator=$($b readlink /run/systemd/system-generators/systemd-veritysetup-generator)\"",
            "echo \"FAKE-INIT: done\"",
            "$b poweroff -f",
            ""));
    Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(usr.resolve("share/basalt/etc/hostname"), "basalt-test\n");
    Files.writeString(usr.resolve("share/basalt/etc/basalt/test.conf"), "x=1\n");

    Path usrImg = work.resolve("usr.img");
    Files.deleteIfExists(usrImg);
    Host.run(
        "mksquashfs",
        usr.toString(),
        usrImg.toString(),
        "-noappend",
        "-all-root",
        "-quiet",
        "-no-progress");
    long size = Files.size(usrImg);
    hashOffset = (size + 4095) / 4096 * 4096;
    try (FileChannel c = FileChannel.open(usrImg, StandardOpenOption.WRITE)) {
      c.truncate(hashOffset);
      c.write(ByteBuffer.allocate((int) (hashOffset - size)), size);
    }
    String fmt =
        Host.run(
            "veritysetup",
            "format",
            usrImg.toString(),
            usrImg.toString(),
            "--hash-offset=" + hashOffset);
    Matcher m = Pattern.compile("Root hash:\\s*([0-9a-f]{64})").matcher(fmt);
    assertTrue(m.find(), fmt);
    rootHash = m.group(1);

    liveInitrd = work.resolve("initramfs-live.cpio.gz");
    CpioFiles.writeGzipNewc(
        InitramfsBuilder.forImage(image)
            .mtime(1_700_000_000L)
            .liveUsrImage(Content.ofFile(usrImg))
            .build()
            .tree(),
        liveInitrd);

    // GPT disk per the boot contract: ESP, USR-A, USR-B, OEM, and a small, empty ROOT.
    pristine = work.resolve("disk.raw");
    Files.deleteIfExists(pristine);
    long usrMiB = (Files.size(usrImg) + MIB - 1) / MIB + 1;
    Host.run("truncate", "-s", "64M", pristine.toString());
    Host.run(
        "sgdisk",
        "-U",
        "0a1b2c3d-1111-4222-8333-444455556666",
        "-n",
        "1:1M:+2M",
        "-t",
        "1:c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
        "-c",
        "1:EFI-SYSTEM",
        "-n",
        "2:0:+" + usrMiB + "M",
        "-t",
        "2:8484680c-9521-48c6-9c11-b0720656f69e",
        "-c",
        "2:USR-A",
        "-u",
        "2:" + USR_UUID,
        "-n",
        "3:0:+" + usrMiB + "M",
        "-t",
        "3:8484680c-9521-48c6-9c11-b0720656f69e",
        "-c",
        "3:USR-B",
        "-n",
        "4:0:+2M",
        "-t",
        "4:0fc63daf-8483-4772-8e79-3d69d8477de4",
        "-c",
        "4:OEM",
        "-n",
        "5:0:+8M",
        "-t",
        "5:4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
        "-c",
        "5:ROOT",
        pristine.toString());
    usrStart = 3 * MIB;
    Host.run(
        "dd", "if=" + usrImg, "of=" + pristine, "bs=1M", "seek=3", "conv=notrunc", "status=none");
    // ROOT carries the first-boot marker, as the image builder writes it.
    Matcher first =
        Pattern.compile("First sector: (\\d+)")
            .matcher(Host.run("sgdisk", "-i", "5", pristine.toString()));
    assertTrue(first.find(), "sgdisk -i 5: no first sector");
    try (FileChannel c = FileChannel.open(pristine, StandardOpenOption.WRITE)) {
      c.write(
          ByteBuffer.wrap(RootPartition.firstBootMarker()), Long.parseLong(first.group(1)) * 512);
    }
  }

  static String diskCmdline() {
    return "console=ttyS0,115200 mount.usr=PARTUUID="
        + USR_UUID
        + " usrhash="
        + rootHash
        + " basalt.usr.hashoffset="
        + hashOffset
        + " basalt.slot=A basalt.version=it";
  }

  static List<String> kernelArgs(Path initramfs, String cmdline) {
    return new ArrayList<>(
        List.of(
            "-m",
            "1G",
            "-kernel",
            kernel.toString(),
            "-initrd",
            initramfs.toString(),
            "-append",
            cmdline));
  }

  static Path copyOf(String name) throws IOException {
    Path p = work.resolve(name);
    Files.copy(pristine, p, StandardCopyOption.REPLACE_EXISTING);
    return p;
  }

  static QemuVm boot(String name, List<String> args) throws IOException {
    return QemuVm.start(name, args, work.resolve(name + ".log"));
  }

  static String line(QemuVm vm, String prefix) throws InterruptedException {
    return vm.lineAfter(0, BOOT, prefix, FAILURES);
  }

  @Test
  void diskFirstBootMakesAndGrowsRootAndDataSurvivesTheSecondBoot() throws Exception {
    Path disk = copyOf("disk-grow.raw");
    Host.run("qemu-img", "resize", "-f", "raw", disk.toString(), "256M");
    List<String> args = kernelArgs(initrd, diskCmdline());
    args.addAll(List.of("-drive", "file=" + disk + ",if=virtio,format=raw"));
    try (QemuVm vm = boot("disk-first", args)) {
      vm.expect(0, BOOT, "basalt-initramfs: first boot: making ext4 (label ROOT)", FAILURES);
      assertEquals("squashfs ro", line(vm, "FAKE-INIT: usr=/dev/mapper/usr"));
      assertEquals("usr", line(vm, "FAKE-INIT: dm="));
      assertTrue(line(vm, "FAKE-INIT: root=").endsWith("ext4"), vm.tail());
      long rootKb = Long.parseLong(line(vm, "FAKE-INIT: rootkb="));
      assertTrue(rootKb > 200_000, "ROOT must fill the 256 MiB disk, has " + rootKb + " KiB");
      assertEquals("basalt-test lib=usr/lib", line(vm, "FAKE-INIT: hostname="));
      assertEquals("none", line(vm, "FAKE-INIT: persisted="));
      assertEquals("/dev/null", line(vm, "FAKE-INIT: generator="), "veritysetup generator masked");
      vm.expect(0, BOOT, "FAKE-INIT: done", FAILURES);
      assertFalse(vm.console().contains("FAKE-INIT: usr-writable"), "/usr must be read-only");
      assertTrue(vm.waitForExit(Duration.ofMinutes(1)) >= 0, "the VM powers off");
    }
    // The backup GPT was moved to the end of the enlarged disk and the table is sound.
    String verify = Host.run("sgdisk", "-v", disk.toString());
    assertTrue(verify.contains("No problems found"), verify);
    // Enlarged again: the second boot grows partition and ext4 (e2fsck + resize2fs), keeping the
    // data.
    Host.run("qemu-img", "resize", "-f", "raw", disk.toString(), "320M");
    try (QemuVm vm = boot("disk-second", args)) {
      vm.expect(0, BOOT, "basalt-initramfs: growing ROOT (/dev/vda5)", FAILURES);
      assertEquals("boot-data", line(vm, "FAKE-INIT: persisted="));
      long rootKb = Long.parseLong(line(vm, "FAKE-INIT: rootkb="));
      assertTrue(rootKb > 260_000, "ROOT must fill the 320 MiB disk, has " + rootKb + " KiB");
      vm.expect(0, BOOT, "FAKE-INIT: done", FAILURES);
      assertFalse(vm.console().contains("first boot"), "second boot must not remake ROOT");
      assertFalse(
          vm.console().contains("checking every block"), "slot already verified on this machine");
    }
  }

  @Test
  void bootsFromUsbMassStorage() throws Exception {
    Path disk = copyOf("disk-usb.raw");
    List<String> args = kernelArgs(initrd, diskCmdline());
    args.addAll(
        List.of(
            "-device",
            "qemu-xhci,id=xhci",
            "-drive",
            "if=none,id=stick,format=raw,file=" + disk,
            "-device",
            "usb-storage,bus=xhci.0,drive=stick"));
    try (QemuVm vm = boot("usb", args)) {
      assertEquals("squashfs ro", line(vm, "FAKE-INIT: usr=/dev/mapper/usr"));
      assertTrue(line(vm, "FAKE-INIT: root=").startsWith("/dev/sda5 "), vm.tail());
      vm.expect(0, BOOT, "FAKE-INIT: done", FAILURES);
    }
  }

  @Test
  void liveModeTakesUsrFromTheInitramfsAndRootOnTmpfs() throws Exception {
    String cmdline =
        "console=ttyS0,115200 basalt.live usrhash="
            + rootHash
            + " basalt.usr.hashoffset="
            + hashOffset;
    try (QemuVm vm = boot("live", kernelArgs(liveInitrd, cmdline))) {
      assertEquals("squashfs ro", line(vm, "FAKE-INIT: usr=/dev/mapper/usr"));
      assertTrue(line(vm, "FAKE-INIT: root=").endsWith(" tmpfs"), vm.tail());
      assertEquals("basalt-test lib=usr/lib", line(vm, "FAKE-INIT: hostname="));
      vm.expect(0, BOOT, "FAKE-INIT: done", FAILURES);
    }
  }

  @Test
  void tamperedUsrIsRefusedWithAMessageAndAnEmergencyShell() throws Exception {
    Path disk = copyOf("disk-tamper.raw");
    try (FileChannel c =
        FileChannel.open(disk, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long at = usrStart + hashOffset / 2; // inside the squashfs data area, before the hash tree
      ByteBuffer b = ByteBuffer.allocate(1);
      c.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
      c.write(b, at);
    }
    List<String> args = kernelArgs(initrd, diskCmdline());
    args.addAll(List.of("-drive", "file=" + disk + ",if=virtio,format=raw"));
    try (QemuVm vm = boot("tamper", args)) {
      vm.expect(
          0,
          BOOT,
          "basalt-initramfs: /usr verity check failed",
          "FAKE-INIT",
          "Kernel panic",
          "basalt-initramfs: dropping");
      QemuVm.Match shell =
          vm.expect(0, BOOT, "basalt-initramfs: dropping to an emergency shell", "FAKE-INIT");
      Thread.sleep(2000);
      vm.send("echo shell-$((40 + 2))");
      vm.expect(shell.end, Duration.ofMinutes(1), "shell-42");
      assertFalse(vm.console().contains("FAKE-INIT"), "tampered /usr must never be mounted");
      assertFalse(vm.console().contains("switching to"), vm.tail());
    }
  }

  static String text(Path p) throws IOException {
    return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
  }
}
