package io.basalt.image.cpio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.testfixtures.HostTool;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Our cpio archives checked with GNU cpio, gzip, zstd and xz as oracles. */
class CpioIT {
  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};
  @TempDir Path tmp;

  @Test
  void cpioListsTheArchiveAsWritten() throws Exception {
    FileTree tree = Fixtures.tree(Fixtures.entries(0), 0);
    Path archive = tmp.resolve("a.cpio");
    CpioWriter.of(Compression.NONE).withMtime(Fixtures.EPOCH).write(tree, archive);
    String listing =
        HostTool.ok(300, "cpio", "-itvn", "--quiet", "-F", archive.toString()).outText();
    List<String> lines = listing.lines().toList();
    List<TreeEntry> entries = tree.stream().toList();
    assertEquals(entries.size(), lines.size(), listing);
    // e.g. "-rwsr-xr-x   3 0        0          200000 Nov 14  2023 usr/bin/sh"
    Pattern line =
        Pattern.compile(
            "(\\S{10})\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+(?:,\\s+\\d+)?)\\s+(\\w{3})\\s+(\\d+)\\s+(\\d{4}) (.+)");
    ZonedDateTime t = Instant.ofEpochSecond(Fixtures.EPOCH).atZone(ZoneOffset.UTC);
    for (int i = 0; i < entries.size(); i++) {
      TreeEntry e = entries.get(i);
      TreeEntry inode = e.type() == EntryType.HARDLINK ? tree.get(e.linkTarget()) : e;
      Matcher m = line.matcher(lines.get(i));
      assertTrue(m.matches(), "unexpected listing line: " + lines.get(i));
      String name = e.path().equals("/") ? "." : e.path().substring(1);
      String expectedName = e.type() == EntryType.SYMLINK ? name + " -> " + e.linkTarget() : name;
      assertEquals(expectedName, m.group(9), "name");
      assertEquals(modeString(inode), m.group(1), name + ": mode");
      assertEquals(String.valueOf(inode.uid()), m.group(3), name + ": uid");
      assertEquals(String.valueOf(inode.gid()), m.group(4), name + ": gid");
      assertEquals(expectedSize(tree, e), m.group(5).replaceAll("\\s+", " "), name + ": size");
      assertEquals(
          t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ROOT), m.group(6), name + ": month");
      assertEquals(String.valueOf(t.getDayOfMonth()), m.group(7), name + ": day");
      assertEquals(String.valueOf(t.getYear()), m.group(8), name + ": year");
    }
    System.out.printf("cpio -itvn listed %d entries as written%n", lines.size());
  }

  @Test
  void cpioExtractsTheSameBytesAndAttributes() throws Exception {
    FileTree tree = Fixtures.tree(Fixtures.entries(0), 0);
    Path archive = tmp.resolve("a.cpio");
    CpioWriter.of(Compression.NONE).write(tree, archive); // the tree's own mtimes
    Path root = Files.createDirectory(tmp.resolve("x"));
    HostTool.ok(
        300,
        "cpio",
        "-idmu",
        "--quiet",
        "--no-absolute-filenames",
        "-D",
        root.toString(),
        "-F",
        archive.toString());
    int checked = 0;
    for (TreeEntry e : tree) {
      Path p = e.path().equals("/") ? root : root.resolve(e.path().substring(1));
      TreeEntry inode = e.type() == EntryType.HARDLINK ? tree.get(e.linkTarget()) : e;
      Map<String, Object> a =
          Files.readAttributes(p, "unix:mode,uid,gid,rdev,ino,lastModifiedTime", NOFOLLOW);
      int mode = (Integer) a.get("mode");
      assertEquals(typeBits(inode.type()), mode & 0170000, e.path() + ": type");
      assertEquals(String.valueOf(inode.uid()), String.valueOf(a.get("uid")), e.path() + ": uid");
      assertEquals(String.valueOf(inode.gid()), String.valueOf(a.get("gid")), e.path() + ": gid");
      if (e.type() != EntryType.SYMLINK) {
        assertEquals(
            Integer.toOctalString(inode.mode()),
            Integer.toOctalString(mode & 07777),
            e.path() + ": mode");
        // GNU cpio -m restores the mtime of files, not of directories whose contents follow them
        // (nor of symlinks); cpioListsTheArchiveAsWritten checks every entry's stored mtime.
        if (!e.isDirectory()) {
          assertEquals(
              FileTime.from(Instant.ofEpochSecond(inode.mtime())),
              a.get("lastModifiedTime"),
              e.path() + ": mtime");
        }
      }
      switch (e.type()) {
        case REGULAR:
        case HARDLINK:
          try (InputStream in = inode.content().open()) {
            assertArrayEquals(in.readAllBytes(), Files.readAllBytes(p), e.path() + ": content");
          }
          Path target = root.resolve(inode.path().substring(1));
          assertEquals(
              Files.getAttribute(target, "unix:ino"), a.get("ino"), e.path() + ": hard link");
          break;
        case SYMLINK:
          assertEquals(e.linkTarget(), Files.readSymbolicLink(p).toString());
          break;
        case BLOCK_DEVICE:
        case CHAR_DEVICE:
          long rdev = (Long) a.get("rdev");
          assertEquals(
              e.devMajor() + ":" + e.devMinor(),
              ((rdev >> 8) & 0xfff) + ":" + ((rdev & 0xff) | ((rdev >> 12) & 0xfff00)));
          break;
        default:
          break;
      }
      checked++;
    }
    System.out.printf("cpio -idm extracted %d entries identical to the tree%n", checked);
  }

  @ParameterizedTest
  @EnumSource(
      value = Compression.class,
      names = {"GZIP", "ZSTD", "XZ"})
  void referenceToolsAcceptTheCompressedForms(Compression c) throws Exception {
    FileTree tree = Fixtures.tree(Fixtures.entries(0), 0);
    Path plain = tmp.resolve("plain.cpio");
    CpioWriter.of(Compression.NONE).write(tree, plain);
    Path packed = tmp.resolve("packed." + c.name().toLowerCase());
    long n = CpioWriter.of(c).write(tree, packed);
    String tool = c.name().toLowerCase();
    HostTool.ok(300, tool, "-t", packed.toString());
    byte[] unpacked = HostTool.ok(300, tool, "-dc", packed.toString()).out;
    assertArrayEquals(
        Files.readAllBytes(plain), unpacked, c + " decompresses to the plain archive");
    if (c == Compression.XZ) {
      String list = HostTool.ok(300, "xz", "--robot", "--list", packed.toString()).outText();
      assertTrue(
          list.lines().anyMatch(l -> l.startsWith("file\t") && l.contains("\tCRC32\t")), list);
    }
    System.out.printf("%s -t ok: %d bytes (plain %d)%n", tool, n, Files.size(plain));
  }

  @ParameterizedTest
  @EnumSource(
      value = Compression.class,
      names = {"GZIP", "ZSTD", "XZ"})
  void earlyMicrocodeThenCompressedMainSplitsAsTheKernelReadsIt(Compression c) throws Exception {
    FileTree early =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular(
                    "/kernel/x86/microcode/GenuineIntel.bin",
                    Content.ofBytes(new byte[] {1, 2, 3, 4, 5})))
            .build();
    FileTree main = Fixtures.tree(Fixtures.entries(0), 0);
    Path img = tmp.resolve("initramfs");
    List<InitramfsWriter.Member> members =
        InitramfsWriter.empty()
            .add(early, CpioWriter.of(Compression.NONE).withMtime(Fixtures.EPOCH))
            .add(main, CpioWriter.of(c).withMtime(Fixtures.EPOCH))
            .write(img);
    byte[] all = Files.readAllBytes(img);
    InitramfsWriter.Member first = members.get(0);
    InitramfsWriter.Member second = members.get(1);
    assertEquals(0, second.offset() % 4);
    for (long i = first.length(); i < second.offset(); i++) {
      assertEquals(0, all[(int) i], "padding between members");
    }
    // GNU cpio reads the first (uncompressed) member from the start of the whole file and stops at
    // its trailer
    List<String> firstNames =
        HostTool.ok(300, "cpio", "-it", "--quiet", "-F", img.toString()).outText().lines().toList();
    assertEquals(
        List.of(
            ".",
            "kernel",
            "kernel/x86",
            "kernel/x86/microcode",
            "kernel/x86/microcode/GenuineIntel.bin"),
        firstNames);
    assertEquals("070701", new String(all, 0, 6, java.nio.charset.StandardCharsets.US_ASCII));
    // the second member is a complete compressed stream holding a valid newc archive
    String tool = c.name().toLowerCase();
    Path exact = tmp.resolve("main.exact");
    Files.write(
        exact,
        Arrays.copyOfRange(all, (int) second.offset(), (int) (second.offset() + second.length())));
    HostTool.ok(300, tool, "-t", exact.toString());
    Path cpio = tmp.resolve("main.cpio");
    Files.write(cpio, HostTool.ok(300, tool, "-dc", exact.toString()).out);
    List<String> mainNames =
        HostTool.ok(300, "cpio", "-it", "--quiet", "-F", cpio.toString())
            .outText()
            .lines()
            .toList();
    List<String> expected = new ArrayList<>();
    main.forEach(e -> expected.add(e.path().equals("/") ? "." : e.path().substring(1)));
    assertEquals(expected, mainNames);
    assertEquals(all.length, second.offset() + second.length(), "nothing after the last member");

    // initramfs-tools' unmkinitramfs splits it as the kernel does (early cpio archives, then the
    // rest)
    Path x = tmp.resolve("unmk");
    HostTool.ok(300, "unmkinitramfs", img.toString(), x.toString());
    assertArrayEquals(
        new byte[] {1, 2, 3, 4, 5},
        Files.readAllBytes(x.resolve("early/kernel/x86/microcode/GenuineIntel.bin")));
    int files = 0;
    for (TreeEntry e : main) {
      if (e.type() == EntryType.REGULAR) {
        try (InputStream in = e.content().open()) {
          assertArrayEquals(
              in.readAllBytes(), Files.readAllBytes(x.resolve("main" + e.path())), e.path());
        }
        files++;
      } else if (e.type() == EntryType.SYMLINK) {
        assertEquals(
            e.linkTarget(), Files.readSymbolicLink(x.resolve("main" + e.path())).toString());
      }
    }
    assertArrayEquals(
        Files.readAllBytes(x.resolve("main/usr/bin/busybox")),
        Files.readAllBytes(x.resolve("main/usr/bin/ash")));
    List<String> ls = HostTool.ok(300, "lsinitramfs", img.toString()).outText().lines().toList();
    assertTrue(
        ls.contains("kernel/x86/microcode/GenuineIntel.bin") && ls.contains("usr/bin/busybox"),
        String.join("\n", ls));
    System.out.printf(
        "initramfs (none + %s): members at %d and %d, %d bytes; unmkinitramfs extracted early + %d main files%n",
        tool, first.offset(), second.offset(), all.length, files);
  }

  @Test
  void hostTreesInAnotherOrderWithOtherMtimesAndOwnersGiveIdenticalFiles() throws Exception {
    Path a = makeHostTree(tmp.resolve("a"), false, 1_000_000_000L, 0);
    Path b = makeHostTree(tmp.resolve("b"), true, 1_600_000_000L, 4242);
    for (Compression c : Compression.values()) {
      CpioWriter w = CpioWriter.of(c).withMtime(Fixtures.EPOCH);
      Path outA = tmp.resolve("a." + c);
      Path outB = tmp.resolve("b." + c);
      w.write(hostTree(a, false), outA);
      w.write(hostTree(b, true), outB);
      assertArrayEquals(Files.readAllBytes(outA), Files.readAllBytes(outB), c.toString());
      if (c == Compression.NONE) {
        String listing =
            HostTool.ok(300, "cpio", "-itvn", "--quiet", "-F", outA.toString()).outText();
        assertFalse(listing.contains("4242"), "host owner leaked:\n" + listing);
      }
    }
  }

  @Test
  void vanishingOrChangingFilesFailNamingTheItemAndLeaveNoOutput() throws Exception {
    Path src = makeHostTree(tmp.resolve("src"), false, 1_000_000_000L, 0);
    Path out = tmp.resolve("out.cpio.zst");
    FileTree tree = hostTree(src, false);
    Files.delete(src.resolve("etc/hostname"));
    CpioEntryException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            CpioEntryException.class, () -> CpioWriter.of(Compression.ZSTD).write(tree, out));
    assertEquals("/etc/hostname", e.path());
    assertTrue(e.getMessage().contains(src.resolve("etc/hostname").toString()), e.getMessage());
    assertFalse(Files.exists(out));

    FileTree tree2 = hostTree(src.resolve("usr").getParent(), false);
    Files.write(src.resolve("usr/bin/tool"), new byte[70_000]); // grows after the tree was made
    e =
        org.junit.jupiter.api.Assertions.assertThrows(
            CpioEntryException.class, () -> CpioWriter.of(Compression.XZ).write(tree2, out));
    assertEquals("/usr/bin/tool", e.path());
    assertTrue(e.getMessage().contains("changed while being read"), e.getMessage());
    assertFalse(Files.exists(out));
    try (var l = Files.list(tmp)) {
      assertEquals(List.of(src), l.toList(), "no temporary file left");
    }
  }

  private static Path makeHostTree(Path root, boolean reverse, long mtime, int owner)
      throws IOException {
    List<String> files =
        new ArrayList<>(List.of("etc/hostname", "usr/bin/tool", "usr/lib/libx.so", "init"));
    if (reverse) {
      java.util.Collections.reverse(files);
    }
    for (String f : files) {
      Path p = root.resolve(f);
      Files.createDirectories(p.getParent());
      byte[] data = new byte[f.length() * 1000];
      Arrays.fill(data, (byte) f.charAt(0));
      Files.write(p, data);
      Files.setLastModifiedTime(p, FileTime.from(Instant.ofEpochSecond(mtime++)));
      Files.setAttribute(p, "unix:uid", owner);
      Files.setAttribute(p, "unix:gid", owner);
    }
    return root;
  }

  /**
   * An image tree from a host directory: content from the files, attributes from the plan, not the
   * host.
   */
  private static FileTree hostTree(Path root, boolean reverse) throws IOException {
    List<Path> paths;
    try (var s = Files.walk(root)) {
      paths = new ArrayList<>(s.toList());
    }
    if (reverse) {
      java.util.Collections.reverse(paths);
    }
    FileTree.Builder b = FileTree.builder();
    for (Path p : paths) {
      String in = "/" + root.relativize(p).toString();
      if (Files.isDirectory(p, NOFOLLOW)) {
        b.put(TreeEntry.directory(in));
      } else {
        b.put(
            TreeEntry.regular(in, Content.ofFile(p))
                .withMode(in.contains("bin") || in.equals("/init") ? 0755 : 0644)
                .withMtime(Files.getLastModifiedTime(p).toMillis() / 1000));
      }
    }
    return b.build();
  }

  private static String expectedSize(FileTree tree, TreeEntry e) throws IOException {
    switch (e.type()) {
      case BLOCK_DEVICE:
      case CHAR_DEVICE:
        return e.devMajor() + ", " + e.devMinor();
      case SYMLINK:
        return String.valueOf(
            e.linkTarget().getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
      case REGULAR:
      case HARDLINK:
        {
          String key = e.type() == EntryType.HARDLINK ? e.linkTarget() : e.path();
          String last = key;
          for (TreeEntry o : tree) {
            if (o.path().equals(key)
                || (o.type() == EntryType.HARDLINK && o.linkTarget().equals(key))) {
              last = o.path();
            }
          }
          return e.path().equals(last) ? String.valueOf(tree.get(key).size()) : "0";
        }
      default:
        return "0";
    }
  }

  private static int typeBits(EntryType t) {
    switch (t) {
      case DIRECTORY:
        return 0040000;
      case REGULAR:
      case HARDLINK:
        return 0100000;
      case SYMLINK:
        return 0120000;
      case BLOCK_DEVICE:
        return 0060000;
      case CHAR_DEVICE:
        return 0020000;
      case FIFO:
        return 0010000;
      case SOCKET:
        return 0140000;
      default:
        throw new AssertionError(t);
    }
  }

  private static String modeString(TreeEntry e) {
    char type;
    switch (e.type()) {
      case DIRECTORY:
        type = 'd';
        break;
      case SYMLINK:
        type = 'l';
        break;
      case BLOCK_DEVICE:
        type = 'b';
        break;
      case CHAR_DEVICE:
        type = 'c';
        break;
      case FIFO:
        type = 'p';
        break;
      case SOCKET:
        type = 's';
        break;
      default:
        type = '-';
    }
    int m = e.mode();
    StringBuilder s = new StringBuilder().append(type);
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      s.append((m & (0400 >> i)) != 0 ? rwx.charAt(i) : '-');
    }
    if ((m & 04000) != 0) s.setCharAt(3, (m & 0100) != 0 ? 's' : 'S');
    if ((m & 02000) != 0) s.setCharAt(6, (m & 010) != 0 ? 's' : 'S');
    if ((m & 01000) != 0) s.setCharAt(9, (m & 01) != 0 ? 't' : 'T');
    return s.toString();
  }
}
