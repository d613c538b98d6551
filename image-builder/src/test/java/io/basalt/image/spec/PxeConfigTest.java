package io.basalt.image.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class PxeConfigTest {
  private final FileSystem fs = Jimfs.newFileSystem(Configuration.unix());

  private Path file(String yaml) throws IOException {
    Path d = Files.createDirectories(fs.getPath("/site"));
    Files.writeString(d.resolve("node1.yml"), "#cloud-config\nhostname: node1\n");
    return Files.writeString(d.resolve("machines.yaml"), yaml);
  }

  private SpecException refused(String yaml) {
    return assertThrows(SpecException.class, () -> PxeConfig.read(file(yaml)));
  }

  @Test
  void machinesByMacWithDefaultsForTheOthers() throws Exception {
    PxeConfig c =
        PxeConfig.read(
            file(
                "default:\n"
                    + "  mode: local\n"
                    + "machines:\n"
                    + "  \"52:54:00:12:34:56\":\n"
                    + "    mode: install\n"
                    + "    install-device: /dev/vda\n"
                    + "    cloud-config: node1.yml\n"
                    + "    kernel-args: [basalt.devwait=30]\n"
                    + "  52-54-00-AB-CD-EF:\n"
                    + "    mode: live\n"
                    + "    cloud-config: node1.yml\n"));
    PxeConfig.Machine m = c.machine("52-54-00-12-34-56");
    assertEquals(PxeConfig.Mode.INSTALL, m.mode());
    assertEquals("/dev/vda", m.installDevice());
    assertTrue(m.reboot(), "an install reboots unless told otherwise");
    assertTrue(m.cloudConfig().startsWith("#cloud-config\n"));
    assertEquals(fs.getPath("/site/node1.yml"), m.cloudConfigSource());
    assertEquals(List.of("basalt.devwait=30"), m.kernelArgs());
    assertEquals(PxeConfig.Mode.LIVE, c.machine("52:54:00:ab:cd:ef").mode());
    assertFalse(c.machine("52:54:00:ab:cd:ef").reboot());
    assertEquals(PxeConfig.Mode.LOCAL, c.machine("52:54:00:00:00:01").mode());
    assertEquals(PxeConfig.Mode.LOCAL, c.machine(null).mode());
    assertEquals(
        List.of("52:54:00:12:34:56", "52:54:00:ab:cd:ef"), List.copyOf(c.machines().keySet()));
    assertTrue(c.anyInstall());
  }

  @Test
  void withoutAFileEveryMachineBootsLive() {
    PxeConfig c = PxeConfig.allLive();
    assertEquals(PxeConfig.Mode.LIVE, c.machine("52:54:00:12:34:56").mode());
    assertNull(c.machine("52:54:00:12:34:56").cloudConfig());
    assertFalse(c.anyInstall());
  }

  @Test
  void installWithoutRebootWhenAsked() throws Exception {
    PxeConfig c =
        PxeConfig.read(
            file("default:\n  mode: install\n  install-device: /dev/sda\n  reboot: false\n"));
    assertFalse(c.fallback().reboot());
    assertEquals("/dev/sda", c.machine("00:11:22:33:44:55").installDevice());
  }

  @Test
  void errorsNameFileLineColumnAndKey() {
    assertEquals(
        "/site/machines.yaml:3:11: machines.52:54:00:12:34:56.mode: expected live, install or"
            + " local, found the string \"instal\"",
        refused("machines:\n  \"52:54:00:12:34:56\":\n    mode: instal\n").getMessage());
    assertEquals(
        "/site/machines.yaml:3:5: machines.52:54:00:12:34:56: 'mode: install' needs"
            + " 'install-device' (the whole disk to write, e.g. /dev/vda)",
        refused("machines:\n  \"52:54:00:12:34:56\":\n    mode: install\n").getMessage());
    assertEquals(
        "/site/machines.yaml:1:1: colour: unknown key (expected one of [default, machines])",
        refused("colour: red\n").getMessage());
    assertEquals(
        "/site/machines.yaml:2:3: machines.nodeA: expected a MAC address like 52:54:00:12:34:56"
            + " (quote it), found \"nodeA\"",
        refused("machines:\n  nodeA: {mode: live}\n").getMessage());
    SpecException twice =
        refused("machines:\n  \"52:54:00:12:34:56\": {}\n  52-54-00-12-34-56: {}\n");
    assertEquals(3, twice.line());
    assertTrue(twice.detail().contains("listed twice"), twice.getMessage());
  }

  @Test
  void refusesBadValues() {
    assertTrue(
        refused("default:\n  mode: install\n  install-device: sda\n")
            .detail()
            .startsWith("default.install-device: expected a whole disk's device path"));
    assertTrue(
        refused("default:\n  install-device: /dev/vda\n")
            .detail()
            .startsWith("default.install-device: needs 'mode: install'"));
    assertTrue(
        refused("default:\n  reboot: true\n")
            .detail()
            .startsWith("default.reboot: needs 'mode: install'"));
    SpecException arg = refused("default:\n  kernel-args: [\"basalt.install.dev=/dev/vda\"]\n");
    assertEquals(2, arg.line());
    assertTrue(
        arg.detail().startsWith("default.kernel-args[0]: basalt.install.dev is set by"),
        arg.getMessage());
    assertTrue(
        refused("default:\n  kernel-args: [\"a b\"]\n")
            .detail()
            .startsWith("default.kernel-args[0]: expected one argument"));
    assertTrue(
        refused("default:\n  cloud-config: nope.yml\n")
            .detail()
            .equals("default.cloud-config: no such file /site/nope.yml"));
    assertTrue(
        refused("default:\n  mode: local\n  kernel-args: [quiet]\n")
            .detail()
            .startsWith("default.kernel-args: has no use with 'mode: local'"));
  }

  @Test
  void refusesACloudConfigTheValidatorRefuses() throws Exception {
    Path f = file("default:\n  cloud-config: bad.yml\n");
    Files.writeString(f.resolveSibling("bad.yml"), "#cloud-config\nusers: 3\n");
    SpecException e = assertThrows(SpecException.class, () -> PxeConfig.read(f));
    assertTrue(
        e.getMessage()
            .startsWith(
                "/site/machines.yaml:2:17: default.cloud-config: /site/bad.yml is not usable user-data:\n  /site/bad.yml:2:"),
        e.getMessage());
  }

  @Test
  void normalizesMacs() {
    assertEquals("52:54:00:ab:cd:ef", PxeConfig.normalizeMac("525400ABCDEF"));
    assertEquals("52:54:00:ab:cd:ef", PxeConfig.normalizeMac("52-54-00-ab-cd-ef"));
    assertThrows(IllegalArgumentException.class, () -> PxeConfig.normalizeMac("52:54:00"));
  }
}
