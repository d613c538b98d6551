package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Holds the shell side of the host (init-units: initramfs {@code /init}, {@code libexec/}) to the
 * kernel command-line keys and host paths the Java side writes and reads.
 */
class ShellContractTest {
  private static final Path RESOURCES = InitUnitsScripts.RESOURCES;

  /** Keys the builder and the agent write into every boot entry or live command line. */
  private static final List<String> WRITTEN_VALUED =
      List.of(
          KernelCommandLine.MOUNT_USR,
          KernelCommandLine.USR_HASH,
          KernelCommandLine.USR_HASH_OFFSET,
          KernelCommandLine.SLOT,
          KernelCommandLine.VERSION);

  @Test
  void initramfsReadsEveryKeyOfTheContract() throws IOException {
    String init = read("initramfs/init");
    assertReads(init, "initramfs/init", HostPaths.PROC_CMDLINE);
    for (String key : WRITTEN_VALUED) {
      assertValuedArm(init, "initramfs/init", key);
    }
    for (String key :
        List.of(
            KernelCommandLine.DEV_WAIT,
            KernelCommandLine.USR_VERIFY,
            KernelCommandLine.LIVE_BASE,
            KernelCommandLine.LIVE_USR)) {
      assertValuedArm(init, "initramfs/init", key);
    }
    for (String flag :
        List.of(
            KernelCommandLine.LIVE, KernelCommandLine.BREAK, KernelCommandLine.INITRAMFS_VERBOSE)) {
      assertTrue(
          Pattern.compile("(?m)^\\s*" + Pattern.quote(flag) + "\\)").matcher(init).find(),
          "initramfs/init: no case arm '" + flag + ")' for kernel command-line flag " + flag);
    }
    assertReads(init, "initramfs/init", "${USRSPEC#" + KernelCommandLine.PARTUUID + "}");
  }

  @Test
  void initramfsKnowsNoBasaltKeyOutsideTheContract() throws IOException {
    String init = read("initramfs/init");
    Set<String> known =
        Set.of(
            KernelCommandLine.USR_HASH_OFFSET,
            KernelCommandLine.SLOT,
            KernelCommandLine.VERSION,
            KernelCommandLine.LIVE,
            KernelCommandLine.LIVE_BASE,
            KernelCommandLine.LIVE_USR,
            KernelCommandLine.DEV_WAIT,
            KernelCommandLine.USR_VERIFY,
            KernelCommandLine.BREAK,
            KernelCommandLine.INITRAMFS_VERBOSE);
    Matcher m = Pattern.compile("(?m)^\\s*(basalt\\.[a-z.]+)(?:=\\*)?\\)").matcher(init);
    Set<String> read = new TreeSet<>();
    while (m.find()) {
      read.add(m.group(1));
    }
    read.removeAll(known);
    assertEquals(
        Set.of(),
        read,
        "initramfs/init reads kernel command-line keys that have no "
            + "constant in KernelCommandLine");
  }

  @Test
  void initramfsUsesTheHostPaths() throws IOException {
    String init = read("initramfs/init");
    assertReads(init, "initramfs/init", HostPaths.MODULES_LOAD);
    assertReads(init, "initramfs/init", "/sysroot" + HostPaths.VERIFIED + "/$USRHASH");
    assertReads(init, "initramfs/init", "DEFAULTS=" + HostPaths.ETC_DEFAULTS.substring(1));
  }

  @Test
  void initramfsChecksTheRootFirstBootMarkerTheBuilderWrites() throws IOException {
    // InitramfsRootIT runs the functions that read and clear it.
    String init = read("initramfs/init");
    assertReads(init, "initramfs/init", "\nROOT_MARKER=" + RootPartition.FIRST_BOOT_MARKER + "\n");
  }

  @Test
  void cloudConfigLauncherReadsTheDatasourcesAndKeys() throws IOException {
    String f = "libexec/cloud-config";
    String s = read(f);
    assertValuedArm(s, f, KernelCommandLine.CLOUD_CONFIG_URL);
    assertReads(s, f, "cmdline=${BASALT_CMDLINE:-" + HostPaths.PROC_CMDLINE + "}");
    assertReads(s, f, "${BASALT_JAVA_RUN:-" + HostPaths.LIB + "/java-run}");
    for (String p :
        List.of(
            HostPaths.OEM_CLOUD_CONFIG,
            HostPaths.CONFIG_DRIVE_MOUNT + "/openstack",
            HostPaths.CONTEXT_MOUNT + "/context.sh",
            HostPaths.LOCAL_CLOUD_CONFIG)) {
      assertReads(s, f, "\"$r" + p + "\"");
    }
  }

  @Test
  void javaRunNamesItsCachesAfterUsrhashAndFindsTheJarsInTheLib() throws IOException {
    String f = "libexec/java-run";
    String s = read(f);
    assertValuedArm(s, f, KernelCommandLine.USR_HASH);
    assertReads(s, f, "cmdline=${BASALT_CMDLINE:-" + HostPaths.PROC_CMDLINE + "}");
    assertReads(s, f, "lib=${BASALT_LIB:-" + HostPaths.LIB + "}");
    assertReads(s, f, "home=${BASALT_JAVA_HOME:-" + HostPaths.LIB + "/java}");
  }

  @Test
  void datasourceDisksMountWhereCloudConfigLooks() throws IOException {
    String f = "libexec/datasource-disks";
    String s = read(f);
    assertReads(s, f, "run=${BASALT_RUN_DIR:-" + HostPaths.RUN + "}");
    for (String mount :
        List.of(HostPaths.OEM_MOUNT, HostPaths.CONFIG_DRIVE_MOUNT, HostPaths.CONTEXT_MOUNT)) {
      assertTrue(mount.startsWith(HostPaths.RUN + "/"), mount);
      assertReads(s, f, ":" + mount.substring(HostPaths.RUN.length() + 1) + ":$");
    }
    assertTrue(HostPaths.BOOT_DISK.startsWith(HostPaths.RUN + "/"), HostPaths.BOOT_DISK);
    assertReads(s, f, "record=$run/" + HostPaths.BOOT_DISK.substring(HostPaths.RUN.length() + 1));
  }

  @Test
  void initramfsRecordsTheBootDiskFromTheLoadersEsp() throws IOException {
    String init = read("initramfs/init");
    assertReads(init, "initramfs/init", ":-" + HostPaths.BOOT_DISK + "}");
    String var = HostPaths.LOADER_DEVICE_PART_UUID;
    assertReads(init, "initramfs/init", "EFIVARS:-" + var.substring(0, var.lastIndexOf('/')) + "}");
    assertReads(init, "initramfs/init", "=" + var.substring(var.lastIndexOf('/') + 1) + "\n");
    // The record's items, as BootDisk reads them.
    for (String item : List.of(BootDisk.DISK, BootDisk.DISKSEQ, BootDisk.DISK_GUID)) {
      assertReads(init, "initramfs/init", "echo \"" + item + " $");
    }
    assertReads(init, "initramfs/init", "print \"" + BootDisk.PART + "\", $1, $2, $3, n");
  }

  @Test
  void bootMarkerAndTestHookReadTheirKeys() throws IOException {
    String marker = read("libexec/boot-marker");
    assertReads(marker, "libexec/boot-marker", KernelCommandLine.SLOT.replace(".", "\\.") + "=");
    assertReads(
        marker,
        "libexec/boot-marker",
        "grep -qw " + KernelCommandLine.LIVE + " " + HostPaths.PROC_CMDLINE);
    assertReads(
        read("libexec/test-hook"),
        "libexec/test-hook",
        "grep -qw " + KernelCommandLine.TEST_HOOK + " " + HostPaths.PROC_CMDLINE);
    assertReads(read("libexec/test-hook"), "libexec/test-hook", "record=" + HostPaths.BOOT_DISK);
  }

  @Test
  void bootFallbackReadsTheEntriesFolderOfTheContract() throws IOException {
    // BootFallbackIT runs the script on entries named by BootEntry.fileName().
    String f = "libexec/boot-fallback";
    String s = read(f);
    assertReads(s, f, "entries=" + BootEntry.ENTRIES_DIR + "\n");
    assertReads(s, f, "\"$esp/$entries\"/basalt-*.conf");
  }

  @Test
  void unattendedInstallReadsTheInstallKeys() throws IOException {
    // UnattendedInstallIT runs the script with command lines made from these keys.
    String f = "libexec/unattended-install";
    String s = read(f);
    assertReads(s, f, HostPaths.PROC_CMDLINE);
    for (String key :
        List.of(
            KernelCommandLine.INSTALL_DEV,
            KernelCommandLine.INSTALL_SOURCE,
            KernelCommandLine.INSTALL_CLOUD_CONFIG)) {
      assertValuedArm(s, f, key);
    }
    for (String flag : List.of(KernelCommandLine.INSTALL_REBOOT, KernelCommandLine.LIVE)) {
      assertReads(s, f, flag + " | " + flag + "=*)");
    }
    String unit = read("systemd/system/basalt-unattended-install.service");
    assertReads(
        unit,
        "basalt-unattended-install.service",
        "ConditionKernelCommandLine=" + KernelCommandLine.INSTALL_DEV + "\n");
    assertReads(
        unit,
        "basalt-unattended-install.service",
        "ConditionKernelCommandLine=" + KernelCommandLine.LIVE + "\n");
  }

  private static void assertValuedArm(String text, String file, String key) {
    boolean found =
        Pattern.compile("(?m)^\\s*(?:case \\S+ in )?" + Pattern.quote(key + "=*)"))
            .matcher(text)
            .find();
    assertTrue(
        found, file + ": no case arm '" + key + "=*)' reading kernel command-line key " + key);
  }

  private static void assertReads(String text, String file, String expected) {
    assertTrue(text.contains(expected), file + ": does not contain \"" + expected + "\"");
  }

  private static String read(String relative) throws IOException {
    return Files.readString(RESOURCES.resolve(relative), StandardCharsets.UTF_8);
  }
}
