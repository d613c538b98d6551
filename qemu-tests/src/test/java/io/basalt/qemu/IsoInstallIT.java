package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.basalt.testing.QemuLongTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 19's offline install from the ISO (qemu-long: two boots of several minutes each, on the
 * build {@link IsoBootIT} boots).
 */
@QemuLongTest
class IsoInstallIT {
  @BeforeAll
  static void setUp() throws Exception {
    IsoBootIT.setUp();
  }

  /**
   * Item 3's offline install: the ISO's live system, on a machine with no NIC at all, writes Basalt
   * to an empty virtio disk with {@code basalt install} from the payload the ISO carries (a unit of
   * a config-2 cloud-config mounts the ISO by its label and runs the install); then the disk alone
   * boots slot A through UEFI. Two boots.
   */
  @Test
  void liveSystemInstallsToAnEmptyDiskWithoutNetwork() throws Exception {
    Path disk = IsoBootIT.work.resolve("install-target.qcow2");
    Files.deleteIfExists(disk);
    Host.run("qemu-img", "create", "-q", "-f", "qcow2", disk.toString(), "8G");
    Path cfg = IsoBootIT.work.resolve("install-config-2");
    Host.run("rm", "-rf", "--", cfg.toString());
    Files.createDirectories(cfg.resolve("openstack/latest"));
    Files.writeString(
        cfg.resolve("openstack/latest/meta_data.json"),
        "{\"uuid\": \"6d1c0b9e-2f0a-4c57-9d8e-0150c0de0019\", \"name\": \"iso-install\"}");
    Files.writeString(
        cfg.resolve("openstack/latest/user_data"),
        String.join(
            "\n",
            "#cloud-config",
            "coreos:",
            "  units:",
            "    - name: iso-install.service",
            "      command: start",
            "      content: |",
            "        [Unit]",
            "        Description=basalt install from the ISO to /dev/vda",
            "        [Service]",
            "        Type=oneshot",
            "        ExecStart=/bin/sh -c 'exec >/dev/console 2>&1; mkdir -p /run/iso;"
                + " mount -o ro LABEL=BASALT /run/iso;"
                + " basalt install --source /run/iso/basalt/update /dev/vda;"
                + " echo \"iso-install: rc=$?\"'",
            ""));
    Path cfgIso = IsoBootIT.work.resolve("install-config-2.iso");
    Host.configIso(cfg, "config-2", cfgIso);
    List<String> live =
        IsoBootIT.machine(
            "install-live",
            List.of(
                "-nic",
                "none",
                "-drive",
                "if=none,id=cd,media=cdrom,format=raw,readonly=on,file=" + IsoBootIT.iso,
                "-device",
                "ide-cd,drive=cd,bus=ide.0,bootindex=0",
                "-drive",
                "if=none,id=cfg,media=cdrom,format=raw,readonly=on,file=" + cfgIso,
                "-device",
                "ide-cd,drive=cfg,bus=ide.1",
                "-drive",
                "if=none,id=d0,format=qcow2,file=" + disk,
                "-device",
                "virtio-blk-pci,drive=d0"));
    long t0 = System.nanoTime();
    try (QemuVm vm =
        QemuVm.start("iso-install-live", live, IsoBootIT.work.resolve("install-live.log"))) {
      QemuVm.Match m = vm.expect(0, IsoBootIT.BOOT, "iso-install: rc=", GuestImage.FAILURES);
      QemuVm.Match rc = vm.expect(m.end, Duration.ofSeconds(30), "\n", GuestImage.FAILURES);
      String code = vm.console().substring(m.end, rc.start).strip();
      System.out.printf(
          "IsoInstallIT: basalt install exited %s after %d s%n",
          code, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0));
      assertEquals("0", code, vm.tail());
    }
    List<String> installed =
        IsoBootIT.machine(
            "install-disk",
            List.of(
                "-nic",
                "none",
                "-drive",
                "if=none,id=d0,format=qcow2,file=" + disk,
                "-device",
                "virtio-blk-pci,drive=d0,bootindex=0"));
    long t1 = System.nanoTime();
    try (QemuVm vm =
        QemuVm.start("iso-install-disk", installed, IsoBootIT.work.resolve("install-disk.log"))) {
      vm.expect(
          0,
          IsoBootIT.BOOT,
          "basalt: multi-user reached (version " + IsoBootIT.version + ", slot A",
          GuestImage.FAILURES);
      System.out.printf(
          "IsoInstallIT: the installed disk reached multi-user from slot A after %d s%n",
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t1));
    }
  }
}
