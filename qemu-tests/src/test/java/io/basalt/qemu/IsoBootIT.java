package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.testing.QemuTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 19's ISO acceptance: the build's hybrid ISO, unchanged, live-boots the default image to
 * multi-user through UEFI (OVMF) once as a CD-ROM (AHCI, El Torito EFI image) and once as a USB
 * stick (usb-storage behind qemu-xhci, the hybrid GPT's ESP), with no other disk attached. The boot
 * marker proves the live path: slot {@code live}, {@code /usr} through dm-verity. The stick's
 * writes are discarded ({@code snapshot=on}), so the ISO's sha256 still equals the manifest's
 * afterwards. Two boots.
 */
@QemuTest
class IsoBootIT {
  /** A live boot under TCG unpacks the ~350 MiB initramfs first: minutes on a shared machine. */
  static final Duration BOOT = Duration.ofMinutes(20);

  static Path image;
  static Path iso;
  static String isoSha256;
  static String version;
  static Path work;

  @BeforeAll
  static void setUp() throws IOException {
    image = GuestImage.defaultImage();
    work = Path.of("target", "iso-boot-it").toAbsolutePath();
    Files.createDirectories(work);
    JsonNode manifest =
        new ObjectMapper().readTree(Files.readString(image.resolve("manifest.json")));
    version = manifest.get("version").asText();
    for (JsonNode a : manifest.get("artifacts")) {
      if (a.get("path").asText().endsWith(".iso")) {
        iso = image.resolve(a.get("path").asText());
        isoSha256 = a.get("sha256").asText();
      }
    }
    if (iso == null || !Files.isRegularFile(iso)) {
      throw new IOException(image + ": manifest.json lists no *.iso (is iso in the outputs?)");
    }
  }

  @Test
  void cdRomLiveBootsToMultiUser() throws Exception {
    boot(
        "cdrom",
        List.of(
            "-drive",
            "if=none,id=cd,media=cdrom,format=raw,readonly=on,file=" + iso,
            "-device",
            "ide-cd,drive=cd,bootindex=0"));
  }

  @Test
  void usbStickLiveBootsToMultiUserAndLeavesTheIsoUnchanged() throws Exception {
    boot(
        "usb",
        List.of(
            "-device",
            "qemu-xhci,id=xhci",
            "-drive",
            "if=none,id=stick,format=raw,snapshot=on,file=" + iso,
            "-device",
            "usb-storage,bus=xhci.0,drive=stick,bootindex=0"));
    String sha = Host.run("sha256sum", "--", iso.toString()).split("\\s+")[0];
    assertEquals(isoSha256, sha, iso + " changed by the boot from it");
  }

  /**
   * A q35 UEFI machine with {@link GuestImage#MEMORY_PXE} and {@code devices}: the QEMU arguments,
   * with a fresh copy of the variable store {@code work/NAME-vars.fd}.
   */
  static List<String> machine(String name, List<String> devices) throws IOException {
    Path vars = work.resolve(name + "-vars.fd");
    Files.copy(
        Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd"),
        vars,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    List<String> args =
        new java.util.ArrayList<>(
            List.of(
                "-machine",
                "q35",
                "-m",
                GuestImage.MEMORY_PXE,
                "-smp",
                "2",
                "-drive",
                "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
                "-drive",
                "if=pflash,format=raw,unit=1,file=" + vars));
    args.addAll(devices);
    return args;
  }

  /**
   * A q35 UEFI machine with only {@code medium} (and a NIC on restricted user-mode networking):
   * waits for the live boot's multi-user marker and checks what it names.
   */
  private static void boot(String name, List<String> medium) throws Exception {
    List<String> args =
        machine(
            name,
            List.of("-netdev", "user,id=n0,restrict=on", "-device", "virtio-net-pci,netdev=n0"));
    args.addAll(medium);
    long t0 = System.nanoTime();
    try (QemuVm vm = QemuVm.start("iso-" + name, args, work.resolve(name + ".log"))) {
      QemuVm.Match m = vm.expect(0, BOOT, "basalt: multi-user reached (", GuestImage.FAILURES);
      QemuVm.Match end = vm.expect(m.end, Duration.ofSeconds(30), ")", GuestImage.FAILURES);
      String marker = vm.console().substring(m.start, end.end);
      System.out.printf(
          "IsoBootIT %s: %s after %d s%n",
          name, marker, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0));
      assertEquals(
          "basalt: multi-user reached (version "
              + version
              + ", slot live, /usr from /dev/mapper/usr)",
          marker,
          vm.tail());
      assertTrue(
          vm.console().contains("basalt.live"),
          "the live entry's command line (basalt.live) on the console\n" + vm.tail());
    }
  }
}
