package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The initramfs {@code /init}'s choice of the boot disk, sourced with {@code
 * BASALT_INIT_FUNCTIONS=1}: the partition tables are a fixture file that a fake {@code sfdisk}
 * reads and edits, the loader's {@code LoaderDevicePartUUID} is a file in a fake efivarfs. Disks
 * written from the same image carry the same PARTUUIDs until their first boot; the machine must use
 * only the disk the loader started from, and the first boot gives that disk its own identity. Run
 * with {@code sh} and, where installed, busybox's sh (the shell of the initramfs).
 */
class InitramfsBootDiskIT {

  private static final Path INIT = InitUnitsScripts.INIT;

  private static final String ESP_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";
  private static final String ROOT_TYPE = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
  private static final String LINUX = "0fc63daf-8483-4772-8e79-3d69d8477de4";

  /** The image's PARTUUIDs, as every disk written from it has them before its first boot. */
  private static final String ESP0 = "e0000000-0000-4000-8000-000000000001";

  private static final String USR_A = "a0000000-0000-4000-8000-000000000002";
  private static final String USR_B = "b0000000-0000-4000-8000-000000000003";
  private static final String OEM0 = "f0000000-0000-4000-8000-000000000004";
  private static final String ROOT0 = "d0000000-0000-4000-8000-000000000009";
  private static final String ESP1 = "e1111111-0000-4000-8000-000000000001";
  private static final String GUID0 = "90000000-0000-4000-8000-000000000000";

  @TempDir Path tmp;
  private Path fakes;
  private Path state;
  private Path parts;

  @BeforeEach
  void fakes() throws IOException {
    assertTrue(Files.isRegularFile(INIT), "script not found at " + INIT.toAbsolutePath());
    fakes = Files.createDirectories(tmp.resolve("bin"));
    state = Files.createDirectories(tmp.resolve("state"));
    parts = tmp.resolve("parts");
    Files.writeString(parts, "");
    // sfdisk: --disk-id DISK [GUID] prints or sets state/diskid.DISK; --part-uuid DISK N UUID
    // rewrites that partition's line of the fixture. Every call is logged.
    fake(
        "sfdisk",
        String.join(
            "\n",
            "echo \"sfdisk $*\" >>\"$STATE/calls\"",
            "[ \"$1\" = -q ] && shift",
            "case $1 in",
            "  --disk-id)",
            "    f=$STATE/diskid.${2##*/}",
            "    if [ -n \"$3\" ]; then echo \"$3\" >\"$f\"; else tr a-f A-F <\"$f\"; fi ;;",
            "  --part-uuid)",
            "    awk -v d=\"$2$3\" -v u=\"$4\" '$1 == d { $2 = u } { print }' \"$PARTS\""
                + " >\"$PARTS.new\" && mv \"$PARTS.new\" \"$PARTS\" ;;",
            "  *) exit 9 ;;",
            "esac"));
  }

  private void fake(String name, String body) throws IOException {
    InitUnitsScripts.fake(fakes, name, body);
  }

  /** Adds a disk written from the image, with the image's PARTUUIDs or its own. */
  private void disk(String disk, String guid, String esp, String oem, String root)
      throws IOException {
    Files.writeString(state.resolve("diskid." + disk), guid + "\n");
    String d = "/dev/" + disk;
    Files.writeString(
        parts,
        String.join(
            "\n",
            d + "1 " + esp + " " + ESP_TYPE + " " + d + " EFI-SYSTEM",
            d + "2 " + USR_A + " " + LINUX + " " + d + " USR-A",
            d + "3 " + USR_B + " " + LINUX + " " + d + " USR-B",
            d + "4 " + oem + " " + LINUX + " " + d + " OEM",
            d + "9 " + root + " " + ROOT_TYPE + " " + d + " ROOT",
            ""),
        java.nio.file.StandardOpenOption.APPEND);
  }

  /** A disk that has booted: an identity of its own, ESP PARTUUID {@link #ESP1}. */
  private void bootedDisk(String disk) throws IOException {
    disk(
        disk,
        "91111111-0000-4000-8000-000000000000",
        ESP1,
        "f1111111-0000-4000-8000-000000000004",
        "d1111111-0000-4000-8000-000000000009");
  }

  private void freshCopy(String disk) throws IOException {
    disk(disk, GUID0, ESP0, OEM0, ROOT0);
  }

  /** The loader's LoaderDevicePartUUID: attributes, then the GUID upper case in UTF-16LE. */
  private void loaderStartedFrom(String espPartuuid) throws IOException {
    Path vars = Files.createDirectories(tmp.resolve("efivars"));
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write(new byte[] {6, 0, 0, 0});
    b.writeBytes((espPartuuid.toUpperCase(Locale.ROOT) + "\0").getBytes(StandardCharsets.UTF_16LE));
    Files.write(
        vars.resolve("LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"), b.toByteArray());
  }

  private void marked(String rootDev) throws IOException {
    Files.writeString(state.resolve("marked." + rootDev), "");
  }

  /** The outcome of one run: exit status and output. */
  private record Run(int exit, String out) {
    boolean emergency() {
      return exit == 3 && out.contains("EMERGENCY");
    }
  }

  /** Sources /init and runs boot_disk_parts with the loader's ESP and the /usr PARTUUID. */
  private Run bootDiskParts() throws Exception {
    String driver =
        String.join(
            "\n",
            "BASALT_INIT_FUNCTIONS=1",
            ". \"$INIT\"",
            "PATH=$FAKES:$PATH",
            "SETTLE=0 DEVWAIT=0",
            "emergency() { say \"$*\"; echo EMERGENCY; exit 3; }",
            "scan_parts() { cat \"$PARTS\"; }",
            "blockdev() { echo \"blockdev $*\" >>\"$STATE/calls\"; }",
            "wait_part() { scan_parts | awk -v f=\"$1\" -v v=\"$2\" '$f == v { print; ok = 1 }"
                + " END { exit !ok }'; }",
            "partnum_of() { echo \"${1##*[!0-9]}\"; }",
            "diskseq_of() { echo 7; }",
            "root_marked() { [ -e \"$STATE/marked.${1##*/}\" ]; }",
            "new_uuid() {",
            "  n=$(($(cat \"$STATE/uuids\" 2>/dev/null || echo 0) + 1)); echo $n >\"$STATE/uuids\"",
            "  printf 'cafe0000-0000-4000-8000-%012d\\n' \"$n\"",
            "}",
            "boot_disk_parts \"$(loader_esp)\" " + USR_A,
            "echo \"DISK=$DISK USRDEV=$USRDEV ROOTDEV=$ROOTDEV\"",
            "");
    Path script = tmp.resolve("driver.sh");
    Files.writeString(script, driver);
    Files.deleteIfExists(tmp.resolve("run/boot-disk"));
    Path partsBefore = tmp.resolve("parts.before");
    Files.copy(parts, partsBefore, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    List<Path> stateFiles;
    try (var s = Files.list(state)) {
      stateFiles = s.toList();
    }
    List<byte[]> stateBefore = new ArrayList<>();
    for (Path f : stateFiles) {
      stateBefore.add(Files.readAllBytes(f));
    }
    Run sh = run(List.of("sh"), script);
    if (InitUnitsScripts.busybox().isPresent()) {
      Path busybox = InitUnitsScripts.busybox().get();
      // The same start for the second shell; what sh did stays in parts.sh for the caller.
      Files.copy(parts, tmp.resolve("parts.sh"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Path record = tmp.resolve("run/boot-disk");
      String recordSh = Files.exists(record) ? Files.readString(record) : null;
      String callsSh = calls();
      Files.copy(partsBefore, parts, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      try (var s = Files.list(state)) {
        for (Path f : s.toList()) {
          if (!stateFiles.contains(f)) {
            Files.delete(f);
          }
        }
      }
      for (int i = 0; i < stateFiles.size(); i++) {
        Files.write(stateFiles.get(i), stateBefore.get(i));
      }
      Files.deleteIfExists(record);
      Run bb = run(List.of(busybox.toString(), "sh"), script);
      assertEquals(sh, bb, "busybox sh differs from sh");
      assertEquals(callsSh, calls(), "busybox sh called other tools than sh");
      assertEquals(recordSh, Files.exists(record) ? Files.readString(record) : null);
    }
    return sh;
  }

  private Run run(List<String> shell, Path script) throws Exception {
    List<String> cmd = new ArrayList<>(shell);
    cmd.add(script.toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    var e = pb.environment();
    e.put("PATH", "/usr/bin" + File.pathSeparator + "/bin");
    e.put("INIT", INIT.toAbsolutePath().toString());
    e.put("FAKES", fakes.toString());
    e.put("STATE", state.toString());
    e.put("PARTS", parts.toString());
    e.put("BASALT_EFIVARS", tmp.resolve("efivars").toString());
    e.put("BASALT_BOOT_DISK_RECORD", tmp.resolve("run/boot-disk").toString());
    e.put("BASALT_RUN_UNITS", tmp.resolve("run/units").toString());
    Files.deleteIfExists(state.resolve("calls"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Run(p.exitValue(), out);
  }

  private String calls() throws IOException {
    Path c = state.resolve("calls");
    return Files.exists(c) ? Files.readString(c) : "";
  }

  private BootDisk record() throws IOException {
    Path f = tmp.resolve("run/boot-disk");
    return BootDisk.parse(Files.readString(f), f.toString());
  }

  @Test
  void theDiskTheLoaderStartedFromIsUsedNotALookAlikeSeenFirst() throws Exception {
    freshCopy("vda"); // a USB stick written from the image, seen first
    bootedDisk("vdb");
    loaderStartedFrom(ESP1);
    Run r = bootDiskParts();
    assertEquals(0, r.exit(), r.out());
    assertTrue(r.out().contains("DISK=/dev/vdb USRDEV=/dev/vdb2 ROOTDEV=/dev/vdb9"), r.out());
    assertEquals(
        "", calls().replaceAll("(?m)^sfdisk --disk-id /dev/vdb\\n", ""), "nothing written");
    BootDisk d = record();
    assertEquals("/dev/vdb", d.disk());
    assertEquals(7, d.diskseq().getAsLong());
    assertEquals("91111111-0000-4000-8000-000000000000", d.diskGuid());
    assertEquals("/dev/vdb3", d.partition("USR-B").orElseThrow().device());
    assertEquals("/dev/vdb4", d.partition("OEM").orElseThrow().device());
    // Every disk boot mounts the ESP the loader started from on /efi itself: systemd 257's
    // gpt-auto-generator left /efi unmounted on this boot of the disk with a look-alike beside it.
    String unit = Files.readString(tmp.resolve("run/units/efi.mount"));
    assertTrue(unit.contains("What=/dev/disk/by-partuuid/" + ESP1), unit);
    assertTrue(unit.contains("Where=/efi"), unit);
    assertTrue(
        Files.isSymbolicLink(tmp.resolve("run/units/local-fs.target.wants/efi.mount")), "wanted");
  }

  @Test
  void twoDisksThatHaveNotBootedYetAreRefused() throws Exception {
    freshCopy("vda");
    freshCopy("vdb");
    loaderStartedFrom(ESP0);
    marked("vda9");
    marked("vdb9");
    Run r = bootDiskParts();
    assertTrue(r.emergency(), r.out());
    assertTrue(
        r.out().contains("(PARTUUID " + ESP0 + ") is on 2 disks (/dev/vda /dev/vdb)"), r.out());
    assertTrue(r.out().contains("Detach all but the disk to boot from, boot once"), r.out());
    assertEquals("", calls(), "nothing written");
    assertFalse(Files.exists(tmp.resolve("run/boot-disk")));
  }

  @Test
  void theFirstBootGivesTheDiskAnIdentityOfItsOwnButKeepsTheSlots() throws Exception {
    freshCopy("vda");
    loaderStartedFrom(ESP0);
    marked("vda9");
    Run r = bootDiskParts();
    assertEquals(0, r.exit(), r.out());
    assertTrue(r.out().contains("first boot: giving /dev/vda a disk GUID and partition UUIDs"));
    BootDisk d = record();
    assertEquals("cafe0000-0000-4000-8000-000000000001", d.diskGuid());
    assertEquals(
        List.of(
            "cafe0000-0000-4000-8000-000000000002",
            USR_A,
            USR_B,
            "cafe0000-0000-4000-8000-000000000003",
            "cafe0000-0000-4000-8000-000000000004"),
        d.partitions().stream().map(BootDisk.Part::partuuid).toList(),
        "ESP, OEM and ROOT new; the slots' PARTUUIDs, named by the boot entries, kept");
    assertTrue(calls().contains("blockdev --rereadpt /dev/vda"), calls());
    // This boot's loader named the old ESP PARTUUID: /efi is mounted by a unit in /run.
    String unit = Files.readString(tmp.resolve("run/units/efi.mount"));
    assertTrue(
        unit.contains("What=/dev/disk/by-partuuid/cafe0000-0000-4000-8000-000000000002"), unit);
    assertTrue(unit.contains("Where=/efi"), unit);
    assertTrue(
        Files.isSymbolicLink(tmp.resolve("run/units/local-fs.target.wants/efi.mount")), "wanted");
    // udev re-adds every partition after the re-read; on a slow or busy machine that took longer
    // than systemd's default 90 s device wait and /efi stayed unmounted: the ESP's device unit
    // waits longer.
    String wait =
        Files.readString(
            tmp.resolve(
                "run/units/dev-disk-by\\x2dpartuuid-cafe0000\\x2d0000\\x2d4000\\x2d8000\\x2d000000000002"
                    + ".device.d/50-basalt-esp.conf"));
    assertTrue(wait.contains("[Unit]\nJobRunningTimeoutSec=10min"), wait);
  }

  @Test
  void aFreshStickNextToAnInstalledDiskBootsItselfAndLeavesTheDiskAlone() throws Exception {
    bootedDisk("sda");
    freshCopy("sdb");
    loaderStartedFrom(ESP0);
    marked("sdb9");
    Run r = bootDiskParts();
    assertEquals(0, r.exit(), r.out());
    assertTrue(r.out().contains("DISK=/dev/sdb USRDEV=/dev/sdb2 ROOTDEV=/dev/sdb9"), r.out());
    assertFalse(calls().contains("/dev/sda"), "the installed disk is not touched: " + calls());
    assertNotEquals(ESP0, record().partition("EFI-SYSTEM").orElseThrow().partuuid());
  }

  @Test
  void withoutTheLoadersWordTheUsrPartuuidMustBeOnOneDisk() throws Exception {
    freshCopy("vda");
    Run r = bootDiskParts();
    assertEquals(0, r.exit(), r.out());
    assertTrue(r.out().contains("DISK=/dev/vda USRDEV=/dev/vda2"), r.out());
    assertFalse(Files.exists(tmp.resolve("run/units/efi.mount")));

    bootedDisk("vdb");
    r = bootDiskParts();
    assertTrue(r.emergency(), r.out());
    assertTrue(r.out().contains("the /usr partition PARTUUID=" + USR_A), r.out());
    assertTrue(r.out().contains("is on 2 disks (/dev/vda /dev/vdb)"), r.out());
  }

  @Test
  void aBootDiskWithoutTheUsrPartitionIsRefused() throws Exception {
    Files.writeString(state.resolve("diskid.vdc"), GUID0 + "\n");
    Files.writeString(
        parts,
        "/dev/vdc1 e2222222-0000-4000-8000-000000000001 " + ESP_TYPE + " /dev/vdc EFI-SYSTEM\n");
    freshCopy("vda");
    loaderStartedFrom("e2222222-0000-4000-8000-000000000001");
    Run r = bootDiskParts();
    assertTrue(r.emergency(), r.out());
    assertTrue(
        r.out().contains("/usr partition PARTUUID=" + USR_A + " is not on the boot disk /dev/vdc"),
        r.out());
  }
}
