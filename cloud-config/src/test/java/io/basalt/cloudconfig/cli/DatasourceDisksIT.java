package io.basalt.cloudconfig.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * init-units' {@code /usr/lib/basalt/datasource-disks} (basalt-cloudinit.service's ExecStartPre)
 * against a fake sysfs and fake udevadm/blkid/mountpoint/mount on PATH: it waits for udev only
 * while a PCI storage or USB controller has no driver, and mounts only the labels that are there.
 */
class DatasourceDisksIT {

  private static final Path SCRIPT =
      Path.of(
          "..", "init-units", "src", "main", "resources", "basalt", "libexec", "datasource-disks");

  @TempDir Path tmp;
  private Path sys;
  private Path bin;
  private Path run;

  @BeforeEach
  void fakes() throws IOException {
    assertTrue(Files.isRegularFile(SCRIPT), "script not found at " + SCRIPT.toAbsolutePath());
    sys = Files.createDirectories(tmp.resolve("sys/bus/pci/devices"));
    run = tmp.resolve("run/basalt");
    bin = Files.createDirectories(tmp.resolve("bin"));
    tool("udevadm", "echo \"CALLED udevadm $*\"");
    // blkid -c /dev/null -o export -s LABEL: the ESP, then one device per label in $FAKE_LABELS;
    // a label listed twice is on two devices (fake-LABEL, then fake-LABEL-2). Any other call fails.
    tool(
        "blkid",
        String.join(
            "\n",
            "echo \"CALLED blkid $*\" >>\"$BLKID_LOG\"",
            "[ \"$*\" = '-c /dev/null -o export -s LABEL' ] || exit 9",
            "printf 'DEVNAME=/dev/fake-esp\\nLABEL=ESP\\n\\n'",
            "seen=' '",
            "for l in $FAKE_LABELS; do",
            "  case $seen in *\" $l \"*) d=/dev/fake-$l-2 ;; *) d=/dev/fake-$l ;; esac",
            "  seen=\"$seen$l \"",
            "  printf 'DEVNAME=%s\\nLABEL=%s\\n\\n' \"$d\" \"$l\"",
            "done"));
    tool("mountpoint", "exit 1");
    tool("mount", "echo \"CALLED mount $*\"");
  }

  private void tool(String name, String body) throws IOException {
    Path p = bin.resolve(name);
    Files.writeString(p, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  /** A PCI device of this class, with or without a bound driver. */
  private void device(String address, String pciClass, boolean driver) throws IOException {
    Path d = Files.createDirectories(sys.resolve(address));
    Files.writeString(d.resolve("class"), pciClass + "\n");
    if (driver) {
      Path drv =
          Files.createDirectories(
              tmp.resolve("sys/bus/pci/drivers/drv-" + address.replace(':', '_')));
      Files.createSymbolicLink(d.resolve("driver"), drv);
    }
  }

  private String run(String labels) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder("sh", SCRIPT.toAbsolutePath().toString()).redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.put("PATH", bin + File.pathSeparator + "/usr/bin:/bin");
    env.put("BASALT_SYSFS", tmp.resolve("sys").toString());
    env.put("BASALT_RUN_DIR", run.toString());
    env.put("FAKE_LABELS", labels);
    env.put("BLKID_LOG", tmp.resolve("blkid.log").toString());
    Files.deleteIfExists(tmp.resolve("blkid.log"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  private List<String> blkidCalls() throws IOException {
    Path log = tmp.resolve("blkid.log");
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  private static long count(String out, String prefix) {
    return out.lines().filter(l -> l.startsWith(prefix)).count();
  }

  @Test
  void everyControllerDrivenMeansNoWaitAndOnlyPresentLabelsAreMounted() throws Exception {
    device("0000:00:1f.2", "0x010601", true); // AHCI, driven (initramfs)
    device("0000:00:04.0", "0x010000", true); // virtio-blk, driven
    device("0000:00:03.0", "0x020000", false); // a NIC without driver: not a reason to wait
    device("0000:00:1d.0", "0x0c0330", true); // xHCI, driven
    String out = run("OEM");
    assertEquals(0, count(out, "CALLED udevadm"), out);
    assertEquals(
        List.of("CALLED blkid -c /dev/null -o export -s LABEL"),
        blkidCalls(),
        "one scan for all labels");
    assertEquals(
        List.of("CALLED mount -o ro,nosuid,nodev,noexec /dev/fake-OEM " + run.resolve("oem")),
        out.lines().filter(l -> l.startsWith("CALLED mount")).toList(),
        out);
    for (String d : List.of("oem", "config-2", "context")) {
      assertTrue(Files.isDirectory(run.resolve(d)), d);
    }
    assertEquals(0, count(run(""), "CALLED mount"), "no label there, nothing mounted");
  }

  @Test
  void everyLabelIsMountedByDeviceAndTheFirstDeviceWithALabelWins() throws Exception {
    device("0000:00:04.0", "0x010000", true);
    String out = run("CONTEXT config-2 OEM config-2");
    assertEquals(1, blkidCalls().size(), out);
    assertEquals(
        List.of(
            "CALLED mount -o ro,nosuid,nodev,noexec /dev/fake-OEM " + run.resolve("oem"),
            "CALLED mount -o ro,nosuid,nodev,noexec /dev/fake-config-2 " + run.resolve("config-2"),
            "CALLED mount -o ro,nosuid,nodev,noexec /dev/fake-CONTEXT " + run.resolve("context")),
        out.lines().filter(l -> l.startsWith("CALLED mount")).toList(),
        out);
  }

  @Test
  void onADiskBootOemIsReadOnlyFromTheBootDisk() throws Exception {
    device("0000:00:04.0", "0x010000", true);
    // The boot disk's OEM is the second device labelled OEM; the first is a look-alike disk
    // written from the same image (same label), whose cloud-config must not run.
    Files.createDirectories(run);
    Files.writeString(
        run.resolve("boot-disk"),
        String.join(
            "\n",
            "disk /dev/fake",
            "disk-guid 0a1b2c3d-0000-4000-8000-000000000001",
            "part /dev/fake-OEM-2 0a1b2c3d-0000-4000-8000-000000000004"
                + " 0fc63daf-8483-4772-8e79-3d69d8477de4 OEM",
            ""));
    String out = run("OEM OEM config-2");
    assertEquals(
        List.of(
            "CALLED mount -o ro,nosuid,nodev,noexec /dev/fake-OEM-2 " + run.resolve("oem"),
            "CALLED mount -o ro,nosuid,nodev,noexec /dev/fake-config-2 " + run.resolve("config-2")),
        out.lines().filter(l -> l.startsWith("CALLED mount")).toList(),
        out);
    assertTrue(
        out.contains("ignoring LABEL=OEM on /dev/fake-OEM: not the OEM partition of the boot disk"),
        out);

    // A boot disk without an OEM partition: no OEM at all, not another disk's.
    Files.writeString(
        run.resolve("boot-disk"),
        "disk /dev/fake\ndisk-guid 0a1b2c3d-0000-4000-8000-000000000001\n");
    assertEquals(0, count(run("OEM"), "CALLED mount"));
  }

  @Test
  void aStorageControllerWithoutDriverWaitsForUdevOnce() throws Exception {
    device("0000:00:1f.2", "0x010601", true);
    device("0000:00:01.1", "0x010180", false); // PIIX IDE (i440fx), its module left to udev
    device("0000:00:05.0", "0x010000", false); // a second one: still one wait
    String out = run("CONTEXT config-2");
    assertEquals(1, count(out, "CALLED udevadm settle --timeout=180"), out);
    assertTrue(out.contains("has no driver yet; waiting for udev"), out);
    assertTrue(
        out.indexOf("CALLED udevadm") < out.indexOf("CALLED mount"),
        "waits before it looks: " + out);
    assertEquals(2, count(out, "CALLED mount"), out);
  }

  @Test
  void aUsbControllerWithoutDriverWaitsForUdev() throws Exception {
    device("0000:00:1f.2", "0x010601", true);
    device("0000:00:01.2", "0x0c0300", false); // UHCI (i440fx), its module left to udev
    assertEquals(1, count(run(""), "CALLED udevadm settle"));
  }
}
