package io.basalt.image.initramfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class KernelModulesTest {
  static final String DEP =
      String.join(
          "\n",
          "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko",
          "kernel/lib/crc16.ko:",
          "kernel/fs/mbcache.ko:",
          "kernel/fs/jbd2/jbd2.ko:",
          "kernel/crypto/crc32c_generic.ko:",
          "kernel/arch/x86/crypto/crc32c-intel.ko:",
          "kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko",
          "kernel/drivers/md/dm-bufio.ko: kernel/drivers/md/dm-mod.ko",
          "kernel/drivers/md/dm-mod.ko:",
          "kernel/fs/fat/vfat.ko.xz: kernel/fs/fat/fat.ko.xz",
          "kernel/fs/fat/fat.ko.xz:",
          "");
  static final String ALIAS =
      "alias fs-vfat vfat\nalias crypto-crc32c crc32c_intel\nalias crypto-crc32c crc32c_generic\nalias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\n";
  static final String SOFTDEP = "# comment\nsoftdep ext4 pre: crypto-crc32c\n";
  static final String BUILTIN =
      "kernel/drivers/virtio/virtio_pci.ko\nkernel/fs/squashfs/squashfs.ko\n";

  private final KernelModules km = new KernelModules(DEP, ALIAS, SOFTDEP, BUILTIN);

  KernelModulesTest() throws IOException {}

  @Test
  void ordersDependenciesFirstWithSoftDependenciesAndNoDuplicates() throws IOException {
    assertEquals(
        List.of(
            "kernel/arch/x86/crypto/crc32c-intel.ko",
            "kernel/crypto/crc32c_generic.ko",
            "kernel/fs/jbd2/jbd2.ko",
            "kernel/fs/mbcache.ko",
            "kernel/lib/crc16.ko",
            "kernel/fs/ext4/ext4.ko",
            "kernel/drivers/md/dm-mod.ko",
            "kernel/drivers/md/dm-bufio.ko",
            "kernel/drivers/md/dm-verity.ko"),
        km.loadOrder(List.of("ext4", "dm_verity", "dm-mod")));
  }

  @Test
  void resolvesAliasesDashesAndBuiltins() throws IOException {
    assertEquals(List.of("kernel/fs/fat/vfat.ko.xz"), km.filesFor("fs-vfat"));
    assertEquals(List.of("kernel/drivers/md/dm-verity.ko"), km.filesFor("dm_verity"));
    assertEquals(List.of(), km.filesFor("squashfs"));
    assertEquals(List.of(), km.filesFor("pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00"));
    assertEquals(
        List.of("kernel/arch/x86/crypto/crc32c-intel.ko", "kernel/crypto/crc32c_generic.ko"),
        km.filesFor("crypto-crc32c"));
    assertTrue(km.isBuiltin("virtio-pci"));
    assertEquals(
        List.of("kernel/fs/fat/fat.ko.xz", "kernel/fs/fat/vfat.ko.xz"),
        km.loadOrder(List.of("vfat", "squashfs")));
  }

  @Test
  void loadGroupsKeepLinkedModulesTogetherAndBalanceTheRest() throws IOException {
    List<String> order = km.loadOrder(List.of("ext4", "dm_verity", "vfat"));
    // Cost 1 per module: the ext4 set (6, linked to crc32c through the softdep) alone; dm (3) and
    // fat (2) together. Each line keeps the load order.
    assertEquals(
        List.of(
            List.of(
                "kernel/arch/x86/crypto/crc32c-intel.ko",
                "kernel/crypto/crc32c_generic.ko",
                "kernel/fs/jbd2/jbd2.ko",
                "kernel/fs/mbcache.ko",
                "kernel/lib/crc16.ko",
                "kernel/fs/ext4/ext4.ko"),
            List.of(
                "kernel/drivers/md/dm-mod.ko",
                "kernel/drivers/md/dm-bufio.ko",
                "kernel/drivers/md/dm-verity.ko",
                "kernel/fs/fat/fat.ko.xz",
                "kernel/fs/fat/vfat.ko.xz")),
        km.loadGroups(order, 2, f -> 1));
    // Costs decide: a heavy fat set takes a line of its own.
    assertEquals(
        List.of(
            List.of("kernel/fs/fat/fat.ko.xz", "kernel/fs/fat/vfat.ko.xz"), order.subList(0, 9)),
        km.loadGroups(order, 2, f -> f.contains("fat") ? 100 : 1).stream()
            .sorted((a, b) -> a.size() - b.size())
            .toList());
    assertEquals(List.of(order), km.loadGroups(order, 1, f -> 1));
    assertEquals(3, km.loadGroups(order, 8, f -> 1).size(), "no empty lines");
    assertThrows(IllegalArgumentException.class, () -> km.loadGroups(order, 0, f -> 1));
  }

  @Test
  void unknownModuleIsAnErrorNamingIt() {
    IOException e =
        assertThrows(IOException.class, () -> km.loadOrder(List.of("ext4", "no_such_mod")));
    assertTrue(e.getMessage().contains("no_such_mod"), e.getMessage());
  }

  @Test
  void malformedDepLineNamesTheLine() {
    IOException e =
        assertThrows(
            IOException.class, () -> new KernelModules("a.ko:\nbroken line\n", null, null, null));
    assertTrue(e.getMessage().contains("line 2"), e.getMessage());
  }
}
