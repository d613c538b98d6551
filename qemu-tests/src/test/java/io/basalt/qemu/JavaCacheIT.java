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
 * The Java start-up caches on the default image (tier qemu-long: -Dbasalt.qemu.long=true or
 * -Dbasalt.qemu.image=DIR). First boot: basalt-cloudinit.service applies the OEM cloud-config
 * without a cache, then basalt-java-cache.service makes
 * /var/cache/basalt/java/{basaltctl,cloud-config}-&lt;usrhash&gt;.aot (an ahead-of-time cache;
 * .jsa, AppCDS, on an image whose runtime is older than 25) with the image's own runtime and jars.
 * Second boot of the same disk: the unit's JVM and basaltctl map their caches (their classes come
 * from them) and the config is still applied. The test hook reports what the guest sees. Not
 * thread-safe (one VM at a time).
 */
@QemuLongTest(orWhenSet = "basalt.qemu.image")
class JavaCacheIT {
  static final Duration BOOT = BasaltImageIT.BOOT;
  static GuestImage image;

  /** Waits (bounded) for the cache unit, then reports caches, unit results and timings. */
  static final String SCRIPT =
      String.join(
          "\n",
          "h=$(sed -n 's/.*usrhash=\\([0-9a-f]*\\).*/\\1/p' /proc/cmdline)",
          "echo \"T: usrhash=$h\"",
          "i=0",
          "while [ $i -lt 600 ]; do",
          "  [ \"$(systemctl show -P ActiveState basalt-java-cache.service)\" = inactive ] &&"
              + " [ -n \"$(systemctl show -P InactiveEnterTimestampMonotonic basalt-java-cache.service"
              + " | grep -v '^0$')\" ] && break",
          "  [ \"$(systemctl show -P Result basalt-java-cache.service)\" != success ] && break",
          "  sleep 1; i=$((i + 1))",
          "done",
          "echo \"T: archives=$(ls /var/cache/basalt/java 2>&1 | tr '\\n' ' ')\"",
          "echo \"T: cdsresult=$(systemctl show -P Result basalt-java-cache.service)\"",
          "echo \"T: cdslog=$(journalctl -b -o cat -u basalt-java-cache.service | tail -n 3 | tr '\\n' ' ')\"",
          "echo \"T: hostname=$(hostname)\"",
          "echo \"T: cloudinit=$(systemctl show -P Result basalt-cloudinit.service) $(systemctl show -P ExecMainStatus basalt-cloudinit.service)\"",
          "a=$(systemctl show -P ExecMainStartTimestampMonotonic basalt-cloudinit.service)",
          "b=$(systemctl show -P ExecMainExitTimestampMonotonic basalt-cloudinit.service)",
          "echo \"T: cloudinitms=$(((b - a) / 1000))\"",
          "echo \"T: cdswarnings=$(journalctl -b -o cat -u basalt-cloudinit.service | grep -c -e '\\[cds' -e '\\[aot' -e 'shared archive' -e 'AOT cache')\"",
          "echo \"T: fromarchive=$(JAVA_TOOL_OPTIONS=-Xlog:class+load /usr/lib/basalt/cloud-config validate \"$OEM/cloud-config.yml\""
              + " 2>&1 | grep -c 'io.basalt.cloudconfig.*source: shared objects file')\"",
          "echo \"T: ctlfromarchive=$(JAVA_TOOL_OPTIONS=-Xlog:class+load basaltctl --version"
              + " 2>&1 | grep -c 'io.basalt.update.*source: shared objects file')\"",
          "echo \"T: ctlversion=$(basaltctl --version | tr '\\n' ' ')\"",
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

  /** The cache file extension for the image's runtime: aot from Java 25 on, else jsa. */
  static String ext;

  /** The image's Java version, read once from its manifest. */
  static String javaVersion;

  @BeforeAll
  static void setUp() throws Exception {
    javaVersion = java();
    ext = Integer.parseInt(javaVersion.split("[^0-9]")[0]) >= 25 ? "aot" : "jsa";
    image = new GuestImage(GuestImage.defaultImage(), Path.of("target", "cds-it").toAbsolutePath());
    image.appendCmdline("basalt.testhook");
    image.putOem("basalt-test.sh", SCRIPT);
    image.putOem("cloud-config.yml", CONFIG);
  }

  /** The image's Java version as manifest.json records it (basaltctl --version prints it). */
  static String java() throws java.io.IOException {
    return new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(
            java.nio.file.Files.readString(GuestImage.defaultImage().resolve("manifest.json")))
        .path("java")
        .path("version")
        .asText();
  }

  @Test
  void firstBootMakesTheCachesAndTheSecondBootsProgramsUseThem() throws Exception {
    Path disk = image.overlay("disk", null);
    List<String> args = image.uefiVirtio("disk", disk, "");
    Map<String, String> first;
    try (QemuVm vm = QemuVm.start("cds-1", args, image.work.resolve("cds-1.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached (version", GuestImage.FAILURES);
      first = GuestImage.hookOutput(vm, 0);
    }
    report(
        "first boot: cloud-config unit %s ms without a cache; cache unit %s; %s",
        first.get("cloudinitms"), first.get("cdsresult"), first.get("archives"));
    String hash = first.get("usrhash");
    assertTrue(
        hash != null && hash.matches("[0-9a-f]{64}"), "usrhash on the command line: " + first);
    assertEquals("success", first.get("cdsresult"), "basalt-java-cache.service: " + first);
    String caches = "basaltctl-" + hash + "." + ext + " cloud-config-" + hash + "." + ext;
    assertEquals(caches, first.get("archives").trim(), first.toString());
    assertEquals("cc-node", first.get("hostname"), first.toString());
    assertEquals("success 0", first.get("cloudinit"), first.toString());
    assertTrue(
        Integer.parseInt(first.get("fromarchive")) > 20,
        "the launcher maps the new cache: " + first);
    assertTrue(
        Integer.parseInt(first.get("ctlfromarchive")) > 20, "basaltctl maps its cache: " + first);
    assertTrue(first.get("ctlversion").contains("Java " + javaVersion), first.toString());

    Map<String, String> second;
    try (QemuVm vm = QemuVm.start("cds-2", args, image.work.resolve("cds-2.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached (version", GuestImage.FAILURES);
      second = GuestImage.hookOutput(vm, 0);
    }
    report(
        "second boot: cloud-config unit %s ms with the cache (first boot: %s ms)",
        second.get("cloudinitms"), first.get("cloudinitms"));
    assertEquals("success 0", second.get("cloudinit"), second.toString());
    assertEquals("cc-node", second.get("hostname"), second.toString());
    assertEquals(caches, second.get("archives").trim(), "the caches are kept: " + second);
    assertEquals("0", second.get("cdswarnings"), "no cache warning from the unit's JVM: " + second);
    assertTrue(Integer.parseInt(second.get("fromarchive")) > 20, second.toString());
  }

  static void report(String format, Object... args) {
    System.out.println("JavaCacheIT: " + String.format(Locale.ROOT, format, args));
    System.out.flush();
  }
}
