package io.basalt.image.cpio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.ZstdInputStream;
import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.ContentChangedException;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;
import org.junit.jupiter.api.Test;
import org.tukaani.xz.XZInputStream;

/** The newc writer, read back with commons-compress's reader (in memory, jimfs). */
class CpioWriterTest {

  @Test
  void entriesComeInTreeOrderWithTheTreesAttributes() throws IOException {
    FileTree tree = Fixtures.tree(Fixtures.entries(0), 0);
    Map<String, Read> read =
        readAll(write(CpioWriter.of(Compression.NONE).withMtime(Fixtures.EPOCH), tree));
    List<String> expectedOrder = new ArrayList<>();
    for (TreeEntry e : tree) {
      expectedOrder.add(e.path().equals("/") ? "." : e.path().substring(1));
    }
    assertEquals(expectedOrder, new ArrayList<>(read.keySet()));

    Read root = read.get(".");
    assertEquals(CpioConstants.C_ISDIR | 0755, root.entry.getMode());
    assertEquals(2 + 5, root.entry.getNumberOfLinks()); // bin dev etc tmp usr
    Read conf = read.get("etc/conf.d/net");
    assertEquals(CpioConstants.C_ISREG | 0600, conf.entry.getMode());
    assertEquals(1000, conf.entry.getUID());
    assertEquals(100, conf.entry.getGID());
    assertEquals("ip=dhcp\n", new String(conf.data, StandardCharsets.UTF_8));
    assertEquals(CpioConstants.C_ISDIR | 01777, read.get("tmp").entry.getMode());
    assertEquals("x", new String(read.get("etc/größe-ünïcode").data, StandardCharsets.UTF_8));
    Read console = read.get("dev/console");
    assertEquals(CpioConstants.C_ISCHR | 0600, console.entry.getMode());
    assertEquals(5, console.entry.getRemoteDeviceMaj());
    assertEquals(1, console.entry.getRemoteDeviceMin());
    assertEquals(CpioConstants.C_ISBLK | 0660, read.get("dev/sda1").entry.getMode());
    assertEquals(6, read.get("dev/sda1").entry.getGID());
    assertEquals(CpioConstants.C_ISFIFO | 0644, read.get("dev/initctl").entry.getMode());
    assertEquals(CpioConstants.C_ISSOCK | 0666, read.get("dev/log").entry.getMode());
    Read ls = read.get("bin/ls");
    assertEquals(CpioConstants.C_ISLNK | 0777, ls.entry.getMode());
    assertEquals("../usr/bin/busybox", new String(ls.data, StandardCharsets.UTF_8));
    for (Read r : read.values()) {
      assertEquals(Fixtures.EPOCH, r.entry.getTime(), r.entry.getName());
      assertEquals(0, r.entry.getDeviceMaj(), r.entry.getName());
      assertEquals(0, r.entry.getDeviceMin(), r.entry.getName());
    }
  }

  @Test
  void hardLinksShareTheInodeAndTheLastNameCarriesTheData() throws IOException {
    FileTree tree = Fixtures.tree(Fixtures.entries(0), 0);
    Map<String, Read> read = readAll(write(CpioWriter.of(Compression.NONE), tree));
    Read ash = read.get("usr/bin/ash");
    Read busybox = read.get("usr/bin/busybox");
    Read sh = read.get("usr/bin/sh");
    assertEquals(busybox.entry.getInode(), ash.entry.getInode());
    assertEquals(busybox.entry.getInode(), sh.entry.getInode());
    for (Read r : List.of(ash, busybox, sh)) {
      assertEquals(3, r.entry.getNumberOfLinks());
      assertEquals(CpioConstants.C_ISREG | 04755, r.entry.getMode()); // the target's attributes
    }
    assertEquals(0, ash.data.length);
    assertEquals(0, busybox.data.length);
    assertEquals(200_000, sh.data.length); // "sh" sorts last
    assertArrayEquals(readContent(tree.get("/usr/bin/busybox").content()), sh.data);
    // the tree's own mtime is kept when no fixed mtime is given
    assertEquals(tree.get("/usr/bin/busybox").mtime(), ash.entry.getTime());
  }

  @Test
  void sameContentInAnotherOrderGivesIdenticalBytes() throws IOException {
    for (Compression c : Compression.values()) {
      CpioWriter w = CpioWriter.of(c).withMtime(Fixtures.EPOCH);
      byte[] a = write(w, Fixtures.tree(Fixtures.entries(0), 1_000));
      byte[] b = write(w, Fixtures.tree(Fixtures.entries(99), 5_000_000));
      assertArrayEquals(a, b, c.name());
    }
  }

  @Test
  void compressedFormsDecompressToTheSameArchive() throws IOException {
    FileTree tree = Fixtures.tree(Fixtures.entries(0), 0);
    byte[] plain = write(CpioWriter.of(Compression.NONE), tree);
    assertEquals(0, plain.length % 512);
    assertArrayEquals(
        plain, unpack(new GZIPInputStream(in(write(CpioWriter.of(Compression.GZIP), tree)))));
    assertArrayEquals(
        plain,
        unpack(new ZstdInputStream(in(write(CpioWriter.of(Compression.ZSTD).withLevel(3), tree)))));
    byte[] xz = write(CpioWriter.of(Compression.XZ), tree);
    assertEquals(0x01, xz[7], "xz stream flags: check type CRC32");
    assertArrayEquals(plain, unpack(new XZInputStream(in(xz))));
  }

  @Test
  void unrepresentableNamesAreRefusedNamingTheEntry() {
    String longComponent = "/" + "n".repeat(256);
    CpioEntryException e =
        assertThrows(
            CpioEntryException.class,
            () ->
                write(
                    CpioWriter.of(Compression.NONE),
                    tree(TreeEntry.regular(longComponent, Content.ofBytes(new byte[1])))));
    assertEquals(longComponent, e.path());
    assertTrue(e.getMessage().contains("longer than 255"), e.getMessage());

    StringBuilder deep = new StringBuilder();
    FileTree.Builder b = FileTree.builder();
    while (deep.length() < 4100) {
      deep.append('/').append("d".repeat(200));
      b.put(TreeEntry.directory(deep.toString()));
    }
    e =
        assertThrows(
            CpioEntryException.class, () -> write(CpioWriter.of(Compression.NONE), b.build()));
    assertTrue(e.getMessage().contains("longer than 4095"), e.getMessage());

    e =
        assertThrows(
            CpioEntryException.class,
            () -> write(CpioWriter.of(Compression.NONE), tree(TreeEntry.directory("/TRAILER!!!"))));
    assertEquals("/TRAILER!!!", e.path());

    e =
        assertThrows(
            CpioEntryException.class,
            () ->
                write(
                    CpioWriter.of(Compression.NONE),
                    tree(
                        TreeEntry.regular("/ping", Content.ofBytes(new byte[1]))
                            .withXattrs(Map.of("security.capability", new byte[] {1})))));
    assertTrue(
        e.getMessage().startsWith("/ping: has extended attributes [security.capability]"),
        e.getMessage());

    e =
        assertThrows(
            CpioEntryException.class,
            () ->
                write(
                    CpioWriter.of(Compression.NONE),
                    tree(TreeEntry.directory("/old").withMtime(-1))));
    assertTrue(e.getMessage().startsWith("/old: mtime -1"), e.getMessage());
  }

  @Test
  void droppedXattrsAreOptIn() throws IOException {
    FileTree t =
        tree(
            TreeEntry.regular("/ping", Content.ofBytes(new byte[1]))
                .withXattrs(Map.of("security.capability", new byte[] {1})));
    Map<String, Read> read = readAll(write(CpioWriter.of(Compression.NONE).withXattrsDropped(), t));
    assertEquals(List.of(".", "ping"), new ArrayList<>(read.keySet()));
  }

  @Test
  void contentThatChangesSizeIsAnErrorNamingBothPaths() {
    Content lying =
        new Content() {
          @Override
          public long size() {
            return 10;
          }

          @Override
          public InputStream open() {
            return new ByteArrayInputStream(new byte[7]);
          }

          @Override
          public String toString() {
            return "/host/src/file";
          }
        };
    CpioEntryException e =
        assertThrows(
            CpioEntryException.class,
            () ->
                write(
                    CpioWriter.of(Compression.GZIP), tree(TreeEntry.regular("/etc/file", lying))));
    assertEquals("/etc/file", e.path());
    assertTrue(e.getCause() instanceof ContentChangedException, String.valueOf(e.getCause()));
    assertTrue(e.getMessage().contains("/host/src/file"), e.getMessage());
  }

  @Test
  void fileOutputIsAtomic() throws IOException {
    try (FileSystem fs =
        Jimfs.newFileSystem(
            Configuration.unix().toBuilder()
                .setAttributeViews("basic", "owner", "posix", "unix")
                .build())) {
      Path dir = Files.createDirectory(fs.getPath("/out"));
      Path vanishing = Files.write(fs.getPath("/src"), new byte[100]);
      FileTree t = tree(TreeEntry.regular("/a", Content.ofFile(vanishing)));
      Path target = dir.resolve("initramfs.cpio");
      long n = CpioWriter.of(Compression.ZSTD).write(t, target);
      assertEquals(Files.size(target), n);
      assertEquals(
          "rw-r--r--",
          java.nio.file.attribute.PosixFilePermissions.toString(
              Files.getPosixFilePermissions(target)));

      Files.delete(vanishing);
      Path other = dir.resolve("other.cpio");
      CpioEntryException e =
          assertThrows(
              CpioEntryException.class, () -> CpioWriter.of(Compression.ZSTD).write(t, other));
      assertEquals("/a", e.path());
      assertTrue(e.getMessage().contains("/src"), e.getMessage());
      assertFalse(Files.exists(other));
      try (var l = Files.list(dir)) {
        assertEquals(List.of(target), l.toList(), "no temporary file left");
      }
    }
  }

  @Test
  void initramfsMembersAreFourByteAlignedAndComplete() throws IOException {
    FileTree early =
        tree(
            TreeEntry.regular(
                "/kernel/x86/microcode/GenuineIntel.bin", Content.ofBytes(new byte[1234])));
    FileTree main = Fixtures.tree(Fixtures.entries(0), 0);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<InitramfsWriter.Member> members =
        InitramfsWriter.empty()
            .add(early, CpioWriter.of(Compression.NONE))
            .add(main, CpioWriter.of(Compression.GZIP))
            .add(early, CpioWriter.of(Compression.XZ))
            .writeTo(out);
    assertEquals(3, members.size());
    assertEquals(0, members.get(0).offset());
    long end = 0;
    for (InitramfsWriter.Member m : members) {
      assertEquals(0, m.offset() % 4, m.toString());
      assertTrue(m.offset() >= end);
      end = m.offset() + m.length();
    }
    assertEquals(end, out.size(), "nothing after the last member");
    byte[] all = out.toByteArray();
    InitramfsWriter.Member second = members.get(1);
    byte[] mainBytes =
        Arrays.copyOfRange(all, (int) second.offset(), (int) (second.offset() + second.length()));
    assertArrayEquals(
        write(CpioWriter.of(Compression.NONE), main), unpack(new GZIPInputStream(in(mainBytes))));
  }

  private static FileTree tree(TreeEntry e) {
    return FileTree.builder().putWithParents(e).build();
  }

  static byte[] write(CpioWriter w, FileTree tree) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    long n = w.write(tree, out);
    assertEquals(out.size(), n);
    return out.toByteArray();
  }

  private static InputStream in(byte[] b) {
    return new ByteArrayInputStream(b);
  }

  private static byte[] unpack(InputStream in) throws IOException {
    try (in) {
      return in.readAllBytes();
    }
  }

  private static byte[] readContent(Content c) throws IOException {
    try (InputStream in = c.open()) {
      return in.readAllBytes();
    }
  }

  private static final class Read {
    CpioArchiveEntry entry;
    byte[] data;
  }

  private static Map<String, Read> readAll(byte[] archive) throws IOException {
    Map<String, Read> out = new LinkedHashMap<>();
    try (CpioArchiveInputStream in = new CpioArchiveInputStream(in(archive), "UTF-8")) {
      CpioArchiveEntry e;
      while ((e = in.getNextCPIOEntry()) != null) {
        Read r = new Read();
        r.entry = e;
        r.data = in.readAllBytes();
        assertNull(out.put(e.getName(), r), "duplicate " + e.getName());
      }
    }
    return out;
  }
}
