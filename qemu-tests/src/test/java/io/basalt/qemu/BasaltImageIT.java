package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.image.cli.Basalt;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * End-to-end scenarios on the default image built by {@code basalt build} (or the build folder named
 * by -Dbasalt.qemu.image=DIR): UEFI disk boot on virtio with growth and persistence, USB boot, the
 * container runtimes, basaltctl, and a tampered USR-A. One image, copy-on-write overlays per
 * scenario. The guest is checked through the test hook (init-units README): the test adds
 * {@code basalt.testhook} to the boot entry of its copy of the disk and puts basalt-test.sh on OEM.
 */
class BasaltImageIT {
  static final Duration BOOT = Duration.ofMinutes(8);
  static final String[] FAILURES = {"Kernel panic", "basalt-initramfs: dropping to an emergency shell"};
  static Path work;
  static Path base;
  static long usrAStart;
  static long hashOffset;
  static long oemStart;

  @BeforeAll
  static void setUp() throws Exception {
    // Not validated yet (no image could be built and booted within the session): runs only when asked.
    org.junit.jupiter.api.Assumptions.assumeTrue(
        System.getProperty("basalt.qemu.image") != null || Boolean.getBoolean("basalt.qemu.build"),
        "set -Dbasalt.qemu.image=<build folder> or -Dbasalt.qemu.build=true to run the full-image scenarios");
    work = Path.of("target", "image-it").toAbsolutePath();
    Files.createDirectories(work);
    String given = System.getProperty("basalt.qemu.image");
    Path image = given != null ? Path.of(given) : work.resolve("image");
    if (!Files.isRegularFile(image.resolve("manifest.json"))) {
      int rc = Basalt.commandLine().execute("build", "--out", image.toString());
      assertEquals(0, rc, "basalt build failed");
    }
    JsonNode manifest = new ObjectMapper().readTree(Files.readString(image.resolve("manifest.json")));
    base = work.resolve("base.raw");
    Files.copy(image.resolve("disk.raw"), base, StandardCopyOption.REPLACE_EXISTING);
    JsonNode parts = new ObjectMapper().readTree(Host.run("sfdisk", "-J", base.toString())).get("partitiontable").get("partitions");
    long espStart = parts.get(0).get("start").asLong() * 512;
    usrAStart = parts.get(1).get("start").asLong() * 512;
    oemStart = parts.get(3).get("start").asLong() * 512;
    String cmdline = Files.readString(image.resolve("pxe/cmdline"));
    hashOffset = Long.parseLong(cmdline.replaceAll("(?s).*basalt\\.usr\\.hashoffset=(\\d+).*", "$1"));

    // Boot entry: add basalt.testhook (the product's entries never carry it).
    String esp = base + "@@" + espStart;
    String entries = Host.run("env", "MTOOLS_SKIP_CHECK=1", "mdir", "-b", "-i", esp, "::/loader/entries");
    String entry = entries.lines().filter(l -> l.endsWith(".conf")).findFirst().orElseThrow();
    entry = entry.substring(entry.indexOf("/loader/entries/"));
    String conf = Host.run("env", "MTOOLS_SKIP_CHECK=1", "mtype", "-i", esp, "::" + entry);
    Path patched = work.resolve("entry.conf");
    Files.writeString(patched, conf.replaceFirst("(?m)^(options .*)$", "$1 basalt.testhook"));
    Host.run("env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-o", "-i", esp, patched.toString(), "::" + entry);

    // OEM: the test script and a container image made here from busybox-static.
    String oem = base + "@@" + oemStart;
    Path script = work.resolve("basalt-test.sh");
    Files.writeString(script, String.join("\n",
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
    Host.run("env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-o", "-i", oem, script.toString(), "::/basalt-test.sh");
    Path img = work.resolve("img.tar");
    ImageArchive.write(Path.of("/bin/busybox"), "basalt-test:1", img);
    Host.run("env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-o", "-i", oem, img.toString(), "::/img.tar");
    Path marker = work.resolve("containers");
    Files.writeString(marker, "1\n");
    Host.run("env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-o", "-i", oem, marker.toString(), "::/containers");
    assertTrue(manifest.has("version") || manifest.size() > 0);
  }

  static Path overlay(String name, String size) throws IOException, InterruptedException {
    Path o = work.resolve(name + ".qcow2");
    Files.deleteIfExists(o);
    List<String> cmd = new ArrayList<>(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base.toString(), o.toString()));
    if (size != null) {
      cmd.add(size);
    }
    Host.run(cmd.toArray(String[]::new));
    return o;
  }

  static List<String> uefi(String name) throws IOException {
    Path vars = work.resolve(name + "-vars.fd");
    Files.copy(Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd"), vars, StandardCopyOption.REPLACE_EXISTING);
    return new ArrayList<>(List.of("-machine", "q35", "-m", "2G",
        "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
        "-drive", "if=pflash,format=raw,unit=1,file=" + vars,
        "-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"));
  }

  static Map<String, String> hookOutput(QemuVm vm, int from) throws InterruptedException {
    QemuVm.Match begin = vm.expect(from, BOOT, "basalt-test: begin", FAILURES);
    QemuVm.Match end = vm.expect(begin.end, Duration.ofMinutes(6), "basalt-test: end rc=", FAILURES);
    String out = vm.console().substring(begin.end, end.start);
    java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
    for (String l : out.split("\n")) {
      int t = l.indexOf("T: ");
      int eq = l.indexOf('=', Math.max(t, 0));
      if (t >= 0 && eq > t) {
        m.put(l.substring(t + 3, eq), l.substring(eq + 1).trim());
      }
    }
    return m;
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
    try (RandomAccessFile f = new RandomAccessFile(base.toString(), "r")) {
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
