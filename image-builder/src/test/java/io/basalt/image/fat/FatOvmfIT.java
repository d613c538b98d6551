package io.basalt.image.fat;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.gpt.GptDisk;
import io.basalt.image.gpt.GptPartition;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * UEFI firmware (OVMF under QEMU, TCG) reads our FAT32 ESP: it loads systemd-boot from
 * /EFI/BOOT/BOOTX64.EFI, and systemd-boot, reading through the firmware's FAT driver, finds
 * loader.conf (its timeout shows as "Boot in 17 s.") and a long-named entry whose title appears in
 * the menu on the serial console.
 */
class FatOvmfIT {
  static final Path OVMF_CODE = Path.of("/usr/share/OVMF/OVMF_CODE_4M.fd");
  static final Path OVMF_VARS = Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd");
  static final Path SYSTEMD_BOOT = Path.of("/usr/lib/systemd/boot/efi/systemd-bootx64.efi");
  Path dir;

  @BeforeEach
  void mkdir() throws IOException {
    dir = Files.createTempDirectory("fatovmf");
  }

  @AfterEach
  void rm() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Test
  void ovmfBootsSystemdBootFromOurEspAndItReadsTheEntries() throws Exception {
    String title = "BASALT-FAT-OVMF-OK";
    FileTree esp =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular("/EFI/BOOT/BOOTX64.EFI", Content.ofFile(SYSTEMD_BOOT)))
            .putWithParents(
                TreeEntry.regular(
                    "/loader/loader.conf", Content.ofBytes("timeout 17\n".getBytes(UTF_8))))
            .putWithParents(
                TreeEntry.regular(
                    "/loader/entries/basalt long entry name 1.2.3+3.conf",
                    Content.ofBytes(
                        ("title " + title + "\nlinux /basalt/vmlinuz-with-a-long-name-1.2.3\n")
                            .getBytes(UTF_8))))
            .putWithParents(
                TreeEntry.regular(
                    "/basalt/vmlinuz-with-a-long-name-1.2.3", Content.ofBytes(new byte[70_000])))
            .build();
    FatWriter fat =
        FatWriter.builder()
            .label("EFI-SYSTEM")
            .sourceDateEpoch(1_700_000_000L)
            .hiddenSectors(2048)
            .build();
    Path disk = dir.resolve("disk.raw");
    GptDisk.builder("ovmf-it")
        .add(
            GptPartition.of(
                "EFI-SYSTEM", GptPartition.EFI_SYSTEM, 64L << 20, w -> fat.write(esp, w, w.size())))
        .build()
        .writeTo(disk);
    Path vars = dir.resolve("vars.fd");
    Files.copy(OVMF_VARS, vars);

    List<String> cmd =
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
            "if=pflash,format=raw,file=" + vars,
            "-drive",
            "file=" + disk + ",format=raw,if=virtio");
    String screen = OvmfScreen.untilMenu(cmd, title);
    assertTrue(screen.contains("BdsDxe: starting Boot"), "OVMF tried the disk:\n" + tail(screen));
    assertTrue(
        screen.contains("Boot in 17 s."),
        "systemd-boot ran and read loader/loader.conf:\n" + tail(screen));
    assertTrue(
        screen.contains(title),
        "systemd-boot listed the entry from loader/entries:\n" + tail(screen));
  }

  static String tail(String s) {
    return s.length() > 4000 ? s.substring(s.length() - 4000) : s;
  }
}
