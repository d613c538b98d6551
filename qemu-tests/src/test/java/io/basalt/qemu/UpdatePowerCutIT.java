package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Power cuts during an update (issue 7): a v1 machine installs v2 by itself; QEMU is killed
 * (SIGKILL: the guest loses its page cache, as on a power cut) at successive points of the
 * download (by bytes of usr.img the test's server has sent) and of the slot write and verify (by
 * the progress {@code basaltctl status --json} reports). After every cut the machine must boot v1
 * from slot A; the agent resumes by itself; after the last cut the update completes and the
 * machine comes up on v2 from slot B. Opt-in like {@link UpdateEndToEndIT} (long: ~45 min).
 */
class UpdatePowerCutIT {
  static final ObjectMapper JSON = new ObjectMapper();
  /** Download cut points, as fractions of the usr.img payload sent (the download resumes, so each is further on). */
  static final double[] DOWNLOAD = {0.03, 0.12, 0.25, 0.38, 0.50, 0.62, 0.75, 0.88};
  /** Install cut points by reported progress: slot write (60-90 %) early and late, then the verify (90-97 %). */
  static final int[] INSTALL = {62, 75, 90};

  static Path work;
  static UpdateImages images;
  static GuestServer server;
  static GuestImage disk;
  static Path overlay;
  static QemuVm vm;
  static int bootNo;

  @BeforeAll
  static void setUp() throws Exception {
    Assumptions.assumeTrue(Boolean.getBoolean("basalt.qemu.long") || System.getProperty("basalt.qemu.update.images") != null,
        "long scenario: set -Dbasalt.qemu.long=true or -Dbasalt.qemu.update.images=PREFIX");
    work = Path.of("target", "update-powercut").toAbsolutePath();
    Files.createDirectories(work);
    images = UpdateImages.get(Path.of("target", "update-e2e").toAbsolutePath());
    Path repo = work.resolve("repo");
    UpdateImages.deleteTree(repo);
    UpdateImages.copyTree(images.repo, repo);
    UpdateImages.basalt("repo", "publish", "-r", repo.toString(), images.image(2).resolve("update").toString(),
        "--channel", "stable");
    server = new GuestServer();
    server.serve(repo);
    disk = new GuestImage(images.image(1), work.resolve("vm"));
    disk.appendCmdline("basalt.testhook");
    for (var e : GuestServer.guestScripts().entrySet()) {
      disk.putOem(e.getKey(), e.getValue());
    }
    overlay = disk.overlay("disk", "4G");
  }

  @AfterAll
  static void tearDown() {
    if (vm != null) {
      vm.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void powerCutsDuringDownloadAndWriteLeaveV1BootingAndALaterRunCompletes() throws Exception {
    long usrSize = Files.size(images.image(2).resolve("update/usr.img"));
    List<String> cuts = new ArrayList<>();
    String boot = null;
    long t0 = System.nanoTime();
    startVm();
    boot = server.awaitBoot(boot, UpdateEndToEndIT.BOOT, vm);
    figure("v1 first boot: %d s", secondsSince(t0));
    for (double f : DOWNLOAD) {
      long at = (long) (usrSize * f);
      long t1 = System.nanoTime();
      // the agent starts (or resumes) the download by itself 30-100 s after it starts
      while (server.targetBytes() < at) {
        assertEquals(-1, vm.waitForExit(Duration.ofMillis(200)), "QEMU exited before the cut\n" + vm.tail());
        assertTrue(secondsSince(t1) < 1800, "download did not reach " + at + " bytes");
      }
      vm.close(); // power cut
      cuts.add(String.format("download %.0f%% (%d MiB sent in all)", f * 100, server.targetBytes() >> 20));
      figure("cut %d: %s after %d s", cuts.size(), cuts.get(cuts.size() - 1), secondsSince(t1));
      boot = bootsV1(boot);
    }
    for (int pct : INSTALL) {
      long t1 = System.nanoTime();
      while (true) {
        JsonNode s = status();
        assertTrue(!s.path("state").asText().equals("reboot-pending") && !s.path("state").asText().equals("rebooting"),
            "the install finished before the cut at " + pct + "%: " + s);
        if (s.path("progress").asInt() >= pct) {
          vm.close(); // power cut
          cuts.add("install " + s.path("state").asText() + " at " + s.path("progress").asInt() + "%");
          break;
        }
        assertTrue(secondsSince(t1) < 1800, "progress did not reach " + pct + "%: " + s);
        Thread.sleep(1000);
      }
      figure("cut %d: %s after %d s", cuts.size(), cuts.get(cuts.size() - 1), secondsSince(t1));
      boot = bootsV1(boot);
    }
    // Left alone, the agent completes the install and reboots into v2.
    long t2 = System.nanoTime();
    while (vm.waitForExit(Duration.ofSeconds(10)) == -1) {
      assertTrue(secondsSince(t2) < 2400, "no reboot after the last cut\n" + vm.tail());
    }
    startVm();
    server.awaitBoot(boot, UpdateEndToEndIT.BOOT, vm);
    assertTrue(vm.console().contains("basalt: multi-user reached (version 2.0.0, slot B"), vm.tail());
    JsonNode s = status();
    assertEquals("2.0.0", s.path("version").asText(), s.toString());
    assertTrue(s.path("fallback").asText().startsWith("1.0.0 (slot A"), s.toString());
    figure("%d power cuts (%s); then the update completed and v2 booted from slot B %d s after the last cut",
        cuts.size(), String.join("; ", cuts), secondsSince(t2));
    assertTrue(cuts.size() >= 10);
  }

  /** After a cut: the machine boots v1 from slot A, and the new slot has no boot entry yet. */
  static String bootsV1(String previous) throws Exception {
    long t = System.nanoTime();
    startVm();
    String boot = server.awaitBoot(previous, UpdateEndToEndIT.BOOT, vm);
    assertTrue(vm.console().contains("basalt: multi-user reached (version 1.0.0, slot A"), vm.tail());
    String entries = server.run(vm, "ls /efi/loader/entries", Duration.ofMinutes(2)).out();
    assertTrue(!entries.contains("2.0.0"), "no v2 entry before the install completes: " + entries);
    figure("  booted v1 from slot A again in %d s (entries: %s)", secondsSince(t), entries.strip().replace('\n', ' '));
    return boot;
  }

  static void startVm() throws Exception {
    if (vm != null) {
      vm.close();
    }
    bootNo++;
    vm = QemuVm.start("powercut-" + bootNo, disk.uefiVirtio("vm", overlay, server.guestfwd()),
        work.resolve("boot-" + bootNo + ".log"));
  }

  static JsonNode status() throws Exception {
    GuestServer.Result r = server.run(vm, "basaltctl status --json", Duration.ofMinutes(3));
    assertEquals(0, r.rc(), r.out());
    return JSON.readTree(r.out().substring(r.out().indexOf('{')));
  }

  static long secondsSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000_000L;
  }

  static void figure(String format, Object... args) {
    String line = "UpdatePowerCutIT: " + String.format(format, args);
    System.out.println(line);
    try {
      Files.writeString(work.resolve("figures.txt"), line + "\n", java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (java.io.IOException e) {
      // the console has it
    }
  }
}
