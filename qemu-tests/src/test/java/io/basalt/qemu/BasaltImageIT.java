package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.testing.QemuTest;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * End-to-end scenarios on the default image built by {@code basalt build} (into target/image, or
 * the build folder named by -Dbasalt.qemu.image=DIR): UEFI disk boot on virtio with ROOT grown to
 * fill an enlarged disk, the container runtimes (docker and containerd) and basaltctl, the same
 * disk booted again as a USB stick with the first boot's data, a PXE boot of the full image over
 * iPXE and QEMU's TFTP server (the initramfs fetching usr.img into RAM), and a tampered USR-A. One
 * image, copy-on-write overlays per scenario; the guest is checked through the test hook ({@link
 * GuestImage}). Five boots in all.
 */
@QemuTest
class BasaltImageIT {
  /**
   * Generous: a first boot under TCG is ~4 min on an idle 2-core machine, far more when it is
   * shared.
   */
  static final Duration BOOT = Duration.ofMinutes(20);

  static final String[] FAILURES = GuestImage.FAILURES;

  /** The disk is enlarged to this before its first boot (the image's disk.raw is ~2.44 GiB). */
  static final long ENLARGED = 4L << 30;

  static GuestImage image;
  static Path work;
  static long usrAStart;
  static long hashOffset;
  static long classStart;
  static long builtDisk;

  /** The test script run by the test hook on every boot (OEM's basalt-test.sh). */
  static final String SCRIPT =
      String.join(
          "\n",
          "live=; grep -qw basalt.live /proc/cmdline && live=1",
          "echo \"T: root=$(findmnt -n -o SOURCE,FSTYPE /)\"",
          "echo \"T: usr=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS /usr | cut -d, -f1)\"",
          "echo \"T: usrwrite=$(touch /usr/.basalt-test 2>/dev/null && echo writable || echo refused)\"",
          "echo \"T: verity=$(veritysetup status usr | sed -n 's/^ *status: *//p')\"",
          "rootdev=$(findmnt -n -o SOURCE /)",
          "if [ -b \"$rootdev\" ]; then",
          "  p=$(basename \"$(readlink -f \"$rootdev\")\")",
          "  d=$(basename \"$(readlink -f \"/sys/class/block/$p/..\")\")",
          "  echo \"T: rootdisk=$d\"",
          "  echo \"T: rootpart=$(cat /sys/class/block/$p/start) $(cat /sys/class/block/$p/size) $(cat /sys/class/block/$d/size)\"",
          "  echo \"T: rootfs=$(stat -f -c '%b %S' /)\"",
          "fi",
          "first=; [ -e /var/lib/basalt-test/marker ] || first=1",
          "echo \"T: persisted=$(cat /var/lib/basalt-test/marker 2>/dev/null || echo none)\"",
          "mkdir -p /var/lib/basalt-test && echo from-first-boot > /var/lib/basalt-test/marker && sync",
          "echo \"T: basaltctl=$(basaltctl --version 2>&1 | head -n 1)\"",
          // No datasource has user-data here (the OEM partition holds only this script): the
          // launcher's
          // fast path answers without a JVM.
          "a=$(systemctl show -P ExecMainStartTimestampMonotonic basalt-cloudinit.service)",
          "b=$(systemctl show -P ExecMainExitTimestampMonotonic basalt-cloudinit.service)",
          "echo \"T: cloudinit=$(systemctl show -P Result basalt-cloudinit.service) $(systemctl show -P ExecMainStatus basalt-cloudinit.service)"
              + " $(journalctl -b -o cat -u basalt-cloudinit.service | grep -c 'no datasource has user-data; nothing to apply')\"",
          "echo \"T: cloudinitms=$(((b - a) / 1000))\"",
          // The OEM partition is mounted for cloud-config; every storage/USB controller of these
          // machines
          // is driven by the initramfs, so datasource-disks does not wait for udev.
          "echo \"T: datasources=$(findmnt -n -r -o FSTYPE,OPTIONS /run/basalt/oem | cut -d, -f1)"
              + " $(journalctl -b -o cat -u basalt-cloudinit.service | grep -c 'waiting for udev')\"",
          // The update agent starts once multi-user.target is reached and then serves its status.
          "if [ -z \"$live\" ]; then",
          "  i=0; until basaltctl status >/dev/null 2>&1 || [ $i -ge 90 ]; do sleep 2; i=$((i + 1)); done",
          "  echo \"T: agent=$(systemctl is-active basalt-update-agent.service) $(basaltctl status >/dev/null 2>&1; echo $?)\"",
          "  echo \"T: agentafter=$(($(systemctl show -P ExecMainStartTimestampMonotonic basalt-update-agent.service)"
              + " - $(systemctl show -P ActiveEnterTimestampMonotonic multi-user.target)))\"",
          "fi",
          "if [ -n \"$first\" ] && [ -z \"$live\" ]; then",
          "  s=$(date +%s)",
          "  docker load -i \"$OEM/img.tar\" >/dev/null 2>&1",
          "  echo \"T: docker=$(docker run --rm basalt-test:1 echo hello-from-docker 2>&1)\"",
          "  echo \"T: dockerconfinement=$(docker run --rm basalt-test:1 cat /proc/self/attr/current 2>&1)\"",
          "  ctr -n basalt-test image import \"$OEM/img.tar\" >/dev/null 2>&1",
          "  echo \"T: containerd=$(ctr -n basalt-test run --rm docker.io/library/basalt-test:1 c1 /bin/busybox echo hello-from-containerd 2>&1)\"",
          "  echo \"T: containerseconds=$(($(date +%s) - s))\"",
          "fi",
          "");

  @BeforeAll
  static void setUp() throws Exception {
    classStart = System.nanoTime();
    work = Path.of("target", "image-it").toAbsolutePath();
    image = new GuestImage(GuestImage.defaultImage(), work);
    builtDisk = Files.size(image.base);
    usrAStart = image.partitionStart(2);
    hashOffset = Long.parseLong(image.pxeOption("basalt.usr.hashoffset"));
    image.appendCmdline("basalt.testhook");
    image.putOem("basalt-test.sh", SCRIPT);
    Path img = work.resolve("img.tar");
    ImageArchive.write(Path.of("/bin/busybox"), "basalt-test:1", img);
    image.putOem("img.tar", img);
  }

  @AfterAll
  static void total() {
    if (classStart != 0) {
      report("BasaltImageIT total (image build or copy + all boots): %d s", seconds(classStart));
    }
  }

  @Test
  void diskBootGrowsRootRunsContainersAndTheSameDiskBootsAgainAsUsbStickWithItsData()
      throws Exception {
    Path disk = image.overlay("disk", Long.toString(ENLARGED));
    long builtRoot = image.partitionSize(5);
    List<String> args = image.uefiVirtio("disk", disk, "");
    long t0 = System.nanoTime();
    Map<String, String> t;
    try (QemuVm vm = QemuVm.start("image-disk-1", args, work.resolve("disk-1.log"))) {
      vm.expect(0, BOOT, "basalt-initramfs: growing ROOT", FAILURES);
      vm.expect(0, BOOT, "basalt-initramfs: first boot: making ext4", FAILURES);
      QemuVm.Match check =
          vm.expect(0, BOOT, "basalt-initramfs: checking every block of /usr", FAILURES);
      long tCheck = System.nanoTime();
      QemuVm.Match sw = vm.expect(check.end, BOOT, "basalt-initramfs: switching to", FAILURES);
      long verity = seconds(tCheck);
      // basalt-boot-marker.service runs After=multi-user.target (systemd's own status line is
      // coloured).
      vm.expect(sw.end, BOOT, "basalt: multi-user reached (version", FAILURES);
      long multiUser = seconds(t0);
      t = hookOutput(vm);
      report(
          "disk first boot (virtio, %d -> %d bytes): multi-user after %d s (full verity check of /usr ~%d s),"
              + " containers %s s",
          builtDisk, ENLARGED, multiUser, verity, t.get("containerseconds"));
      assertEquals("/dev/mapper/usr squashfs ro", t.get("usr"), vm.tail());
      assertEquals("refused", t.get("usrwrite"), "/usr must not be writable");
      assertEquals("verified", t.get("verity"), vm.tail());
      assertTrue(t.getOrDefault("root", "").endsWith(" ext4"), "ROOT: " + t);
      assertEquals("vda", t.get("rootdisk"), t.toString());
      assertRootFillsTheDisk(t, builtRoot);
      assertEquals("none", t.get("persisted"));
      assertTrue(
          t.get("basaltctl").matches("basaltctl \\d+\\.\\d+.*"),
          "basaltctl --version: " + t.get("basaltctl"));
      assertEquals("hello-from-docker", t.get("docker"), "docker: " + t);
      assertTrue(
          t.getOrDefault("dockerconfinement", "").startsWith("docker-default"),
          "docker's container confined by AppArmor's docker-default profile: " + t);
      assertEquals("hello-from-containerd", t.get("containerd"), "containerd: " + t);
      report(
          "first boot: basalt-cloudinit %s ms (no datasource); update agent started %s us after multi-user.target",
          t.get("cloudinitms"), t.get("agentafter"));
      assertEquals(
          "vfat ro 0", t.get("datasources"), "OEM mounted read-only, no wait for udev: " + t);
      assertEquals(
          "success 0 1",
          t.get("cloudinit"),
          "basalt-cloudinit.service: result, exit status, 'nothing to apply' lines: " + t);
      assertEquals(
          "active 0", t.get("agent"), "update agent active and `basaltctl status` answered: " + t);
      assertTrue(
          Long.parseLong(t.get("agentafter")) >= 0,
          "the agent starts after multi-user.target is reached: " + t);
    }

    // Second boot: the same disk, now a USB stick behind xHCI.
    List<String> usb = image.uefi("usb", "");
    usb.addAll(
        List.of(
            "-device",
            "qemu-xhci,id=xhci",
            "-drive",
            "if=none,id=stick,format=qcow2,file=" + disk,
            "-device",
            "usb-storage,bus=xhci.0,drive=stick,bootindex=0"));
    t0 = System.nanoTime();
    try (QemuVm vm = QemuVm.start("image-usb", usb, work.resolve("usb.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached (version", FAILURES);
      long multiUser = seconds(t0);
      t = hookOutput(vm);
      report("second boot of the same disk as a USB stick: multi-user after %d s", multiUser);
      assertEquals("sda", t.get("rootdisk"), "booted from the USB stick: " + t);
      assertEquals("/dev/mapper/usr squashfs ro", t.get("usr"), vm.tail());
      assertEquals("verified", t.get("verity"), vm.tail());
      assertEquals("from-first-boot", t.get("persisted"), vm.tail());
      assertFalse(vm.console().contains("first boot: making ext4"), "ROOT must not be made again");
      assertFalse(
          vm.console().contains("checking every block of /usr"),
          "a verified slot is not fully checked again");
      assertRootFillsTheDisk(t, builtRoot);
    }
  }

  /** ROOT (partition 5) ends within the last MiB of the enlarged disk and its ext4 fills it. */
  static void assertRootFillsTheDisk(Map<String, String> t, long builtRoot) {
    String[] part = t.getOrDefault("rootpart", "").split(" ");
    assertEquals(3, part.length, "rootpart=<start> <size> <disk size> (sectors): " + t);
    long start = Long.parseLong(part[0]);
    long size = Long.parseLong(part[1]);
    long diskSectors = Long.parseLong(part[2]);
    assertEquals(ENLARGED / 512, diskSectors, "the guest sees the enlarged disk");
    long end = start + size;
    // GPT keeps its 33-sector backup at the end; sfdisk aligns the partition end to 1 MiB.
    assertTrue(
        end <= diskSectors - 33 && diskSectors - end < 2048 + 33,
        "ROOT ends at sector " + end + ", the disk has " + diskSectors + ": " + t);
    assertTrue(
        size * 512 > builtRoot + (ENLARGED - builtDisk) - (4 << 20),
        "ROOT grew from " + builtRoot + " bytes by the enlargement: " + size * 512);
    String[] fs = t.getOrDefault("rootfs", "").split(" ");
    long fsBytes = Long.parseLong(fs[0]) * Long.parseLong(fs[1]);
    assertTrue(
        fsBytes > size * 512 * 9 / 10,
        "ext4 on ROOT was grown too: " + fsBytes + " of " + size * 512);
  }

  @Test
  void pxeBootOfTheFullImageOverIpxeAndTftpReachesMultiUserOnATmpfsRoot() throws Exception {
    Path tftp = image.pxeTftp("pxe", "basalt.testhook");
    long initramfs = Files.size(tftp.resolve("initramfs"));
    List<String> args = GuestImage.pxe(tftp, "");
    args.addAll(
        List.of("-drive", "if=virtio,format=raw,readonly=on,file=" + image.oemDrive("pxe")));
    long t0 = System.nanoTime();
    try (QemuVm vm = QemuVm.start("image-pxe", args, work.resolve("pxe.log"))) {
      // Debian's iPXE ROM prints on the VGA console only: the first serial line is the kernel's,
      // after
      // SeaBIOS, iPXE's DHCP and the TFTP transfer of boot.ipxe, vmlinuz and the initramfs.
      QemuVm.Match kernel = vm.expect(0, BOOT, "Linux version", FAILURES);
      double fetchSeconds = (System.nanoTime() - t0) / 1e9;
      vm.expect(kernel.end, BOOT, "basalt-initramfs: starting (version", FAILURES);
      // QEMU's iPXE has no ${cwduri}: the initramfs takes usr.img from the lease's next-server.
      QemuVm.Match fetch =
          vm.expect(
              0,
              BOOT,
              "basalt-initramfs: fetching /usr into RAM: tftp://10.0.2.2/usr.img (",
              FAILURES);
      long tFetch = System.nanoTime();
      QemuVm.Match check =
          vm.expect(fetch.end, BOOT, "basalt-initramfs: checking every block of /usr", FAILURES);
      long tCheck = System.nanoTime();
      long usrFetch = (tCheck - tFetch) / 1_000_000_000L;
      vm.expect(check.end, BOOT, "basalt-initramfs: switching to", FAILURES);
      long verity = seconds(tCheck);
      vm.expect(0, BOOT, "basalt: multi-user reached (version", FAILURES);
      long multiUser = seconds(t0);
      Map<String, String> t = hookOutput(vm);
      report(
          "PXE boot: kernel started %.0f s after QEMU (firmware, DHCP and TFTP of vmlinuz + %d bytes of"
              + " initramfs: at least %.2f MiB/s), usr.img over TFTP by the initramfs ~%d s, full"
              + " verity check ~%d s, multi-user after %d s",
          fetchSeconds,
          initramfs,
          initramfs / fetchSeconds / (1 << 20),
          usrFetch,
          verity,
          multiUser);
      assertTrue(
          vm.console()
              .contains(
                  "basalt: multi-user reached (version "
                      + image.manifest.get("version").asText()
                      + ", slot live, /usr from /dev/mapper/usr)"),
          vm.tail());
      assertEquals("rootfs tmpfs", t.get("root"), "ROOT on tmpfs: " + t);
      assertEquals("/dev/mapper/usr squashfs ro", t.get("usr"), vm.tail());
      assertEquals("refused", t.get("usrwrite"), "/usr must not be writable");
      assertEquals("verified", t.get("verity"), vm.tail());
      assertTrue(
          t.get("basaltctl").matches("basaltctl \\d+\\.\\d+.*"),
          "basaltctl --version: " + t.get("basaltctl"));
    }
  }

  @Test
  void tamperedUsrARefusesToBootWithAMessageAndIsNeverMounted() throws Exception {
    Path disk = image.overlay("tamper", null);
    long at = usrAStart + hashOffset / 2; // inside the squashfs data, before the hash tree
    int original;
    try (RandomAccessFile f = new RandomAccessFile(image.base.toString(), "r")) {
      f.seek(at);
      original = f.read();
    }
    Host.run(
        "qemu-io",
        "-f",
        "qcow2",
        "-c",
        "write -P " + ((original ^ 0x01) & 0xff) + " " + at + " 1",
        disk.toString());
    List<String> args = image.uefiVirtio("tamper", disk, "");
    long t0 = System.nanoTime();
    try (QemuVm vm = QemuVm.start("image-tamper", args, work.resolve("tamper.log"))) {
      vm.expect(
          0,
          BOOT,
          "basalt-initramfs: /usr verity check failed",
          "Reached target",
          "switching to",
          "Kernel panic");
      QemuVm.Match shell =
          vm.expect(0, Duration.ofMinutes(2), "basalt-initramfs: dropping to an emergency shell");
      report("tampered USR-A: refused after %d s", seconds(t0));
      Thread.sleep(3000);
      vm.send(
          "echo \"usrmounts=$(grep -c ' /sysroot/usr ' /proc/mounts)-$(ls /dev/mapper | grep -c '^usr$')-end\"");
      vm.expect(shell.end, Duration.ofMinutes(2), "usrmounts=0-0-end");
      assertFalse(vm.console().contains("switching to"), vm.tail());
    }
  }

  static Map<String, String> hookOutput(QemuVm vm) throws InterruptedException {
    return GuestImage.hookOutput(vm, 0);
  }

  static long seconds(long since) {
    return (System.nanoTime() - since) / 1_000_000_000L;
  }

  static void report(String format, Object... args) {
    System.out.println("BasaltImageIT: " + String.format(Locale.ROOT, format, args));
    System.out.flush();
  }
}
