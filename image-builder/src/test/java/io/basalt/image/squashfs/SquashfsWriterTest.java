package io.basalt.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.testfixtures.CountingChannel;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.DirectoryTreeReader;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.verity.VerityChannel;
import io.basalt.image.verity.VerityResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class SquashfsWriterTest {
  static final long EPOCH = 1704067200L;

  private static FileSystem jimfs() {
    return Jimfs.newFileSystem(
        Configuration.unix().toBuilder()
            .setAttributeViews("basic", "owner", "posix", "unix")
            .build());
  }

  private static byte[] data(int seed, int size) {
    byte[] b = new byte[size];
    Random r = new Random(seed);
    for (int i = 0; i < size; i++) {
      b[i] = (byte) ("abcdefgh".charAt(r.nextInt(8)) + (i % 977 == 0 ? r.nextInt(100) : 0));
    }
    return b;
  }

  /**
   * Creates the same content in {@code root}, in the given order of files, stamping each with
   * {@code mtime}.
   */
  private static void populate(Path root, boolean reversed, long mtime) throws IOException {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      order.add(i);
    }
    if (reversed) {
      Collections.reverse(order);
    }
    for (int i : order) {
      Path dir = root.resolve("d" + (i % 5)).resolve("sub" + (i % 3));
      Files.createDirectories(dir);
      Path f = dir.resolve("file-" + i);
      Files.write(f, data(i, i * 7919 % 300000));
      Files.setLastModifiedTime(f, FileTime.from(mtime + i, java.util.concurrent.TimeUnit.SECONDS));
    }
    Files.createSymbolicLink(root.resolve("link"), root.getFileSystem().getPath("d4/sub1/file-4"));
    Files.createLink(root.resolve("d0/hard"), root.resolve("d3/sub0/file-3"));
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.collect(Collectors.toList())) {
        FileTime t = FileTime.from(mtime, java.util.concurrent.TimeUnit.SECONDS);
        Files.getFileAttributeView(
                p,
                java.nio.file.attribute.BasicFileAttributeView.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS)
            .setTimes(t, t, t);
      }
    }
  }

  private static FileTree normalizedOwners(FileTree t) {
    return t.map(e -> e.withOwner(0, 0));
  }

  private static byte[] build(FileTree tree, SquashfsOptions o, FileSystem fs) throws IOException {
    Path out = fs.getPath("/out/image-" + System.nanoTime() + ".sqfs");
    Files.createDirectories(out.getParent());
    Images.write(new SquashfsWriter(o), tree, out);
    return Files.readAllBytes(out);
  }

  @Test
  void aNonDefaultLevelIsWrittenAsCompressorOptions() throws IOException {
    try (FileSystem fs = jimfs()) {
      Path a = fs.getPath("/a");
      populate(a, false, 1000);
      FileTree t =
          normalizedOwners(DirectoryTreeReader.create(DirectoryTreeReader.Xattrs.NONE).read(a));
      SquashfsOptions o = SquashfsOptions.builder().mtime(EPOCH).level(3).build();
      byte[] viaFile = build(t, o, fs);
      // squashfs_fs.h: an uncompressed metadata block (0x8000 | 4) holding the zstd level, after
      // the superblock
      ByteBuffer head = ByteBuffer.wrap(viaFile).order(ByteOrder.LITTLE_ENDIAN);
      assertEquals(0x8000 | 4, head.getShort(SquashfsWriter.SUPERBLOCK_SIZE) & 0xffff);
      assertEquals(3, head.getInt(SquashfsWriter.SUPERBLOCK_SIZE + 2));
    }
  }

  @Test
  void sameContentInDifferentOrderWithDifferentTimesAndOwnersGivesIdenticalBytes()
      throws IOException {
    try (FileSystem fs = jimfs()) {
      Path a = fs.getPath("/a");
      Path b = fs.getPath("/b");
      populate(a, false, 1000);
      populate(b, true, 2_000_000_000L);
      DirectoryTreeReader r = DirectoryTreeReader.create(DirectoryTreeReader.Xattrs.NONE);
      FileTree ta = normalizedOwners(r.read(a));
      FileTree tb = normalizedOwners(r.read(b)).map(e -> e.withMtime(e.mtime() + 12345));
      assertEquals(EntryType.HARDLINK, ta.get("/d3/sub0/file-3").type());
      SquashfsOptions o = SquashfsOptions.builder().mtime(EPOCH).threads(3).build();
      byte[] ia = build(ta, o, fs);
      byte[] ib = build(tb, SquashfsOptions.builder().mtime(EPOCH).threads(1).build(), fs);
      assertTrue(ia.length > 4096);
      assertArrayEquals(ia, ib);
    }
  }

  @Test
  void superblockRecordsTheLayout() throws IOException {
    FileTree t =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular(
                    "/etc/hostname", Content.ofBytes("basalt\n".getBytes(StandardCharsets.UTF_8))))
            .putWithParents(TreeEntry.symlink("/bin", "usr/bin"))
            .build();
    try (FileSystem fs = jimfs()) {
      for (SquashfsCompression c : SquashfsCompression.values()) {
        byte[] img = build(t, SquashfsOptions.builder().compression(c).mtime(EPOCH).build(), fs);
        ByteBuffer sb = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0x73717368, sb.getInt(0));
        assertEquals(4, sb.getInt(4), "inodes: /, /etc, /etc/hostname, /bin");
        assertEquals((int) EPOCH, sb.getInt(8));
        assertEquals(131072, sb.getInt(12));
        assertEquals(1, sb.getInt(16), "one fragment block");
        assertEquals(c.id(), sb.getShort(20));
        assertEquals(17, sb.getShort(22));
        assertEquals(1, sb.getShort(26), "one id (root)");
        assertEquals(4, sb.getShort(28));
        long bytesUsed = sb.getLong(40);
        assertEquals((bytesUsed + 4095) / 4096 * 4096, img.length);
        assertEquals(-1L, sb.getLong(56), "no xattr table");
        assertTrue(sb.getLong(64) < sb.getLong(72), "inode table before directory table");
      }
    }
  }

  @Test
  void fileThatChangesWhileBeingReadIsNamed() throws IOException {
    try (FileSystem fs = jimfs()) {
      Path src = fs.getPath("/src");
      Files.createDirectories(src);
      Files.write(src.resolve("stable"), data(1, 5000));
      Files.write(src.resolve("shrinks"), data(2, 400000));
      Files.write(src.resolve("vanishes"), data(3, 100));
      FileTree t = DirectoryTreeReader.create(DirectoryTreeReader.Xattrs.NONE).read(src);
      Files.write(src.resolve("shrinks"), data(2, 1000));
      Path out = fs.getPath("/out/image.sqfs");
      Files.createDirectories(out.getParent());
      SquashfsWriter w = new SquashfsWriter(SquashfsOptions.defaults(EPOCH));
      IOException e = assertThrows(IOException.class, () -> Images.write(w, t, out));
      assertTrue(e.getMessage().contains("/shrinks"), e.getMessage());
      Files.write(src.resolve("shrinks"), data(2, 400000));
      Files.delete(src.resolve("vanishes"));
      IOException v = assertThrows(IOException.class, () -> Images.write(w, t, out));
      assertTrue(v.getMessage().contains("/vanishes"), v.getMessage());

      Files.write(src.resolve("vanishes"), data(3, 101));
      IOException g = assertThrows(IOException.class, () -> Images.write(w, t, out));
      assertTrue(g.getMessage().contains("/vanishes"), g.getMessage());
    }
  }

  @Test
  void unrepresentableInputIsRejectedNamingTheEntry() {
    FileTree longName =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular("/d/" + "n".repeat(257), Content.ofBytes(new byte[1])))
            .build();
    FileTree acl =
        FileTree.builder()
            .putWithParents(
                TreeEntry.directory("/d")
                    .withXattrs(Map.of("system.posix_acl_access", new byte[4])))
            .build();
    SquashfsWriter w = new SquashfsWriter(SquashfsOptions.defaults(EPOCH));
    IOException a = assertThrows(IOException.class, () -> Images.bytes(w, longName));
    assertTrue(a.getMessage().contains("/d/nnn"), a.getMessage());
    IOException b = assertThrows(IOException.class, () -> Images.bytes(w, acl));
    assertTrue(b.getMessage().startsWith("/d: "), b.getMessage());
  }

  @Test
  void duplicatesAndZeroBlocksAreStoredOnce() throws IOException {
    byte[] big = data(9, 3 * 131072 + 500);
    byte[] zeros = new byte[4 * 131072];
    FileTree t =
        FileTree.builder()
            .putWithParents(TreeEntry.regular("/a", Content.ofBytes(big)))
            .putWithParents(TreeEntry.regular("/b", Content.ofBytes(big)))
            .putWithParents(TreeEntry.regular("/z", Content.ofBytes(zeros)))
            .build();
    try (FileSystem fs = jimfs()) {
      Path out = fs.getPath("/x.sqfs");
      SquashfsResult r =
          Images.write(
              new SquashfsWriter(
                  SquashfsOptions.builder()
                      .mtime(EPOCH)
                      .compression(SquashfsCompression.GZIP)
                      .build()),
              t,
              out);
      assertEquals(1, r.duplicateFiles());
      assertEquals(3, r.dataBlocks());
      assertEquals(4, r.sparseBlocks());
      assertEquals(1, r.fragments());
    }
  }

  @Test
  void hashingWhileWritingGivesTheRootHashOfTheFinishedImageAndReadsBackOneBlock()
      throws IOException {
    // Duplicate multi-block files make the writer drop blocks it already wrote (cut back and
    // rewritten),
    // and the superblock is patched at offset 0 at the end: both must leave the hashes right.
    byte[] big = data(9, 3 * 131072 + 500);
    FileTree.Builder b =
        FileTree.builder()
            .putWithParents(TreeEntry.regular("/a", Content.ofBytes(big)))
            .putWithParents(TreeEntry.regular("/b", Content.ofBytes(big)))
            .putWithParents(TreeEntry.regular("/z", Content.ofBytes(new byte[2 * 131072])));
    for (int i = 0; i < 30; i++) {
      b.putWithParents(
          TreeEntry.regular("/d/f" + i, Content.ofBytes(data(100 + i, 1000 + i * 4099))));
    }
    b.putWithParents(TreeEntry.regular("/e/copy", Content.ofBytes(big)));
    FileTree t = b.build();
    SquashfsOptions o =
        SquashfsOptions.builder()
            .mtime(EPOCH)
            .compression(SquashfsCompression.GZIP)
            .threads(2)
            .build();
    String seed = "squashfs-verity-test";
    try (FileSystem fs = jimfs()) {
      Path plain = fs.getPath("/plain.img");
      SquashfsResult r = Images.write(new SquashfsWriter(o), t, plain);
      assertEquals(2, r.duplicateFiles());
      // reference: the finished image written in one sequential pass, nothing patched
      VerityResult after;
      try (VerityChannel ch =
          VerityChannel.fromSeed(
              Files.newByteChannel(
                  fs.getPath("/after.img"),
                  StandardOpenOption.CREATE_NEW,
                  StandardOpenOption.READ,
                  StandardOpenOption.WRITE),
              seed)) {
        ch.write(ByteBuffer.wrap(Files.readAllBytes(plain)));
        after = ch.appendHashTree();
      }

      Path hashed = fs.getPath("/hashed.img");
      VerityResult during;
      long readBack;
      try (SeekableByteChannel raw =
              Files.newByteChannel(
                  hashed,
                  StandardOpenOption.CREATE_NEW,
                  StandardOpenOption.READ,
                  StandardOpenOption.WRITE);
          CountingChannel counting = new CountingChannel(raw);
          VerityChannel ch = VerityChannel.fromSeed(counting, seed)) {
        SquashfsResult r2 = new SquashfsWriter(o).writeSeekable(t, ch);
        assertEquals(r.imageSize(), r2.imageSize());
        during = ch.appendHashTree();
        readBack = counting.bytesRead();
      }
      assertEquals(after.rootHashHex(), during.rootHashHex());
      assertEquals(after.hashOffset(), during.hashOffset());
      assertArrayEquals(Files.readAllBytes(fs.getPath("/after.img")), Files.readAllBytes(hashed));
      // the superblock's block, and per dropped duplicate the bytes before the cut in its block
      assertTrue(readBack >= 4096 && readBack < 3 * 4096, "read back " + readBack + " bytes");
    }
  }

  @Test
  void optionsAreChecked() {
    assertThrows(IllegalArgumentException.class, () -> SquashfsOptions.builder().blockSize(100000));
    assertThrows(IllegalArgumentException.class, () -> SquashfsOptions.builder().level(30).build());
    assertThrows(IllegalArgumentException.class, () -> SquashfsOptions.builder().mtime(-1));
    assertEquals(15, SquashfsOptions.defaults(0).level());
  }
}
