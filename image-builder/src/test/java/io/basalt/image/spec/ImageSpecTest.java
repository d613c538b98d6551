package io.basalt.image.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ImageSpecTest {

  @Test
  void defaultSpecShipsSudo() {
    assertTrue(ImageSpec.loadDefault().debian().packages().contains("sudo"));
  }

  @Test
  void defaultSpecHasTheDocumentedValues() {
    ImageSpec s = ImageSpec.loadDefault();
    assertEquals("basalt", s.name());
    assertEquals("x86-64", s.arch());
    assertEquals("trixie", s.debian().suite());
    assertEquals(25, s.debian().java().getAsInt());
    assertTrue(s.debian().packages().contains("openjdk-25-jre-headless"));
    assertEquals("http://deb.debian.org/debian", s.debian().mirror());
    for (String p :
        new String[] {
          "systemd",
          "systemd-boot",
          "linux-image-amd64",
          "containerd",
          "docker.io",
          "etcd-server",
          "etcd-client",
          "openssh-server",
          "iproute2",
          "e2fsprogs",
          "cryptsetup-bin",
          "busybox",
          "kmod",
          "udev",
          "dbus",
          "ca-certificates",
          "fdisk",
          "apparmor"
        }) {
      assertTrue(s.debian().packages().contains(p), p);
    }
    assertEquals(ImageSpec.Compressor.ZSTD, s.compressor());
    assertEquals(256L << 20, s.partitions().esp());
    assertEquals(1L << 30, s.partitions().usr());
    assertEquals(128L << 20, s.partitions().oem());
    assertTrue(s.outputs().contains(ImageSpec.Output.DISK_QCOW2));
    assertFalse(s.sourceDateEpoch().isPresent());
  }

  @Test
  void theJavaReleaseFollowsTheSuiteUnlessTheSpecNamesOne() throws Exception {
    ImageSpec bookworm =
        ImageSpec.parse("name: b\nversion: 1\ndebian:\n  suite: bookworm\n", "b.yaml", null);
    assertEquals(17, bookworm.debian().java().getAsInt());
    assertTrue(bookworm.debian().packages().contains("openjdk-17-jre-headless"));
    assertFalse(bookworm.debian().packages().contains("openjdk-25-jre-headless"));
    ImageSpec named =
        ImageSpec.parse(
            "name: b\nversion: 1\ndebian:\n  suite: trixie\n  java: 21\n", "b.yaml", null);
    assertEquals(21, named.debian().java().getAsInt());
    assertTrue(named.debian().packages().contains("openjdk-21-jre-headless"));
    assertFalse(named.debian().packages().contains("openjdk-25-jre-headless"));
    ImageSpec newest =
        ImageSpec.parse(
            "name: b\nversion: 1\ndebian:\n  suite: sid\n  java: null\n", "b.yaml", null);
    assertFalse(newest.debian().java().isPresent());
    assertFalse(newest.debian().packages().stream().anyMatch(p -> p.startsWith("openjdk-")));
    SpecException e =
        assertThrows(
            SpecException.class,
            () -> ImageSpec.parse("name: b\nversion: 1\ndebian:\n  java: 11\n", "b.yaml", null));
    assertTrue(e.getMessage().contains("b.yaml:4:"), e.getMessage());
    assertTrue(
        e.getMessage().contains("debian.java: expected a Java feature release of 17"),
        e.getMessage());
  }

  @Test
  void userSpecOverridesAndInheritsDefaults() throws Exception {
    ImageSpec s =
        ImageSpec.parse(
            "name: edge\nversion: 2.0.1\ndebian:\n  extra-packages: [htop]\npartitions:\n  usr: 512MiB\n"
                + "kernel:\n  cmdline: [quiet, 'cloud-config-url=http://10.0.2.2/c.yml']\nsource-date-epoch: 1700000000\n",
            "edge.yaml",
            null);
    assertEquals("edge", s.name());
    assertEquals("2.0.1", s.version());
    assertEquals("stable", s.channel());
    assertTrue(s.debian().packages().contains("systemd"));
    assertEquals("htop", s.debian().packages().get(s.debian().packages().size() - 1));
    assertEquals(512L << 20, s.partitions().usr());
    assertEquals(256L << 20, s.partitions().esp());
    assertEquals(2, s.cmdline().size());
    assertEquals(1700000000L, s.sourceDateEpoch().getAsLong());
  }

  @Test
  void unknownKeyIsAnErrorWithLineAndColumn() {
    SpecException e =
        assertThrows(
            SpecException.class,
            () ->
                ImageSpec.parse(
                    "name: x\ndebian:\n  suite: bookworm\n  pakages: [a]\n", "my.yaml", null));
    assertEquals("my.yaml", e.source());
    assertEquals(4, e.line());
    assertEquals(3, e.column());
    assertTrue(
        e.getMessage().startsWith("my.yaml:4:3: unknown key 'debian.pakages'"), e.getMessage());
  }

  @Test
  void wrongValuesNameKeyLineAndColumn() throws Exception {
    SpecException arch =
        assertThrows(SpecException.class, () -> ImageSpec.parse("arch: arm64\n", "s.yaml", null));
    assertEquals(1, arch.line());
    assertEquals(7, arch.column());
    assertTrue(arch.detail().contains("expected x86-64"), arch.detail());

    SpecException size =
        assertThrows(
            SpecException.class,
            () -> ImageSpec.parse("partitions:\n  esp: 100MB\n", "s.yaml", null));
    assertEquals(2, size.line());
    assertTrue(size.detail().startsWith("partitions.esp: expected a size"), size.detail());

    SpecException pkg =
        assertThrows(
            SpecException.class,
            () ->
                ImageSpec.parse(
                    "debian:\n  packages:\n    - systemd\n    - [x]\n", "s.yaml", null));
    assertEquals(4, pkg.line());
    assertTrue(
        pkg.detail().startsWith("debian.packages[1]: expected Debian package names, found a list"),
        pkg.detail());

    SpecException out =
        assertThrows(
            SpecException.class, () -> ImageSpec.parse("outputs: [disk.vmdk]\n", "s.yaml", null));
    assertTrue(out.detail().contains("found \"disk.vmdk\""), out.detail());

    SpecException lvl =
        assertThrows(
            SpecException.class,
            () -> ImageSpec.parse("compressor: gzip\ncompressor-level: 12\n", "s.yaml", null));
    assertEquals(2, lvl.line());
    assertTrue(
        lvl.detail().contains("expected an integer from 1 to 9 for gzip, found 12"), lvl.detail());
    assertEquals(
        3, ImageSpec.parse("compressor-level: 3\n", "s.yaml", null).compressorLevel().getAsInt());

    SpecException comp =
        assertThrows(
            SpecException.class, () -> ImageSpec.parse("compressor: lzo\n", "s.yaml", null));
    assertEquals(1, comp.line());

    SpecException dup =
        assertThrows(
            SpecException.class, () -> ImageSpec.parse("name: a\nname: b\n", "s.yaml", null));
    assertEquals(2, dup.line());

    SpecException syntax =
        assertThrows(SpecException.class, () -> ImageSpec.parse("name: [a\n", "s.yaml", null));
    assertTrue(syntax.getMessage().startsWith("s.yaml:"), syntax.getMessage());
    assertTrue(syntax.line() > 0);

    SpecException notMap =
        assertThrows(SpecException.class, () -> ImageSpec.parse("- a\n", "s.yaml", null));
    assertTrue(notMap.detail().contains("expected a mapping"), notMap.detail());
  }

  @Test
  void userSpecWithoutCompressorLevelGetsTheDefaultSpecsLevel() throws Exception {
    assertEquals(3, ImageSpec.loadDefault().compressorLevel().getAsInt());
    ImageSpec without = ImageSpec.parse("name: edge\n", "s.yaml", null);
    assertEquals(ImageSpec.Compressor.ZSTD, without.compressor());
    assertEquals(java.util.OptionalInt.of(3), without.compressorLevel());

    ImageSpec with = ImageSpec.parse("name: edge\ncompressor-level: 19\n", "s.yaml", null);
    assertEquals(java.util.OptionalInt.of(19), with.compressorLevel());

    ImageSpec xz = ImageSpec.parse("compressor: xz\n", "s.yaml", null);
    assertEquals(ImageSpec.Compressor.XZ, xz.compressor());
    assertEquals(java.util.OptionalInt.of(3), xz.compressorLevel());

    ImageSpec own = ImageSpec.parse("compressor-level: null\n", "s.yaml", null);
    assertFalse(own.compressorLevel().isPresent());
  }

  @Test
  void extraFilesResolveAgainstTheSpecFolder() throws Exception {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path dir = Files.createDirectories(fs.getPath("/specs"));
      Files.writeString(dir.resolve("motd"), "hello\n");
      Path spec = dir.resolve("s.yaml");
      Files.writeString(
          spec,
          "files:\n  - path: /etc/motd\n    source: motd\n  - path: /usr/share/x.txt\n    content: hi\n    mode: \"0600\"\n");
      ImageSpec s = ImageSpec.load(spec);
      assertEquals(2, s.files().size());
      assertEquals(dir.resolve("motd"), s.files().get(0).source());
      assertEquals(0600, s.files().get(1).mode());

      Files.writeString(spec, "files:\n  - path: /etc/motd\n    source: missing\n");
      SpecException e = assertThrows(SpecException.class, () -> ImageSpec.load(spec));
      assertEquals(3, e.line());
      assertTrue(
          e.detail().startsWith("files[0].source: expected an existing regular file"), e.detail());
    }
  }
}
