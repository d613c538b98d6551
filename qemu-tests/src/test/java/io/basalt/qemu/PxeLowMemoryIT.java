package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.testing.QemuTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A live PXE boot of the default image (as {@code BasaltImageIT}'s, over QEMU's iPXE and TFTP) on a
 * machine with too little RAM to hold /usr: the initramfs says so, with the figures, before it
 * fetches anything, and stops in the emergency shell (no "/usr verity check failed" from a
 * truncated image, no out-of-memory kill). One short boot: kernel and initramfs only.
 */
@QemuTest
class PxeLowMemoryIT {

  /** Enough for the kernel and the initramfs, not for /usr (335 MiB) and the system. */
  static final String MEMORY = "448M";

  @Test
  void tooLittleRamForUsrGetsAMessageSayingSoBeforeAnythingIsFetched() throws Exception {
    Path work = Path.of("target", "pxe-lowmem-it").toAbsolutePath();
    Files.createDirectories(work);
    GuestImage image = new GuestImage(GuestImage.defaultImage(), work);
    Path tftp = image.pxeTftp("lowmem");
    List<String> args = GuestImage.pxe(tftp, "", MEMORY);
    try (QemuVm vm = QemuVm.start("pxe-lowmem", args, work.resolve("lowmem.log"))) {
      QemuVm.Match start =
          vm.expect(
              0,
              GuestImage.BOOT,
              "basalt-initramfs: starting (version",
              "Kernel panic",
              "Out of memory");
      QemuVm.Match msg =
          vm.expect(
              start.end,
              Duration.ofMinutes(5),
              "basalt-initramfs: not enough memory for a live boot: fetching /usr (",
              "Kernel panic",
              "Out of memory",
              "verity check failed",
              "fetching /usr into RAM");
      vm.expect(msg.end, Duration.ofMinutes(2), "basalt-initramfs: dropping to an emergency shell");
      String console = vm.console();
      String line = console.substring(msg.start, console.indexOf('\n', msg.start));
      Matcher m =
          Pattern.compile(
                  "fetching /usr \\((\\d+) MiB\\) needs (\\d+) MiB of RAM \\(\\d+ MiB for /usr, about"
                      + " (\\d+) MiB for the system\\) and (\\d+) MiB are available \\(MemTotal"
                      + " (\\d+) MiB\\)\\. Give this machine at least (\\d+) MiB more RAM, or"
                      + " install Basalt to a disk")
              .matcher(line);
      assertTrue(m.find(), line);
      long usrMib = (Files.size(image.imageDir.resolve("pxe/usr.img")) + (1 << 20) - 1) >> 20;
      assertTrue(Long.parseLong(m.group(1)) == usrMib, "usr.img is " + usrMib + " MiB: " + line);
      long need = Long.parseLong(m.group(2));
      long available = Long.parseLong(m.group(4));
      long total = Long.parseLong(m.group(5));
      long more = Long.parseLong(m.group(6));
      assertTrue(need == usrMib + Long.parseLong(m.group(3)), line);
      assertTrue(available < need && available < total && total < 448, line);
      assertTrue(more % 64 == 0 && more >= need - available && more < need - available + 64, line);
      assertFalse(console.contains("fetching /usr into RAM"), "nothing is fetched: " + vm.tail());
      assertFalse(console.contains("checking every block"), vm.tail());
    }
  }
}
