package io.basalt.image.esp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class BootEntriesTest {
  @Test
  void diskCmdlineFollowsTheContract() {
    assertEquals(
        "mount.usr=PARTUUID=1b2c usrhash=ab12 basalt.usr.hashoffset=4096 basalt.slot=A "
            + "basalt.version=1.0 console=tty0 console=ttyS0,115200 quiet",
        BootEntries.diskCmdline("1b2c", "ab12", 4096, "A", "1.0", List.of("quiet")));
    assertEquals(
        "basalt.live usrhash=ab12 basalt.usr.hashoffset=8192 basalt.version=1.0 console=ttyS0,115200",
        BootEntries.liveCmdline("ab12", 8192, "1.0", List.of()));
  }

  @Test
  void espTreeHasLoaderEntriesAndSlotFiles() throws Exception {
    Content boot = Content.ofBytes(new byte[] {'M', 'Z'});
    BootEntries.Slot a =
        new BootEntries.Slot(
            "A",
            "0.1.0",
            Content.ofBytes(new byte[10]),
            Content.ofBytes(new byte[20]),
            "usrhash=ab");
    FileTree t = BootEntries.espTree(boot, List.of(a), 1700000000L);
    assertEquals(2, t.get("/EFI/BOOT/BOOTX64.EFI").size());
    assertEquals(2, t.get("/EFI/systemd/systemd-bootx64.efi").size());
    assertEquals(10, t.get("/basalt/A/vmlinuz").size());
    assertEquals(20, t.get("/basalt/A/initramfs").size());
    assertEquals(
        "timeout 3\ndefault basalt-*\nconsole-mode keep\neditor no\n",
        text(t.get("/loader/loader.conf")));
    TreeEntry entry = t.get("/loader/entries/basalt-0.1.0-A+3.conf");
    assertNotNull(entry);
    assertEquals(
        "title Basalt 0.1.0 (A)\nversion 0.1.0\nlinux /basalt/A/vmlinuz\ninitrd /basalt/A/initramfs\noptions usrhash=ab\n",
        text(entry));
    t.forEach(e -> assertEquals(1700000000L, e.mtime(), e.path()));
  }

  @Test
  void slotMustBeAOrB() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new BootEntries.Slot(
                "C", "1", Content.ofBytes(new byte[0]), Content.ofBytes(new byte[0]), ""));
  }

  @Test
  void liveEspHasOneUncountedEntryTheAgentDoesNotParse() throws Exception {
    FileTree t =
        BootEntries.liveEspTree(
            Content.ofBytes(new byte[2]),
            "0.1.0",
            Content.ofBytes(new byte[10]),
            Content.ofBytes(new byte[20]),
            "basalt.live usrhash=ab",
            1700000000L);
    assertEquals(10, t.get("/basalt/live/vmlinuz").size());
    assertEquals(20, t.get("/basalt/live/initramfs").size());
    assertEquals(2, t.get("/EFI/BOOT/BOOTX64.EFI").size());
    assertEquals(BootEntries.LOADER_CONF, text(t.get("/loader/loader.conf")));
    assertEquals("loader/entries/basalt-0.1.0-live.conf", BootEntries.liveEntryPath("0.1.0"));
    assertEquals(
        "title Basalt 0.1.0 (live)\nversion 0.1.0\nlinux /basalt/live/vmlinuz\n"
            + "initrd /basalt/live/initramfs\noptions basalt.live usrhash=ab\n",
        text(t.get("/loader/entries/basalt-0.1.0-live.conf")));
    assertEquals(
        java.util.Optional.empty(), io.basalt.host.BootEntry.parse("basalt-0.1.0-live.conf"));
    t.forEach(e -> assertEquals(1700000000L, e.mtime(), e.path()));
  }

  private static String text(TreeEntry e) throws Exception {
    try (InputStream in = e.content().open()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
