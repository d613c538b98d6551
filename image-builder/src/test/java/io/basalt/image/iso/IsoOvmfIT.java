package io.basalt.image.iso;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.fat.FatWriter;
import io.basalt.image.fat.OvmfScreen;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * UEFI firmware (OVMF under QEMU, TCG; firmware and boot loader only, no kernel) boots our hybrid
 * ISO both ways: as a CD-ROM through the El Torito EFI image, and as a USB stick through the GPT's
 * ESP. The ESP image is 40 MiB, over the 16-bit El Torito sector count, so the CD case also shows
 * the firmware reading a boot image whose catalog entry gives 0 sectors. systemd-boot, loaded from
 * /EFI/BOOT/BOOTX64.EFI, reads loader.conf ("Boot in 17 s.") and lists the entry's title.
 */
class IsoOvmfIT {
  static final Path OVMF_CODE = Path.of("/usr/share/OVMF/OVMF_CODE_4M.fd");
  static final Path OVMF_VARS = Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd");
  static final Path SYSTEMD_BOOT = Path.of("/usr/lib/systemd/boot/efi/systemd-bootx64.efi");
  static final String TITLE = "BASALT-ISO-OVMF-OK";
  Path dir;

  @BeforeEach
  void mkdir() throws IOException {
    dir = Files.createTempDirectory("isoovmf");
  }

  @AfterEach
  void rm() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  Path iso() throws IOException {
    FileTree esp =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular("/EFI/BOOT/BOOTX64.EFI", Content.ofFile(SYSTEMD_BOOT)))
            .putWithParents(
                TreeEntry.regular(
                    "/loader/loader.conf", Content.ofBytes("timeout 17\n".getBytes(UTF_8))))
            .putWithParents(
                TreeEntry.regular(
                    "/loader/entries/basalt-1.0-live.conf",
                    Content.ofBytes(
                        ("title " + TITLE + "\nlinux /basalt/live/vmlinuz\n").getBytes(UTF_8))))
            // 34 MiB, allocated before /loader (FAT chains go in tree order): loader.conf and the
            // entry lie past the first 32 MiB of the image, beyond a 16-bit El Torito count
            .putWithParents(
                TreeEntry.regular("/basalt/live/vmlinuz", Content.ofBytes(new byte[34 << 20])))
            .build();
    Path espImg = dir.resolve("esp.img");
    FatWriter.builder()
        .label("EFI-SYSTEM")
        .sourceDateEpoch(1_700_000_000L)
        .build()
        .writeTo(esp, espImg, 40L << 20);
    FileTree t =
        FileTree.builder()
            .putWithParents(TreeEntry.regular("/basalt/esp.img", Content.ofFile(espImg)))
            .putWithParents(
                TreeEntry.regular("/basalt/update/usr.img", Content.ofBytes(new byte[100_000])))
            .build();
    Path iso = dir.resolve("x.iso");
    try (SeekableByteChannel ch =
        Files.newByteChannel(iso, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      IsoWriter.builder()
          .volumeId("BASALT")
          .sourceDateEpoch(1_700_000_000L)
          .efiBootImage("/basalt/esp.img")
          .hybridGpt("isoovmf iso", "EFI-SYSTEM")
          .build()
          .write(t, ch);
    }
    return iso;
  }

  @Test
  void ovmfBootsTheIsoAsACdrom() throws Exception {
    Path iso = iso();
    String screen =
        boot(
            "-drive",
            "if=none,id=cd,media=cdrom,format=raw,readonly=on,file=" + iso,
            "-device",
            "ide-cd,drive=cd,bootindex=0");
    assertBooted(screen);
  }

  @Test
  void ovmfBootsTheIsoAsAUsbStick() throws Exception {
    Path iso = iso();
    String screen =
        boot(
            "-device",
            "qemu-xhci,id=xhci",
            "-drive",
            "if=none,id=s,format=raw,snapshot=on,file=" + iso,
            "-device",
            "usb-storage,bus=xhci.0,drive=s,bootindex=0");
    assertBooted(screen);
  }

  static void assertBooted(String screen) {
    assertTrue(screen.contains("BdsDxe: starting Boot"), "OVMF tried the medium:\n" + tail(screen));
    assertTrue(
        screen.contains("Boot in 17 s."),
        "systemd-boot ran and read loader/loader.conf:\n" + tail(screen));
    assertTrue(
        screen.contains(TITLE),
        "systemd-boot listed the entry from loader/entries:\n" + tail(screen));
  }

  String boot(String... medium) throws Exception {
    Path vars = dir.resolve("vars.fd");
    Files.deleteIfExists(vars);
    Files.copy(OVMF_VARS, vars);
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "qemu-system-x86_64",
                "-machine",
                "q35",
                "-accel",
                "tcg",
                "-m",
                "256",
                "-nographic",
                "-nic",
                "none",
                "-no-reboot",
                "-drive",
                "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
                "-drive",
                "if=pflash,format=raw,file=" + vars));
    cmd.addAll(List.of(medium));
    return OvmfScreen.untilMenu(cmd, TITLE);
  }

  static String tail(String s) {
    return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
  }
}
