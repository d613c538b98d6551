package io.basalt.qemu;

import static io.basalt.qemu.GuestImage.FAILURES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.testing.QemuTest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Disk identity (hardening issue, item 7): every disk written from one image carries the same disk
 * GUID, PARTUUIDs and labels until its first boot. First boot of disk A alone: A gets a disk GUID
 * and ESP, OEM and ROOT PARTUUIDs of its own (the slots keep theirs: the boot entries name them),
 * /efi is still mounted and the boot blessed. Second boot: a look-alike disk B, written from the
 * same image and never booted, is attached in front of A (B is vda, A is vdb; the firmware boots
 * A): /usr, ROOT and OEM come from A, B's ROOT keeps its first-boot marker, B's cloud-config does
 * not run and B keeps the image's identity. The test hook (A's OEM) reports what the guest sees.
 */
@QemuTest
class DiskIdentityIT {
  static final Duration BOOT = GuestImage.BOOT;

  static GuestImage bootDisk;
  static GuestImage lookAlike;

  /** Run by the test hook from the boot disk's OEM; the look-alike's says so if it is used. */
  static final String SCRIPT =
      String.join(
          "\n",
          "echo \"T: oem=boot-disk\"",
          "echo \"T: record=$(tr '\\n' ';' </run/basalt/boot-disk)\"",
          "echo \"T: root=$(findmnt -n -o SOURCE /)\"",
          "echo \"T: usron=$(ls /sys/block/dm-*/slaves/ 2>&1 | tr -d '\\n')\"",
          "echo \"T: oemdev=$(findmnt -n -o SOURCE /run/basalt/oem)\"",
          "echo \"T: lookalike=$(cat /etc/look-alike-ran 2>/dev/null || echo absent)\"",
          "echo \"T: efi=$(stat -f -c %T /efi/loader/ 2>&1)\"",
          "i=0; until [ \"$(systemctl show -P ActiveState systemd-bless-boot.service)\" != activating ]"
              + " || [ $i -ge 60 ]; do sleep 1; i=$((i + 1)); done",
          "echo \"T: bless=$(systemctl show -P Result systemd-bless-boot.service)"
              + " $(systemctl show -P ActiveState systemd-bless-boot.service)\"",
          "for d in /sys/class/block/vd?; do",
          "  n=${d##*/}",
          "  echo \"T: guid_$n=$(sfdisk --disk-id /dev/$n | tr A-F a-f)\"",
          "  echo \"T: esp_$n=$(sfdisk --part-uuid /dev/$n 1 | tr A-F a-f)\"",
          "  r=$(sfdisk -d /dev/$n | awk '/name=\"ROOT\"/ { print $1 }')",
          "  echo \"T: marker_$n=$(dd if=$r bs=22 count=1 2>/dev/null | tr -d '\\000')\"",
          "done",
          // Operators (hardening issue, item 22): a cloud-config user in group sudo reads the
          // status and holds reboots with sudo; a user in no group is told what is needed.
          "i=0; until basaltctl status >/dev/null 2>&1 || [ $i -ge 90 ]; do sleep 2; i=$((i + 1)); done",
          "echo \"T: opsgroups=$(id -nG ops 2>&1 | tr ' ' ,)\"",
          "echo \"T: opsstatus=$(runuser -u ops -- basaltctl status >/dev/null 2>&1; echo $?)\"",
          "echo \"T: opshold=$(runuser -u ops -- sudo -n basaltctl lock hold --reason it >/dev/null 2>&1; echo $?)"
              + " $(test -f /var/lib/basalt/reboot-hold.json && echo held)"
              + " $(runuser -u ops -- sudo -n basaltctl lock release >/dev/null 2>&1; echo $?)\"",
          "echo \"T: opsnosudo=$(runuser -u ops -- basaltctl lock hold 2>&1 | head -n 1)\"",
          "echo \"T: guest=$(runuser -u guest -- basaltctl status 2>&1 | head -n 1)"
              + " rc=$(runuser -u guest -- basaltctl status >/dev/null 2>&1; echo $?)\"",
          "");

  /** The boot disk's OEM: operators for the checks above. */
  static final String CONFIG =
      String.join(
          "\n",
          "#cloud-config",
          "users:",
          "  - name: ops",
          "    groups: [sudo]",
          "  - name: guest",
          "");

  /** The look-alike's OEM: a cloud-config that marks the machine if it ever runs. */
  static final String LOOK_ALIKE_CONFIG =
      String.join(
          "\n",
          "#cloud-config",
          "hostname: look-alike",
          "write_files:",
          "  - path: /etc/look-alike-ran",
          "    content: |",
          "      the look-alike disk's cloud-config ran",
          "");

  @BeforeAll
  static void setUp() throws Exception {
    Path work = Path.of("target", "disk-identity-it").toAbsolutePath();
    bootDisk = new GuestImage(GuestImage.defaultImage(), work.resolve("a"));
    bootDisk.appendCmdline("basalt.testhook");
    bootDisk.putOem("basalt-test.sh", SCRIPT);
    bootDisk.putOem("cloud-config.yml", CONFIG);
    lookAlike = new GuestImage(GuestImage.defaultImage(), work.resolve("b"));
    lookAlike.appendCmdline("basalt.testhook");
    lookAlike.putOem("basalt-test.sh", "echo \"T: oem=look-alike\"\n");
    lookAlike.putOem("cloud-config.yml", LOOK_ALIKE_CONFIG);
  }

  @Test
  void theMachineUsesOnlyTheDiskItBootedFromAndThatDiskHasItsOwnIdentity() throws Exception {
    String imageGuid = Host.run("sfdisk", "--disk-id", bootDisk.base.toString()).strip();
    String imageEsp = Host.run("sfdisk", "--part-uuid", bootDisk.base.toString(), "1").strip();
    imageGuid = imageGuid.toLowerCase(Locale.ROOT);
    imageEsp = imageEsp.toLowerCase(Locale.ROOT);
    Path a = bootDisk.overlay("disk", null);
    Path b = lookAlike.overlay("disk", null);

    Map<String, String> first;
    boolean renamed;
    long t0 = System.nanoTime();
    try (QemuVm vm =
        QemuVm.start(
            "identity-1",
            bootDisk.uefiVirtio("a", a, ""),
            bootDisk.work.resolve("identity-1.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached (version", FAILURES);
      first = GuestImage.hookOutput(vm, 0);
      renamed = vm.console().contains("first boot: giving /dev/vda a disk GUID");
    }
    report("first boot alone: %d s; %s", BasaltImageIT.seconds(t0), first);

    // Second boot: the look-alike in front (vda), the boot disk behind it (vdb, boot index 0).
    List<String> args = bootDisk.uefi("a", "");
    args.addAll(
        List.of(
            "-drive",
            "if=none,id=d1,format=qcow2,file=" + b,
            "-device",
            "virtio-blk-pci,drive=d1",
            "-drive",
            "if=none,id=d0,format=qcow2,file=" + a,
            "-device",
            "virtio-blk-pci,drive=d0,bootindex=0"));
    Map<String, String> second;
    t0 = System.nanoTime();
    try (QemuVm vm = QemuVm.start("identity-2", args, bootDisk.work.resolve("identity-2.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached (version", FAILURES);
      second = GuestImage.hookOutput(vm, 0);
    }
    report("second boot with a look-alike in front: %d s; %s", BasaltImageIT.seconds(t0), second);

    // The second boot used the disk it booted from, and only that one.
    assertEquals("boot-disk", second.get("oem"), "the boot disk's OEM, not the look-alike's");
    assertEquals("absent", second.get("lookalike"), "the look-alike's cloud-config never ran");
    assertEquals(
        "BASALT-ROOT-FIRST-BOOT",
        second.get("marker_vda"),
        "the look-alike's ROOT is untouched: " + second);
    assertTrue(second.get("root").startsWith("/dev/vdb"), "ROOT from the boot disk: " + second);
    assertEquals("vdb2", second.get("usron"), "/usr from the boot disk's slot A: " + second);
    assertTrue(second.get("oemdev").startsWith("/dev/vdb"), "OEM of the boot disk: " + second);
    assertTrue(second.get("record").startsWith("disk /dev/vdb;"), second.toString());
    assertEquals("msdos", second.get("efi"), second.toString());

    // The first boot gave the disk an identity of its own, kept since; the look-alike has the
    // image's.
    assertTrue(renamed, "the first boot said it renamed the disk");
    assertEquals("boot-disk", first.get("oem"), first.toString());
    assertTrue(first.get("record").startsWith("disk /dev/vda;"), first.toString());
    String guid = first.get("guid_vda");
    String esp = first.get("esp_vda");
    assertNotEquals(imageGuid, guid, "a disk GUID of its own");
    assertNotEquals(imageEsp, esp, "an ESP PARTUUID of its own");
    assertTrue(first.get("record").contains("disk-guid " + guid + ";"), first.toString());
    assertEquals("msdos", first.get("efi"), "/efi mounted on the first boot: " + first);
    assertEquals("success inactive", first.get("bless"), "the first boot is blessed: " + first);
    assertEquals("", first.get("marker_vda"), "ROOT made and its marker cleared: " + first);
    assertEquals(guid, second.get("guid_vdb"), "the boot disk's identity is kept: " + second);
    assertEquals(esp, second.get("esp_vdb"), second.toString());
    assertEquals(imageGuid, second.get("guid_vda"), "the look-alike keeps the image's identity");
    assertEquals(imageEsp, second.get("esp_vda"), second.toString());

    // Operators act as on CoreOS.
    assertTrue(second.get("opsgroups").contains("sudo"), second.toString());
    assertEquals("0", second.get("opsstatus"), "a sudo member reads the status: " + second);
    assertEquals("0 held 0", second.get("opshold"), "hold and release with sudo: " + second);
    assertTrue(
        second.get("opsnosudo").contains("permission denied; this needs root: run it as sudo"),
        second.toString());
    assertTrue(
        second.get("guest").startsWith("basaltctl status: ")
            && second.get("guest").contains("needs root or membership in group basalt or sudo"),
        second.toString());
    assertTrue(second.get("guest").endsWith(" rc=4"), second.toString());
  }

  static void report(String format, Object... args) {
    System.out.println("DiskIdentityIT: " + String.format(Locale.ROOT, format, args));
    System.out.flush();
  }
}
