package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * End-to-end scenarios on the default image built by {@code basalt build} (or the build folder named
 * by -Dbasalt.qemu.image=DIR): UEFI disk boot on virtio with growth and persistence, USB boot, the
 * container runtimes, basaltctl, and a tampered USR-A. One image, copy-on-write overlays per
 * scenario. The guest is checked through the test hook ({@link GuestImage}).
 */
class BasaltImageIT {
  static final Duration BOOT = GuestImage.BOOT;
  static final String[] FAILURES = GuestImage.FAILURES;
  static GuestImage image;
  static Path work;
  static long usrAStart;
  static long hashOffset;

  @BeforeAll
  static void setUp() throws Exception {
    // Not validated yet: runs only when asked.
    org.junit.jupiter.api.Assumptions.assumeTrue(
        System.getProperty("basalt.qemu.image") != null || Boolean.getBoolean("basalt.qemu.build"),
        "set -Dbasalt.qemu.image=<build folder> or -Dbasalt.qemu.build=true to run the full-image scenarios");
    work = Path.of("target", "image-it").toAbsolutePath();
    image = new GuestImage(GuestImage.defaultImage(), work);
    usrAStart = image.partitionStart(2);
    hashOffset = Long.parseLong(image.pxeOption("basalt.usr.hashoffset"));
    image.appendCmdline("basalt.testhook");

    // OEM: the test script and a container image made here from busybox-static.
    image.putOem("basalt-test.sh", String.join("\n",
        "echo \"T: usr=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS /usr | cut -d, -f1)\"",
        "echo \"T: verity=$(veritysetup status usr | sed -n 's/^ *status: *//p')\"",
        "echo \"T: rootbytes=$(blockdev --getsize64 $(findmnt -n -o SOURCE /))\"",
        "echo \"T: persisted=$(cat /var/lib/basalt-test/marker 2>/dev/null || echo none)\"",
        "mkdir -p /var/lib/basalt-test && echo from-first-boot > /var/lib/basalt-test/marker && sync",
        "echo \"T: basaltctl=$(basaltctl --version 2>&1 | head -n 1)\"",
        "if grep -qw basalt.containers /proc/cmdline || [ -f \"$OEM/containers\" ]; then",
        "  docker load -i \"$OEM/img.tar\" >/dev/null 2>&1 && echo \"T: docker=$(docker run --rm basalt-test:1 echo hello-from-docker 2>&1)\"",
        "  ctr -n basalt-test image import \"$OEM/img.tar\" >/dev/null 2>&1 && echo \"T: containerd=$(ctr -n basalt-test run --rm docker.io/library/basalt-test:1 c1 /bin/busybox echo hello-from-containerd 2>&1)\"",
        "fi",
        ""));
    Path img = work.resolve("img.tar");
    ImageArchive.write(Path.of("/bin/busybox"), "basalt-test:1", img);
    image.putOem("img.tar", img);
    image.putOem("containers", "1\n");
  }

  static Path overlay(String name, String size) throws IOException, InterruptedException {
    return image.overlay(name, size);
  }

  static List<String> uefi(String name) throws IOException {
    return image.uefi(name, "");
  }

  static Map<String, String> hookOutput(QemuVm vm, int from) throws InterruptedException {
    return GuestImage.hookOutput(vm, from);
  }

  @Test
  void diskBootGrowsRootKeepsDataRunsContainersAndBasaltctl() throws Exception {
    Path disk = overlay("disk", "3G");
    List<String> args = uefi("disk");
    args.addAll(List.of("-drive", "if=none,id=d0,format=qcow2,file=" + disk, "-device", "virtio-blk-pci,drive=d0,bootindex=0"));
    try (QemuVm vm = QemuVm.start("image-disk-1", args, work.resolve("disk-1.log"))) {
      vm.expect(0, BOOT, "basalt-initramfs: first boot: making ext4", FAILURES);
      vm.expect(0, BOOT, "Reached target multi-user.target", FAILURES);
      vm.expect(0, BOOT, "basalt: multi-user reached", FAILURES);
      Map<String, String> t = hookOutput(vm, 0);
      assertEquals("/dev/mapper/usr squashfs ro", t.get("usr"), vm.tail());
      assertEquals("verified", t.get("verity"), vm.tail());
      assertTrue(Long.parseLong(t.get("rootbytes")) > 2_500_000_000L, "ROOT fills the 3 GiB disk: " + t);
      assertEquals("none", t.get("persisted"));
      assertTrue(t.get("basaltctl").matches(".*\\d+\\.\\d+.*"), "basaltctl --version: " + t.get("basaltctl"));
      assertTrue(t.getOrDefault("docker", "").contains("hello-from-docker"), "docker: " + t);
      assertTrue(t.getOrDefault("containerd", "").contains("hello-from-containerd"), "containerd: " + t);
    }
    try (QemuVm vm = QemuVm.start("image-disk-2", args, work.resolve("disk-2.log"))) {
      Map<String, String> t = hookOutput(vm, 0);
      assertEquals("from-first-boot", t.get("persisted"), vm.tail());
      assertFalse(vm.console().contains("first boot: making ext4"));
    }
  }

  @Test
  void usbBoot() throws Exception {
    Path disk = overlay("usb", null);
    List<String> args = uefi("usb");
    args.addAll(List.of("-device", "qemu-xhci,id=xhci", "-drive", "if=none,id=stick,format=qcow2,file=" + disk,
        "-device", "usb-storage,bus=xhci.0,drive=stick,bootindex=0"));
    try (QemuVm vm = QemuVm.start("image-usb", args, work.resolve("usb.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached", FAILURES);
      assertEquals("/dev/mapper/usr squashfs ro", hookOutput(vm, 0).get("usr"));
    }
  }

  @Test
  void tamperedUsrARefusesToBoot() throws Exception {
    Path disk = overlay("tamper", null);
    long at = usrAStart + hashOffset / 2;
    int original;
    try (RandomAccessFile f = new RandomAccessFile(image.base.toString(), "r")) {
      f.seek(at);
      original = f.read();
    }
    Host.run("qemu-io", "-f", "qcow2", "-c", "write -P " + ((original ^ 0x01) & 0xff) + " " + at + " 1", disk.toString());
    List<String> args = uefi("tamper");
    args.addAll(List.of("-drive", "if=none,id=d0,format=qcow2,file=" + disk, "-device", "virtio-blk-pci,drive=d0,bootindex=0"));
    try (QemuVm vm = QemuVm.start("image-tamper", args, work.resolve("tamper.log"))) {
      vm.expect(0, BOOT, "basalt-initramfs: /usr verity check failed", "Reached target", "Kernel panic");
      assertFalse(vm.console().contains("switching to"), vm.tail());
    }
  }

  static String text(Path p) throws IOException {
    return new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
  }
}
