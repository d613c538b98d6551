package io.basalt.image.pxe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.basalt.image.spec.PxeConfig;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class BootScriptsTest {
  static final String BUILD =
      "#!ipxe\nkernel vmlinuz basalt.live usrhash=ab basalt.usr.hashoffset=4096"
          + " basalt.version=1.0 console=ttyS0,115200\ninitrd initramfs\nboot\n";
  static final String BASE = "http://10.0.2.100/";

  @Test
  void chainScriptNamesTheMachineByMac() {
    assertEquals(
        "#!ipxe\necho basalt pxe: ${mac} asks http://10.0.2.100/ for its boot script\n"
            + "chain http://10.0.2.100/pxe/boot.ipxe?mac=${mac:hexhyp}\n",
        BootScripts.chain(BASE));
  }

  @Test
  void liveWithoutExtrasIsTheBuildsScript() {
    assertEquals(
        BUILD, BootScripts.machine(BUILD, PxeConfig.Machine.LIVE, BASE, "52:54:00:12:34:56"));
  }

  /**
   * The build's script names usr.img's folder as iPXE's {@code ${cwduri}}, which iPXE before 1.21
   * (QEMU's ROMs, many NICs') leaves empty: the server knows the folder and writes it.
   */
  @Test
  void theLiveBaseIsThisServersPxeFolderNotIpxesCwduri() {
    String build =
        BUILD.replace(
            "console=ttyS0,115200\n", "console=ttyS0,115200 basalt.live.base=${cwduri}\n");
    assertEquals(
        BUILD.replace(
            "console=ttyS0,115200\n",
            "console=ttyS0,115200 basalt.live.base=http://10.0.2.100/pxe/\n"),
        BootScripts.machine(build, PxeConfig.Machine.LIVE, BASE, "52:54:00:12:34:56"));
  }

  @Test
  void liveWithACloudConfigGetsItsUrl() {
    PxeConfig.Machine m =
        new PxeConfig.Machine(
            PxeConfig.Mode.LIVE,
            null,
            false,
            "#cloud-config\n",
            Path.of("a.yml"),
            List.of("quiet"));
    assertEquals(
        BUILD.replace(
            "console=ttyS0,115200\n",
            "console=ttyS0,115200 cloud-config-url=http://10.0.2.100/machines/52-54-00-12-34-56/"
                + "cloud-config.yml basalt.cloud-config-url.insecure=1 quiet\n"),
        BootScripts.machine(BUILD, m, BASE, "52:54:00:12:34:56"));
  }

  @Test
  void installGetsTheInstallArgumentsOfTheHostContract() {
    PxeConfig.Machine m =
        new PxeConfig.Machine(
            PxeConfig.Mode.INSTALL,
            "/dev/vda",
            true,
            "#cloud-config\n",
            Path.of("a.yml"),
            List.of());
    assertEquals(
        List.of(
            "basalt.install.dev=/dev/vda",
            "basalt.install.source=http://10.0.2.100/update/",
            "basalt.install.cloud-config=http://10.0.2.100/machines/52-54-00-12-34-56/cloud-config.yml",
            "basalt.install.reboot"),
        BootScripts.arguments(m, BASE, "52:54:00:12:34:56"));
    PxeConfig.Machine noReboot =
        new PxeConfig.Machine(
            PxeConfig.Mode.INSTALL, "/dev/sda", false, null, null, List.of("x=1"));
    assertEquals(
        List.of("basalt.install.dev=/dev/sda", "basalt.install.source=http://h:8/update/", "x=1"),
        BootScripts.arguments(noReboot, "http://h:8/", "52:54:00:12:34:56"));
  }

  @Test
  void localExitsToTheFirmware() {
    PxeConfig.Machine m =
        new PxeConfig.Machine(PxeConfig.Mode.LOCAL, null, false, null, null, List.of());
    assertEquals(
        "#!ipxe\necho basalt pxe: 52:54:00:12:34:56 boots from its local disk\nexit\n",
        BootScripts.machine(BUILD, m, BASE, "52:54:00:12:34:56"));
  }

  @Test
  void refusesABuildScriptWithoutOneKernelLine() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                BootScripts.machine(
                    "#!ipxe\nboot\n", PxeConfig.Machine.LIVE, BASE, "52:54:00:12:34:56"));
    assertEquals("pxe/boot.ipxe: expected one 'kernel' line, found 0", e.getMessage());
  }
}
