package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.testing.QemuLongTest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * cloud-config's class-data archive on the default image (tier qemu-long: -Dbasalt.qemu.long=true
 * or -Dbasalt.qemu.image=DIR). First boot: basalt-cloudinit.service applies the OEM cloud-config
 * without an archive, then basalt-cloudinit-cds.service makes
 * /var/cache/basalt/cds/cloud-config-&lt;usrhash&gt;.jsa with the image's own Java runtime and
 * jars. Second boot of the same disk: the unit's JVM maps that archive (its classes come from it)
 * and the config is still applied. The test hook reports what the guest sees. Not thread-safe (one
 * VM at a time).
 */
@QemuLongTest(orWhenSet = "basalt.qemu.image")
class CloudConfigCdsIT {
  static final Duration BOOT = BasaltImageIT.BOOT;
  static GuestImage image;

  /** Waits (bounded) for the archive unit, then reports archive, unit results and timings. */
  static final String SCRIPT =
      String.join(
          "\n",
          "h=$(sed -n 's/.*usrhash=\\([0-9a-f]*\\).*/\\1/p' /proc/cmdline)",
          "echo \"T: usrhash=$h\"",
          "i=0",
          "while [ $i -lt 600 ]; do",
          "  [ -s /var/cache/basalt/cds/cloud-config-$h.jsa ] && break",
          "  [ \"$(systemctl show -P Result basalt-cloudinit-cds.service)\" != success ] && break",
          "  sleep 1; i=$((i + 1))",
          "done",
          "echo \"T: archives=$(ls /var/cache/basalt/cds 2>&1 | tr '\\n' ' ')\"",
          "echo \"T: cdsresult=$(systemctl show -P Result basalt-cloudinit-cds.service)\"",
          "echo \"T: cdslog=$(journalctl -b -o cat -u basalt-cloudinit-cds.service | tail -n 3 | tr '\\n' ' ')\"",
          "echo \"T: hostname=$(hostname)\"",
          "echo \"T: cloudinit=$(systemctl show -P Result basalt-cloudinit.service) $(systemctl show -P ExecMainStatus basalt-cloudinit.service)\"",
          "a=$(systemctl show -P ExecMainStartTimestampMonotonic basalt-cloudinit.service)",
          "b=$(systemctl show -P ExecMainExitTimestampMonotonic basalt-cloudinit.service)",
          "echo \"T: cloudinitms=$(((b - a) / 1000))\"",
          "echo \"T: cdswarnings=$(journalctl -b -o cat -u basalt-cloudinit.service | grep -c -e '\\[cds' -e 'shared archive')\"",
          "echo \"T: fromarchive=$(JAVA_TOOL_OPTIONS=-Xlog:class+load /usr/lib/basalt/cloud-config validate \"$OEM/cloud-config.yml\""
              + " 2>&1 | grep -c 'io.basalt.cloudconfig.*source: shared objects file (top)')\"",
          "");

  static final String CONFIG =
      String.join(
          "\n",
          "#cloud-config",
          "hostname: cc-node",
          "write_files:",
          "  - path: /etc/cc-test.conf",
          "    content: |",
          "      applied",
          "coreos:",
          "  units:",
          "    - name: cc-test.service",
          "      content: |",
          "        [Service]",
          "        Type=oneshot",
          "        ExecStart=/bin/true",
          "");

  @BeforeAll
  static void setUp() throws Exception {
    image = new GuestImage(GuestImage.defaultImage(), Path.of("target", "cds-it").toAbsolutePath());
    image.appendCmdline("basalt.testhook");
    image.putOem("basalt-test.sh", SCRIPT);
    image.putOem("cloud-config.yml", CONFIG);
  }

  @Test
  void firstBootMakesTheArchiveAndTheSecondBootsCloudConfigUsesIt() throws Exception {
    Path disk = image.overlay("disk", null);
    List<String> args = image.uefiVirtio("disk", disk, "");
    Map<String, String> first;
    try (QemuVm vm = QemuVm.start("cds-1", args, image.work.resolve("cds-1.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached (version", GuestImage.FAILURES);
      first = GuestImage.hookOutput(vm, 0);
    }
    report(
        "first boot: cloud-config unit %s ms without an archive; archive unit %s; %s",
        first.get("cloudinitms"), first.get("cdsresult"), first.get("archives"));
    String hash = first.get("usrhash");
    assertTrue(
        hash != null && hash.matches("[0-9a-f]{64}"), "usrhash on the command line: " + first);
    assertEquals("success", first.get("cdsresult"), "basalt-cloudinit-cds.service: " + first);
    assertEquals("cloud-config-" + hash + ".jsa", first.get("archives").trim(), first.toString());
    assertEquals("cc-node", first.get("hostname"), first.toString());
    assertEquals("success 0", first.get("cloudinit"), first.toString());
    assertTrue(
        Integer.parseInt(first.get("fromarchive")) > 20,
        "the launcher maps the new archive: " + first);

    Map<String, String> second;
    try (QemuVm vm = QemuVm.start("cds-2", args, image.work.resolve("cds-2.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached (version", GuestImage.FAILURES);
      second = GuestImage.hookOutput(vm, 0);
    }
    report(
        "second boot: cloud-config unit %s ms with the archive (first boot: %s ms)",
        second.get("cloudinitms"), first.get("cloudinitms"));
    assertEquals("success 0", second.get("cloudinit"), second.toString());
    assertEquals("cc-node", second.get("hostname"), second.toString());
    assertEquals(
        "cloud-config-" + hash + ".jsa",
        second.get("archives").trim(),
        "the archive is kept: " + second);
    assertEquals("0", second.get("cdswarnings"), "no CDS warning from the unit's JVM: " + second);
    assertTrue(Integer.parseInt(second.get("fromarchive")) > 20, second.toString());
  }

  static void report(String format, Object... args) {
    System.out.println("CloudConfigCdsIT: " + String.format(Locale.ROOT, format, args));
    System.out.flush();
  }
}
