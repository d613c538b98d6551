package io.basalt.image.cpio;

import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** A small initramfs-like tree with every entry type (test helper). */
final class Fixtures {
  static final long EPOCH = 1_700_000_000L;

  private Fixtures() {}

  /** The entries of the fixture; {@code shuffleSeed} != 0 shuffles their order. */
  static List<TreeEntry> entries(long shuffleSeed) {
    byte[] big = new byte[200_000];
    new Random(1).nextBytes(big);
    List<TreeEntry> l = new ArrayList<>();
    l.add(TreeEntry.directory("/").withMode(0755));
    l.add(TreeEntry.directory("/bin"));
    l.add(TreeEntry.directory("/dev"));
    l.add(TreeEntry.directory("/etc"));
    l.add(TreeEntry.directory("/etc/conf.d").withMode(0700).withOwner(1000, 100));
    l.add(TreeEntry.directory("/tmp").withMode(01777));
    l.add(TreeEntry.directory("/usr"));
    l.add(TreeEntry.directory("/usr/bin"));
    l.add(
        TreeEntry.regular(
                "/init",
                Content.ofBytes("#!/bin/sh\nexec /bin/sh\n".getBytes(StandardCharsets.UTF_8)))
            .withMode(0755));
    l.add(TreeEntry.regular("/usr/bin/busybox", Content.ofBytes(big)).withMode(04755));
    l.add(
        TreeEntry.hardlink("/usr/bin/ash", "/usr/bin/busybox")); // before the target in tree order
    l.add(TreeEntry.hardlink("/usr/bin/sh", "/usr/bin/busybox")); // after it
    l.add(TreeEntry.symlink("/bin/ls", "../usr/bin/busybox"));
    l.add(TreeEntry.symlink("/lib", "usr/lib"));
    l.add(TreeEntry.regular("/etc/empty", Content.ofBytes(new byte[0])));
    l.add(
        TreeEntry.regular(
                "/etc/conf.d/net", Content.ofBytes("ip=dhcp\n".getBytes(StandardCharsets.UTF_8)))
            .withMode(0600)
            .withOwner(1000, 100));
    l.add(
        TreeEntry.regular(
            "/etc/größe-ünïcode", Content.ofBytes("x".getBytes(StandardCharsets.UTF_8))));
    l.add(TreeEntry.device("/dev/console", EntryType.CHAR_DEVICE, 5, 1));
    l.add(
        TreeEntry.device("/dev/sda1", EntryType.BLOCK_DEVICE, 8, 1).withMode(0660).withOwner(0, 6));
    l.add(TreeEntry.fifo("/dev/initctl"));
    l.add(TreeEntry.socket("/dev/log").withMode(0666));
    if (shuffleSeed != 0) {
      Collections.shuffle(l, new Random(shuffleSeed));
    }
    return l;
  }

  static FileTree tree(List<TreeEntry> entries, long mtimeBase) {
    FileTree.Builder b = FileTree.builder();
    int i = 0;
    for (TreeEntry e : entries) {
      b.put(e.withMtime(mtimeBase + 1000L * i++));
    }
    return b.build();
  }
}
