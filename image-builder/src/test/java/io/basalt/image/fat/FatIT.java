package io.basalt.image.fat;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.gpt.GptDisk;
import io.basalt.image.gpt.GptPartition;
import io.basalt.image.testfixtures.HostTool;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Checks our FAT volumes with fsck.vfat and mtools (mdir, mcopy) as oracles. */
class FatIT {
  static final long MIB = 1 << 20;
  Path dir;

  @BeforeEach
  void mkdir() throws IOException {
    dir = Files.createTempDirectory("fatit");
  }

  @AfterEach
  void rm() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  static byte[] pseudoRandom(int n, long seed) {
    byte[] b = new byte[n];
    long x = seed;
    for (int i = 0; i < n; i++) {
      x = x * 6364136223846793005L + 1442695040888963407L;
      b[i] = (byte) (x >>> 56);
    }
    return b;
  }

  /** Big files, a crowded directory, deep nesting, unicode names, empty file and directory. */
  static FileTree testTree(int bigBytes, int crowd) {
    FileTree.Builder t = FileTree.builder();
    t.putWithParents(
        TreeEntry.regular("/EFI/BOOT/BOOTX64.EFI", Content.ofBytes(pseudoRandom(123_457, 1))));
    t.putWithParents(
        TreeEntry.regular("/big/large image.bin", Content.ofBytes(pseudoRandom(bigBytes, 2))));
    t.putWithParents(
        TreeEntry.regular("/big/exactly-one-mib", Content.ofBytes(pseudoRandom((int) MIB, 3))));
    t.putWithParents(
        TreeEntry.regular(
            "/big/one-mib-plus-one", Content.ofBytes(pseudoRandom((int) MIB + 1, 4))));
    for (int i = 0; i < crowd; i++) {
      t.putWithParents(
          TreeEntry.regular(
              "/crowd/file number " + i + ".data",
              Content.ofBytes(("content " + i + "\n").getBytes(UTF_8))));
    }
    StringBuilder deep = new StringBuilder();
    for (int i = 0; i < 25; i++) {
      deep.append("/level ").append(i);
    }
    t.putWithParents(
        TreeEntry.regular(deep + "/bottom.txt", Content.ofBytes("bottom\n".getBytes(UTF_8))));
    t.putWithParents(
        TreeEntry.regular(
            "/unicode/\u00e9t\u00e9 d\u00e9j\u00e0 vu.txt",
            Content.ofBytes("fr\n".getBytes(UTF_8))));
    t.putWithParents(
        TreeEntry.regular(
            "/unicode/\u4e2d\u6587\u540d\u5b57.conf", Content.ofBytes("zh\n".getBytes(UTF_8))));
    t.putWithParents(
        TreeEntry.regular(
            "/unicode/\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u041a\u0438\u0440\u0438\u043b\u043b\u0438\u0446\u0430",
            Content.ofBytes("el ru\n".getBytes(UTF_8))));
    t.putWithParents(
        TreeEntry.regular(
            "/loader/entries/basalt-1.2.3+3.conf",
            Content.ofBytes("title Basalt\n".getBytes(UTF_8))));
    t.putWithParents(
        TreeEntry.regular(
            "/a name that is exactly long enough to need twenty long-name entries "
                + "x".repeat(255 - 69),
            Content.ofBytes("long\n".getBytes(UTF_8))));
    t.putWithParents(TreeEntry.regular("/empty file", Content.ofBytes(new byte[0])));
    t.putWithParents(TreeEntry.directory("/empty dir"));
    t.putWithParents(TreeEntry.regular("/README.TXT", Content.ofBytes("upper\n".getBytes(UTF_8))));
    return t.build();
  }

  @Test
  void fat32VolumeIsCleanAndReadsBackByteIdentical() throws Exception {
    FileTree t = testTree(40 * (int) MIB + 12345, 1500);
    Path img = dir.resolve("esp.img");
    FatWriter.Summary s =
        FatWriter.builder()
            .label("EFI-SYSTEM")
            .sourceDateEpoch(1_700_000_000L)
            .build()
            .writeTo(t, img, 256 * MIB);
    assertEquals("FAT32", s.fatType());
    checkWithTools(img, t, "EFI-SYSTEM");
  }

  @Test
  void fat16VolumeIsCleanAndReadsBackByteIdentical() throws Exception {
    FileTree t = testTree(5 * (int) MIB, 300);
    Path img = dir.resolve("oem.img");
    FatWriter.Summary s =
        FatWriter.builder().label("OEM").sourceDateEpoch(0).build().writeTo(t, img, 32 * MIB);
    assertEquals("FAT16", s.fatType());
    checkWithTools(img, t, "OEM");
  }

  @Test
  void fat16RootDirectoryGrowsBeyond512Entries() throws Exception {
    FileTree.Builder b = FileTree.builder();
    for (int i = 0; i < 700; i++) {
      b.put(
          TreeEntry.regular(
              "/root file " + i + ".txt", Content.ofBytes(("r" + i).getBytes(UTF_8))));
    }
    FileTree t = b.build();
    Path img = dir.resolve("root16.img");
    FatWriter.Summary s =
        FatWriter.builder()
            .label("CROWDED")
            .sourceDateEpoch(86_400L * 365 * 20)
            .build()
            .writeTo(t, img, 16L << 20);
    assertEquals("FAT16", s.fatType());
    checkWithTools(img, t, "CROWDED");
  }

  @Test
  void fatInsideGptPartitionIsReadableThroughTheDisk() throws Exception {
    FileTree t = testTree(3 * (int) MIB, 50);
    FatWriter fat =
        FatWriter.builder()
            .label("EFI-SYSTEM")
            .sourceDateEpoch(1_700_000_000L)
            .hiddenSectors(2048)
            .build();
    GptDisk disk =
        GptDisk.builder("fat-it")
            .add(
                GptPartition.of(
                    "EFI-SYSTEM",
                    GptPartition.EFI_SYSTEM,
                    100 * MIB,
                    w -> fat.write(t, w, w.size())))
            .build();
    Path img = dir.resolve("disk.raw");
    disk.writeTo(img);
    long off = disk.partitions().get(0).offset();
    HostTool mdir = HostTool.run(120, "mdir", "-i", img + "@@" + off, "::/EFI/BOOT");
    assertEquals(0, mdir.exit, mdir.toString());
    assertTrue(mdir.outText().contains("BOOTX64  EFI"), mdir.toString());
    // the partition's bytes alone are a clean volume
    Path part = dir.resolve("part.img");
    try (FileChannel in = FileChannel.open(img);
        FileChannel out =
            FileChannel.open(part, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      in.transferTo(off, disk.partitions().get(0).sizeBytes(), out);
    }
    checkWithTools(part, t, "EFI-SYSTEM");
  }

  static void checkWithTools(Path img, FileTree t, String label) throws Exception {
    HostTool fsck = HostTool.run(300, "fsck.vfat", "-n", img.toString());
    assertEquals(0, fsck.exit, fsck.toString());
    List<String> lines = fsck.outText().lines().filter(l -> !l.startsWith("fsck.fat ")).toList();
    assertEquals(1, lines.size(), "fsck.vfat -n reports nothing but its summary:\n" + fsck);
    assertTrue(lines.get(0).startsWith(img + ": " + t.size() + " files, "), fsck.toString());

    HostTool header = HostTool.run(120, "mdir", "-i", img.toString(), "::/");
    assertEquals(0, header.exit, header.toString());
    assertTrue(header.outText().contains("Volume in drive : is " + label), header.toString());

    HostTool list = HostTool.run(300, "mdir", "-/", "-b", "-i", img.toString(), "::/");
    assertEquals(0, list.exit, list.toString());
    Set<String> listed =
        list.outText()
            .lines()
            .map(l -> l.substring(2))
            .map(l -> l.endsWith("/") ? l.substring(0, l.length() - 1) : l)
            .collect(Collectors.toCollection(TreeSet::new));
    Set<String> expected =
        t.stream()
            .map(TreeEntry::path)
            .filter(p -> !p.equals("/"))
            .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(expected, listed, "long names as listed by mdir");

    Path out = Files.createDirectory(img.resolveSibling(img.getFileName() + ".out"));
    HostTool copy = HostTool.run(600, "mcopy", "-s", "-n", "-i", img.toString(), "::/*", out + "/");
    assertEquals(0, copy.exit, copy.toString());
    for (TreeEntry e : t) {
      if (e.path().equals("/")) {
        continue;
      }
      Path p = out.resolve(e.path().substring(1));
      if (e.isDirectory()) {
        assertTrue(Files.isDirectory(p), e.path());
      } else {
        assertArrayEquals(readAll(e.content()), Files.readAllBytes(p), e.path());
      }
    }
    // single files to stdout, by long name
    for (TreeEntry e : t) {
      if (!e.isDirectory()
          && (e.path().startsWith("/unicode/")
              || e.path().contains("bottom")
              || e.path().startsWith("/big/large"))) {
        HostTool one = HostTool.run(120, "mcopy", "-i", img.toString(), "::" + e.path(), "-");
        assertEquals(0, one.exit, e.path() + "\n" + one);
        assertTrue(Arrays.equals(readAll(e.content()), one.out), e.path());
      }
    }
  }

  static byte[] readAll(Content c) throws IOException {
    try (InputStream in = c.open()) {
      return in.readAllBytes();
    }
  }
}
