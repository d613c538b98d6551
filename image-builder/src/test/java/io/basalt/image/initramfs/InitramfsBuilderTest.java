package io.basalt.image.initramfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

class InitramfsBuilderTest {
  static final String LD = "/lib64/ld-linux-x86-64.so.2";
  static final String KVER = "6.1.0-test";
  static final byte[] VFAT = "vfat module bytes".getBytes(StandardCharsets.UTF_8);

  static FileTree.Builder image() throws IOException {
    FileTree.Builder b = FileTree.builder();
    b.putWithParents(TreeEntry.symlink("/bin", "usr/bin"));
    b.putWithParents(TreeEntry.symlink("/sbin", "usr/sbin"));
    b.putWithParents(TreeEntry.symlink("/lib", "usr/lib"));
    b.putWithParents(TreeEntry.symlink("/lib64", "usr/lib64"));
    b.putWithParents(
        TreeEntry.symlink(
            "/usr/lib64/ld-linux-x86-64.so.2", "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
    file(b, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", SyntheticElf.x86_64().bytes());
    file(
        b,
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        SyntheticElf.x86_64().needs("ld-linux-x86-64.so.2").bytes());
    file(b, "/usr/lib/i386-linux-gnu/libc.so.6", SyntheticElf.x86_64().class32().bytes());
    b.putWithParents(
        TreeEntry.symlink(
            "/usr/lib/x86_64-linux-gnu/libcryptsetup.so.12", "libcryptsetup.so.12.9.0"));
    file(
        b,
        "/usr/lib/x86_64-linux-gnu/libcryptsetup.so.12.9.0",
        SyntheticElf.x86_64()
            .needs("libprivate.so", "libc.so.6")
            .runpath("$ORIGIN/private")
            .bytes());
    file(
        b,
        "/usr/lib/x86_64-linux-gnu/private/libprivate.so",
        SyntheticElf.x86_64().needs("libc.so.6").bytes());
    file(b, "/usr/bin/busybox", SyntheticElf.x86_64().interp(LD).needs("libc.so.6").bytes());
    file(
        b,
        "/usr/sbin/veritysetup",
        SyntheticElf.x86_64().interp(LD).needs("libcryptsetup.so.12", "libc.so.6").bytes());
    for (String t : List.of("sfdisk", "blkid", "mke2fs", "e2fsck", "resize2fs")) {
      file(b, "/usr/sbin/" + t, SyntheticElf.x86_64().interp(LD).needs("libc.so.6").bytes());
    }
    b.putWithParents(TreeEntry.symlink("/usr/sbin/mkfs.ext4", "mke2fs"));
    file(
        b,
        "/etc/ld.so.conf",
        "include /etc/ld.so.conf.d/*.conf\n".getBytes(StandardCharsets.UTF_8));
    // A directory of 32-bit libraries searched first: the resolver must skip its libc.so.6.
    file(
        b,
        "/etc/ld.so.conf.d/0-i386.conf",
        "# 32-bit\n/usr/lib/i386-linux-gnu\n".getBytes(StandardCharsets.UTF_8));
    file(b, "/etc/mke2fs.conf", "[defaults]\n".getBytes(StandardCharsets.UTF_8));
    String md = "/usr/lib/modules/" + KVER;
    file(b, md + "/modules.dep", KernelModulesTest.DEP.getBytes(StandardCharsets.UTF_8));
    file(b, md + "/modules.alias", KernelModulesTest.ALIAS.getBytes(StandardCharsets.UTF_8));
    file(b, md + "/modules.softdep", KernelModulesTest.SOFTDEP.getBytes(StandardCharsets.UTF_8));
    file(b, md + "/modules.builtin", KernelModulesTest.BUILTIN.getBytes(StandardCharsets.UTF_8));
    for (String line : KernelModulesTest.DEP.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      String f = line.substring(0, line.indexOf(':'));
      byte[] content = f.endsWith("vfat.ko.xz") ? VFAT : f.getBytes(StandardCharsets.UTF_8);
      file(b, md + "/" + f, f.endsWith(".xz") ? xz(content) : content);
    }
    file(b, "/boot/vmlinuz-" + KVER, new byte[] {1, 2, 3});
    return b;
  }

  static void file(FileTree.Builder b, String path, byte[] content) {
    b.putWithParents(
        TreeEntry.regular(path, Content.ofBytes(content)).withMode(0755).withMtime(2_000_000_000L));
  }

  static byte[] xz(byte[] in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (XZOutputStream x = new XZOutputStream(out, new LZMA2Options())) {
      x.write(in);
    }
    return out.toByteArray();
  }

  static byte[] read(FileTree t, String path) throws IOException {
    TreeEntry e = t.get(path);
    assertNotNull(e, path + " missing");
    try (InputStream in = e.content().open()) {
      return in.readAllBytes();
    }
  }

  private static Initramfs build(FileTree image) throws IOException {
    return InitramfsBuilder.forImage(image)
        .modules(List.of("ext4", "dm-verity", "fs-vfat", "squashfs"))
        .mtime(1_700_000_000L)
        .build();
  }

  @Test
  void copiesBinariesWithTheirLibrariesAndTheLinksOnTheWay() throws IOException {
    Initramfs ird = build(image().build());
    FileTree t = ird.tree();
    TreeResolver r = new TreeResolver(t);
    // PT_INTERP path resolves through /lib64 -> usr/lib64 -> ../lib/x86_64-linux-gnu.
    assertEquals("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", r.resolve(LD).entry.path());
    assertEquals(EntryType.SYMLINK, t.get("/usr/lib/x86_64-linux-gnu/libcryptsetup.so.12").type());
    assertNotNull(t.get("/usr/lib/x86_64-linux-gnu/libcryptsetup.so.12.9.0"));
    assertNotNull(
        t.get("/usr/lib/x86_64-linux-gnu/private/libprivate.so"), "RUNPATH $ORIGIN/private");
    assertNotNull(t.get("/usr/lib/x86_64-linux-gnu/libc.so.6"));
    assertNull(t.get("/usr/lib/i386-linux-gnu/libc.so.6"), "32-bit libc must be skipped");
    assertEquals("mke2fs", t.get("/usr/sbin/mkfs.ext4").linkTarget());
    assertNotNull(t.get("/etc/mke2fs.conf"));
    // Busybox applets link to busybox; real binaries are not shadowed.
    assertEquals("busybox", t.get("/usr/bin/sh").linkTarget());
    assertEquals("busybox", t.get("/usr/bin/switch_root").linkTarget());
    assertEquals("/usr/bin/busybox", r.resolve("/bin/sh").entry.path());
    TreeEntry console = t.get("/dev/console");
    assertEquals(EntryType.CHAR_DEVICE, console.type());
    assertEquals(5, console.devMajor());
    assertEquals(1, console.devMinor());
    assertEquals("/boot/vmlinuz-" + KVER, ird.kernelImagePath());
    assertTrue(t.stream().allMatch(e -> e.mtime() <= 1_700_000_000L), "mtimes clamped");
  }

  @Test
  void initIsTheInitUnitsScript() throws IOException {
    FileTree t = build(image().build()).tree();
    TreeEntry init = t.get("/init");
    assertEquals(0755, init.mode());
    String script = new String(read(t, "/init"), StandardCharsets.UTF_8);
    assertTrue(script.startsWith("#!/bin/sh\n"), script.substring(0, 20));
    assertTrue(script.contains("basalt-initramfs: $*"));
    assertTrue(script.contains("veritysetup open"));
  }

  @Test
  void modulesAreDecompressedAndListedDependenciesFirstInLinesThatLoadSideBySide()
      throws IOException {
    Initramfs ird = build(image().build());
    FileTree t = ird.tree();
    // Two lines (two modprobe processes at once); linked modules share a line (ext4 and crc32c
    // through the softdep), the largest set alone, the two smaller ones together.
    String load = new String(read(t, "/etc/basalt/modules.load"), StandardCharsets.UTF_8);
    assertEquals(
        String.join(
            "\n",
            "crc32c-intel crc32c_generic jbd2 mbcache crc16 ext4",
            "dm-mod dm-bufio dm-verity fat vfat",
            ""),
        load);
    // The modules.dep busybox modprobe reads: these modules only, under their uncompressed names.
    String dep =
        new String(read(t, "/usr/lib/modules/" + KVER + "/modules.dep"), StandardCharsets.UTF_8);
    assertEquals(
        String.join(
            "\n",
            "kernel/arch/x86/crypto/crc32c-intel.ko:",
            "kernel/crypto/crc32c_generic.ko:",
            "kernel/fs/jbd2/jbd2.ko:",
            "kernel/fs/mbcache.ko:",
            "kernel/lib/crc16.ko:",
            "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko",
            "kernel/drivers/md/dm-mod.ko:",
            "kernel/drivers/md/dm-bufio.ko: kernel/drivers/md/dm-mod.ko",
            "kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko",
            "kernel/fs/fat/fat.ko:",
            "kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko",
            ""),
        dep);
    assertEquals("busybox", t.get("/usr/bin/modprobe").linkTarget());
    assertArrayEquals(VFAT, read(t, "/usr/lib/modules/" + KVER + "/kernel/fs/fat/vfat.ko"));
    assertNull(t.get("/usr/lib/modules/" + KVER + "/kernel/fs/fat/vfat.ko.xz"));
    assertEquals(
        List.of(
            "crc32c_intel",
            "crc32c_generic",
            "jbd2",
            "mbcache",
            "crc16",
            "ext4",
            "dm_mod",
            "dm_bufio",
            "dm_verity",
            "fat",
            "vfat"),
        ird.modules());
    assertEquals(KVER, ird.kernelRelease());
    assertEquals(
        "/usr/lib/modules/" + KVER,
        new TreeResolver(t).resolve("/lib/modules/" + KVER).entry.path());
  }

  @Test
  void defaultModulesBringTheDatasourceDevicesUpBeforeUdev() {
    // cloud-config-url= needs the NIC, config-2 and OpenNebula CONTEXT ISOs a CD-ROM; left to
    // udev's
    // coldplug a starved boot lost the NIC (worker killed at the event timeout while loading
    // virtio_net).
    for (String m : List.of("virtio_net", "ahci", "sr_mod", "virtio_blk", "virtio_pci")) {
      assertTrue(
          InitramfsBuilder.DEFAULT_MODULES.contains(m),
          m + " missing from " + InitramfsBuilder.DEFAULT_MODULES);
    }
  }

  @Test
  void liveImageCarriesUsrImg() throws IOException {
    byte[] usr = new byte[8192];
    usr[0] = 'h';
    FileTree t =
        InitramfsBuilder.forImage(image().build())
            .modules(List.of("ext4"))
            .liveUsrImage(Content.ofBytes(usr))
            .build()
            .tree();
    assertArrayEquals(usr, read(t, "/basalt/usr.img"));
    assertFalse(build(image().build()).tree().contains("/basalt/usr.img"));
  }

  @Test
  void sameInputGivesTheSameTree() throws IOException {
    FileTree a = build(image().build()).tree();
    FileTree b = build(image().build()).tree();
    assertEquals(
        a.stream().map(TreeEntry::toString).toList(), b.stream().map(TreeEntry::toString).toList());
    for (TreeEntry e : a) {
      assertEquals(e.mtime(), b.get(e.path()).mtime(), e.path());
      if (e.type() == EntryType.REGULAR) {
        assertArrayEquals(read(a, e.path()), read(b, e.path()), e.path());
      }
    }
  }

  @Test
  void missingLibraryIsAnErrorNamingItAndTheBinary() throws IOException {
    FileTree.Builder b = image();
    file(
        b,
        "/usr/sbin/blkid",
        SyntheticElf.x86_64().interp(LD).needs("libblkid.so.1", "libc.so.6").bytes());
    NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> build(b.build()));
    assertTrue(
        e.getMessage().contains("/usr/sbin/blkid")
            && e.getMessage().contains("needs libblkid.so.1"),
        e.getMessage());
  }

  @Test
  void missingBinaryOrModuleIsAnError() throws IOException {
    FileTree.Builder b = image();
    b.remove("/usr/sbin/veritysetup");
    NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> build(b.build()));
    assertTrue(e.getMessage().contains("veritysetup"), e.getMessage());
    IOException m =
        assertThrows(
            IOException.class,
            () ->
                InitramfsBuilder.forImage(image().build()).modules(List.of("virtio_blk")).build());
    assertTrue(m.getMessage().contains("virtio_blk"), m.getMessage());
  }
}
