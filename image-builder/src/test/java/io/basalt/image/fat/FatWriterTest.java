package io.basalt.image.fat;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class FatWriterTest {
  static final long MIB = 1 << 20;
  static final long EPOCH = 1_700_000_000L; // 2023-11-14T22:13:20Z

  static FileTree sample() {
    return FileTree.builder()
        .putWithParents(
            TreeEntry.regular("/EFI/BOOT/BOOTX64.EFI", Content.ofBytes(bytes(70_000, 1))))
        .putWithParents(
            TreeEntry.regular(
                "/loader/entries/basalt-1.0+3.conf",
                Content.ofBytes("title Basalt\n".getBytes(UTF_8))))
        .putWithParents(TreeEntry.regular("/readme.txt", Content.ofBytes("hi\n".getBytes(UTF_8))))
        .putWithParents(TreeEntry.directory("/empty"))
        .putWithParents(TreeEntry.regular("/zero", Content.ofBytes(new byte[0])))
        .build();
  }

  static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + seed + (i >> 8));
    }
    return b;
  }

  static byte[] write(FileTree t, long size, String label) throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/v.img");
      FatWriter.builder().label(label).sourceDateEpoch(EPOCH).build().writeTo(t, p, size);
      return Files.readAllBytes(p);
    }
  }

  /** A minimal independent FAT reader for structure checks. */
  static final class Volume {
    final ByteBuffer b;
    final boolean fat32;
    final int bps;
    final int spc;
    final int reserved;
    final long fatSz;
    final int rootEnt;
    final long total;

    Volume(byte[] img) {
      b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
      bps = b.getShort(11) & 0xffff;
      spc = b.get(13) & 0xff;
      reserved = b.getShort(14) & 0xffff;
      rootEnt = b.getShort(17) & 0xffff;
      int fat16Sz = b.getShort(22) & 0xffff;
      fat32 = fat16Sz == 0;
      fatSz = fat32 ? b.getInt(36) & 0xffffffffL : fat16Sz;
      int tot16 = b.getShort(19) & 0xffff;
      total = tot16 != 0 ? tot16 : b.getInt(32) & 0xffffffffL;
    }

    long rootSectors() {
      return (rootEnt * 32L + bps - 1) / bps;
    }

    long dataStart() {
      return (reserved + 2 * fatSz + rootSectors()) * bps;
    }

    long clusters() {
      return (total - reserved - 2 * fatSz - rootSectors()) / spc;
    }

    long fat(long c) {
      long off = reserved * (long) bps + c * (fat32 ? 4 : 2);
      return fat32 ? b.getInt((int) off) & 0x0fffffffL : b.getShort((int) off) & 0xffffL;
    }

    List<Long> chain(long first) {
      List<Long> out = new ArrayList<>();
      long c = first;
      while (c >= 2 && c < (fat32 ? 0x0ffffff8L : 0xfff8L)) {
        out.add(c);
        c = fat(c);
      }
      return out;
    }

    /** The raw bytes of a directory: the cluster chain, or the fixed FAT16 root. */
    byte[] dir(long first) {
      if (first == 0 && !fat32) {
        int off = (int) ((reserved + 2 * fatSz) * bps);
        return Arrays.copyOfRange(b.array(), off, off + rootEnt * 32);
      }
      List<Long> ch = chain(first);
      byte[] out = new byte[ch.size() * spc * bps];
      for (int i = 0; i < ch.size(); i++) {
        int off = (int) (dataStart() + (ch.get(i) - 2) * spc * bps);
        System.arraycopy(b.array(), off, out, i * spc * bps, spc * bps);
      }
      return out;
    }
  }

  @Test
  void fat32BootSectorFsInfoAndBackupFollowTheSpec() throws IOException {
    byte[] img = write(sample(), 256 * MIB, "efi-system");
    Volume v = new Volume(img);
    ByteBuffer b = v.b;
    assertEquals(256 * MIB, img.length);
    assertEquals((byte) 0xEB, img[0]);
    assertEquals((byte) 0x90, img[2]);
    assertEquals(512, v.bps);
    assertTrue(v.fat32);
    assertEquals(4, v.spc, "256 MiB: 4 KiB clusters would give fewer than 65525, so 2 KiB");
    assertEquals(32, v.reserved);
    assertEquals(2, img[16]);
    assertEquals(0, v.rootEnt);
    assertEquals((byte) 0xF8, img[21]);
    assertEquals(256 * MIB / 512, v.total);
    assertTrue(v.clusters() >= 65525, "FAT32 needs at least 65525 clusters, has " + v.clusters());
    assertTrue((v.clusters() + 2) * 4 <= v.fatSz * 512, "FAT covers every cluster");
    assertTrue((v.clusters() + 2) * 4 > (v.fatSz - 1) * 512, "FAT not larger than needed");
    assertEquals(2, b.getInt(44)); // root cluster
    assertEquals(1, b.getShort(48));
    assertEquals(6, b.getShort(50));
    assertEquals(0x29, img[66]);
    assertEquals("EFI-SYSTEM ", new String(img, 71, 11, US_ASCII));
    assertEquals("FAT32   ", new String(img, 82, 8, US_ASCII));
    assertEquals((short) 0xAA55, b.getShort(510));
    assertArrayEquals(
        Arrays.copyOfRange(img, 0, 1024),
        Arrays.copyOfRange(img, 6 * 512, 8 * 512),
        "backup boot + FSInfo");
    assertEquals(0x41615252, b.getInt(512));
    assertEquals(0x61417272, b.getInt(512 + 484));
    assertEquals(0xAA550000, b.getInt(512 + 508));
    long free = 0;
    for (long c = 2; c < v.clusters() + 2; c++) {
      if (v.fat(c) == 0) {
        free++;
      }
    }
    assertEquals(free, b.getInt(512 + 488) & 0xffffffffL, "FSI_Free_Count is exact");
    assertEquals(0x0FFFFFF8L, v.fat(0));
    assertEquals(0x0FFFFFFFL, v.fat(1));
    // both FATs identical
    int fatBytes = (int) (v.fatSz * 512);
    assertArrayEquals(
        Arrays.copyOfRange(img, 32 * 512, 32 * 512 + fatBytes),
        Arrays.copyOfRange(img, 32 * 512 + fatBytes, 32 * 512 + 2 * fatBytes));
    // root directory: label entry first, carrying the fixed timestamp
    byte[] root = v.dir(2);
    assertEquals("EFI-SYSTEM ", new String(root, 0, 11, US_ASCII));
    assertEquals(0x08, root[11]);
    ByteBuffer r = ByteBuffer.wrap(root).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals(((2023 - 1980) << 9) | (11 << 5) | 14, r.getShort(24) & 0xffff); // 2023-11-14
    assertEquals((22 << 11) | (13 << 5) | 10, r.getShort(22) & 0xffff); // 22:13:20
  }

  @Test
  void filesReadBackThroughTheFatChainsWithLongNames() throws IOException {
    FileTree t = sample();
    byte[] img = write(t, 64 * MIB, "OEM");
    Volume v = new Volume(img);
    assertTrue(v.fat32);
    // walk /EFI/BOOT/BOOTX64.EFI by short names
    long efi = find(v.dir(2), "EFI        ");
    long boot = find(v.dir(efi), "BOOT       ");
    byte[] dir = v.dir(boot);
    int at = indexOf(dir, "BOOTX64 EFI");
    ByteBuffer d = ByteBuffer.wrap(dir).order(ByteOrder.LITTLE_ENDIAN);
    long first = ((d.getShort(at + 20) & 0xffffL) << 16) | (d.getShort(at + 26) & 0xffffL);
    int size = d.getInt(at + 28);
    assertEquals(70_000, size);
    assertEquals(at, 64, "no long name for an exact 8.3 upper-case name (after . and ..)");
    List<Long> chain = v.chain(first);
    assertEquals((70_000 + v.spc * 512 - 1) / (v.spc * 512), chain.size());
    byte[] back = new byte[size];
    int pos = 0;
    for (long c : chain) {
      int n = Math.min(v.spc * 512, size - pos);
      System.arraycopy(img, (int) (v.dataStart() + (c - 2) * v.spc * 512), back, pos, n);
      pos += n;
    }
    assertArrayEquals(bytes(70_000, 1), back);
    // "." and ".." of /EFI/BOOT
    assertEquals(".          ", new String(dir, 0, 11, US_ASCII));
    assertEquals(boot, d.getShort(26) & 0xffff);
    assertEquals("..         ", new String(dir, 32, 11, US_ASCII));
    assertEquals(efi, d.getShort(32 + 26) & 0xffff);
    // ".." of a root child is 0
    assertEquals(0, ByteBuffer.wrap(v.dir(efi)).order(ByteOrder.LITTLE_ENDIAN).getShort(32 + 26));
    // long name of /loader/entries/basalt-1.0+3.conf
    byte[] entries = v.dir(find(v.dir(find(v.dir(2), "LOADER     ")), "ENTRIES    "));
    int s = indexOf(entries, "BASALT~1CON");
    assertEquals("basalt-1.0+3.conf", longNameBefore(entries, s));
  }

  @Test
  void charactersBeyondTheBmpAreStoredAsSurrogatePairs() throws IOException {
    String name = "smile \ud83d\ude00 file.txt";
    byte[] img =
        write(
            FileTree.builder()
                .put(TreeEntry.regular("/" + name, Content.ofBytes(new byte[1])))
                .build(),
            40 * MIB,
            "");
    Volume v = new Volume(img);
    byte[] root = v.dir(2);
    int at = indexOf(root, "SMILE_~1TXT");
    assertEquals(name, longNameBefore(root, at));
  }

  @Test
  void fat16ForSmallVolumesAndClearErrorBelowThat() throws IOException {
    byte[] img = write(sample(), 16 * MIB, "SMALL");
    Volume v = new Volume(img);
    assertFalse(v.fat32);
    assertEquals("FAT16   ", new String(img, 54, 8, US_ASCII));
    assertEquals("SMALL      ", new String(img, 43, 11, US_ASCII));
    assertTrue(v.clusters() >= 4085 && v.clusters() < 65525, "FAT16 cluster count " + v.clusters());
    assertEquals(512, v.rootEnt);
    assertEquals(1, v.reserved);
    assertEquals(0xFFF8, v.fat(0));
    assertEquals(16 * MIB / 512, v.b.getShort(19) & 0xffff);
    byte[] root = v.dir(0);
    assertEquals("SMALL      ", new String(root, 0, 11, US_ASCII));
    assertTrue(indexOf(root, "README  TXT") > 0);
    assertEquals("readme.txt", longNameBefore(root, indexOf(root, "README  TXT")));

    FatFormatException e = assertThrows(FatFormatException.class, () -> write(sample(), MIB, "X"));
    assertTrue(
        e.getMessage().startsWith("FAT volume of 1048576 bytes is too small: FAT16 needs at least"),
        e.getMessage());
  }

  @Test
  void shortNamesFollowTheBasisAndNumericTailRules() {
    Set<String> taken = new HashSet<>();
    assertEquals("README  TXT", gen("readme.txt", taken));
    assertEquals("FILENU~1DAT", gen("file number 1.data", taken));
    assertEquals("FILENU~2DAT", gen("file number 2.data", taken));
    assertEquals("BASHRC~1   ", gen(".bashrc", taken));
    assertEquals("A_B~1   C  ", gen("a+b.c", taken));
    assertEquals(
        "______~1   ",
        gen("\u4e2d\u6587\u4e2d\u6587\u4e2d\u6587\u4e2d", taken),
        "one _ per character, cut to 6 for the tail");
    assertEquals("TARGZ~1 XZ ", gen("tar.gz.xz", taken));
    assertEquals("README~1TXT", gen("Readme.txt", taken), "collides with README.TXT: tail");
    for (int i = 3; i <= 9; i++) {
      gen("file number " + i + ".data", taken);
    }
    assertEquals("FILEN~10DAT", gen("file number 10.data", taken));
    assertArrayEquals("BOOTX64 EFI".getBytes(US_ASCII), Names.exactShortName("BOOTX64.EFI"));
    assertNull(Names.exactShortName("bootx64.efi"));
    assertNull(Names.exactShortName("A.B.C"));
    assertNull(Names.exactShortName("TOOLONGNAME"));
  }

  static String gen(String name, Set<String> taken) {
    byte[] s = Names.generate(name, taken);
    taken.add(Names.key(s));
    return new String(s, US_ASCII);
  }

  @Test
  void checksumMatchesTheSpecFormula() {
    byte[] n = "FILENU~1DAT".getBytes(US_ASCII);
    int sum = 0;
    for (byte x : n) { // rotate right by one, then add (spec: ChkSum)
      sum = ((sum >>> 1) | ((sum & 1) << 7)) & 0xff;
      sum = (sum + (x & 0xff)) & 0xff;
    }
    assertEquals(sum, Names.checksum(n));
  }

  @Test
  void sameContentInAnotherOrderWithOtherHostMetadataGivesIdenticalBytes() throws IOException {
    try (FileSystem fs =
        Jimfs.newFileSystem(
            Configuration.unix().toBuilder()
                .setAttributeViews("basic", "owner", "posix")
                .build())) {
      Path a = fs.getPath("/a");
      Path b = fs.getPath("/b");
      List<String> names =
          List.of(
              "x/one.txt",
              "x/Two Words.bin",
              "y/z/deep name.dat",
              "top.cfg",
              "x/\u00e9t\u00e9.txt");
      for (Path base : List.of(a, b)) {
        for (String n : names) {
          Path p = base.resolve(n);
          Files.createDirectories(p.getParent());
          Files.write(p, (n + "-content").getBytes(UTF_8));
          Files.setLastModifiedTime(p, FileTime.fromMillis(base == a ? 1000 : 1_600_000_000_000L));
          if (base == b) {
            Files.setOwner(p, fs.getUserPrincipalLookupService().lookupPrincipalByName("mallory"));
          }
        }
      }
      byte[] one = write(treeOf(a, false), 40 * MIB, "OEM");
      byte[] two = write(treeOf(b, true), 40 * MIB, "OEM");
      assertArrayEquals(one, two);
    }
  }

  /** A tree of host files, entries added in walk order or reversed, with host mtimes copied in. */
  static FileTree treeOf(Path base, boolean reverse) throws IOException {
    List<Path> all;
    try (Stream<Path> s = Files.walk(base)) {
      all = new ArrayList<>(s.filter(p -> !p.equals(base)).toList());
    }
    if (reverse) {
      Collections.reverse(all);
    }
    FileTree.Builder t = FileTree.builder();
    for (Path p : all) {
      String in = "/" + base.relativize(p).toString();
      long mtime = Files.getLastModifiedTime(p).toMillis() / 1000;
      t.put(
          (Files.isDirectory(p)
                  ? TreeEntry.directory(in)
                  : TreeEntry.regular(in, Content.ofFile(p)))
              .withMtime(mtime));
    }
    return t.build();
  }

  @Test
  void badInputNamesTheEntry() throws IOException {
    FatFormatException link =
        assertThrows(
            FatFormatException.class,
            () ->
                write(
                    FileTree.builder().put(TreeEntry.symlink("/link", "x")).build(), 40 * MIB, ""));
    assertTrue(
        link.getMessage().startsWith("/link: a SYMLINK cannot be stored on FAT"),
        link.getMessage());
    FatFormatException colon =
        assertThrows(
            FatFormatException.class,
            () ->
                write(
                    FileTree.builder()
                        .put(TreeEntry.regular("/a:b", Content.ofBytes(new byte[1])))
                        .build(),
                    40 * MIB,
                    ""));
    assertTrue(colon.getMessage().startsWith("/a:b: character U+003A"), colon.getMessage());
    FatFormatException surrogate =
        assertThrows(
            FatFormatException.class,
            () ->
                write(
                    FileTree.builder()
                        .put(TreeEntry.regular("/x\ud800", Content.ofBytes(new byte[1])))
                        .build(),
                    40 * MIB,
                    ""));
    assertTrue(
        surrogate.getMessage().contains("unpaired UTF-16 surrogate"), surrogate.getMessage());
    FatFormatException dot =
        assertThrows(
            FatFormatException.class,
            () ->
                write(
                    FileTree.builder()
                        .put(TreeEntry.regular("/name.", Content.ofBytes(new byte[1])))
                        .build(),
                    40 * MIB,
                    ""));
    assertTrue(dot.getMessage().startsWith("/name.: name ends with '.'"), dot.getMessage());
    FatFormatException longName =
        assertThrows(
            FatFormatException.class,
            () ->
                write(
                    FileTree.builder()
                        .put(TreeEntry.regular("/" + "n".repeat(256), Content.ofBytes(new byte[1])))
                        .build(),
                    40 * MIB,
                    ""));
    assertTrue(longName.getMessage().contains("256 UTF-16 code units"), longName.getMessage());
    FatFormatException caseClash =
        assertThrows(
            FatFormatException.class,
            () ->
                write(
                    FileTree.builder()
                        .put(TreeEntry.regular("/Readme", Content.ofBytes(new byte[1])))
                        .put(TreeEntry.regular("/README", Content.ofBytes(new byte[1])))
                        .build(),
                    40 * MIB,
                    ""));
    assertTrue(
        caseClash
            .getMessage()
            .contains("/Readme: FAT names ignore case, so it collides with /README"),
        caseClash.getMessage());
    FatFormatException label =
        assertThrows(
            FatFormatException.class, () -> FatWriter.builder().label("bad:label").build());
    assertTrue(label.getMessage().startsWith("volume label 'bad:label'"), label.getMessage());
    FatFormatException full =
        assertThrows(
            FatFormatException.class,
            () ->
                write(
                    FileTree.builder()
                        .put(TreeEntry.regular("/small", Content.ofBytes(new byte[10])))
                        .put(
                            TreeEntry.regular(
                                "/too-big", Content.ofBytes(new byte[(int) (4 * MIB)])))
                        .build(),
                    4 * MIB,
                    "TINY"));
    assertTrue(
        full.getMessage()
            .startsWith(
                "FAT volume 'TINY' of 4194304 bytes is too small: /too-big is the first entry that does not fit"),
        full.getMessage());
  }

  @Test
  void fileThatChangesWhileBeingReadIsNamedAndNoImageIsLeft() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path src = fs.getPath("/src.txt");
      Files.write(src, new byte[5000]);
      FileTree t =
          FileTree.builder().put(TreeEntry.regular("/dir-less.txt", Content.ofFile(src))).build();
      Files.write(src, new byte[4000]);
      Files.createDirectories(fs.getPath("/out"));
      Path out = fs.getPath("/out/esp.img");
      IOException e =
          assertThrows(
              IOException.class,
              () -> FatWriter.builder().sourceDateEpoch(EPOCH).build().writeTo(t, out, 40 * MIB));
      assertTrue(
          e.getMessage().startsWith("/dir-less.txt: /src.txt: changed while being read"),
          e.getMessage());
      try (Stream<Path> s = Files.list(fs.getPath("/out"))) {
        assertEquals(0, s.count());
      }
    }
  }

  @Test
  void timestampsAreUtcAndClamped() {
    assertArrayEquals(new int[] {(0 << 9) | (1 << 5) | 1, 0, 0}, FatWriter.timestamp(0));
    int[] t = FatWriter.timestamp(EPOCH + 1);
    assertEquals((22 << 11) | (13 << 5) | 10, t[1]);
    assertEquals(100, t[2]);
  }

  static long find(byte[] dir, String shortName) {
    int at = indexOf(dir, shortName);
    ByteBuffer d = ByteBuffer.wrap(dir).order(ByteOrder.LITTLE_ENDIAN);
    return ((d.getShort(at + 20) & 0xffffL) << 16) | (d.getShort(at + 26) & 0xffffL);
  }

  static int indexOf(byte[] dir, String shortName) {
    byte[] n = shortName.getBytes(US_ASCII);
    for (int off = 0; off < dir.length; off += 32) {
      if (dir[off + 11] != 0x0F && Arrays.equals(n, Arrays.copyOfRange(dir, off, off + 11))) {
        return off;
      }
    }
    throw new AssertionError(shortName + " not found");
  }

  /**
   * Reassembles the long name stored before the short entry at {@code at}, checking ordinals and
   * checksums.
   */
  static String longNameBefore(byte[] dir, int at) {
    int sum = Names.checksum(Arrays.copyOfRange(dir, at, at + 11));
    StringBuilder sb = new StringBuilder();
    int ord = 1;
    for (int off = at - 32; off >= 0 && dir[off + 11] == 0x0F; off -= 32, ord++) {
      assertEquals(ord, dir[off] & 0x3F);
      assertEquals(sum, dir[off + 13] & 0xff, "LFN checksum");
      ByteBuffer b = ByteBuffer.wrap(dir, off, 32).order(ByteOrder.LITTLE_ENDIAN);
      for (int p : new int[] {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30}) {
        char c = b.getChar(off + p);
        if (c == 0) {
          assertTrue((dir[off] & 0x40) != 0, "terminator only in the last part");
          return sb.toString();
        }
        if (c != 0xFFFF) {
          sb.append(c);
        }
      }
      if ((dir[off] & 0x40) != 0) {
        return sb.toString();
      }
    }
    return sb.toString();
  }
}
