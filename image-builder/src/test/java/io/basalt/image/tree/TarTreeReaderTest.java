package io.basalt.image.tree;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TarTreeReaderTest {

  /** A tiny ustar/pax writer, so the fixture is generated here (binary xattrs included). */
  static final class TarBuilder {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    TarBuilder entry(
        String name,
        char type,
        int mode,
        int uid,
        int gid,
        long mtime,
        String link,
        int major,
        int minor,
        byte[] data)
        throws IOException {
      byte[] h = new byte[512];
      put(h, 0, 100, name.getBytes(StandardCharsets.UTF_8));
      octal(h, 100, 8, mode);
      octal(h, 108, 8, uid);
      octal(h, 116, 8, gid);
      octal(h, 124, 12, data.length);
      octal(h, 136, 12, mtime);
      h[156] = (byte) type;
      put(h, 157, 100, link.getBytes(StandardCharsets.UTF_8));
      put(h, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
      put(h, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
      octal(h, 329, 8, major);
      octal(h, 337, 8, minor);
      for (int i = 148; i < 156; i++) {
        h[i] = ' ';
      }
      int sum = 0;
      for (byte b : h) {
        sum += b & 0xff;
      }
      octal(h, 148, 7, sum);
      out.write(h);
      out.write(data);
      out.write(new byte[(512 - data.length % 512) % 512]);
      return this;
    }

    TarBuilder pax(Map<String, byte[]> records) throws IOException {
      ByteArrayOutputStream r = new ByteArrayOutputStream();
      for (Map.Entry<String, byte[]> e : records.entrySet()) {
        byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
        int body = 1 + k.length + 1 + e.getValue().length + 1;
        int len = body + 1;
        while (Integer.toString(len).length() + body != len) {
          len++;
        }
        r.write(Integer.toString(len).getBytes(StandardCharsets.US_ASCII));
        r.write(' ');
        r.write(k);
        r.write('=');
        r.write(e.getValue());
        r.write('\n');
      }
      return entry("PaxHeaders/x", 'x', 0644, 0, 0, 0, "", 0, 0, r.toByteArray());
    }

    byte[] finish() throws IOException {
      out.write(new byte[1024]);
      return out.toByteArray();
    }

    private static void put(byte[] h, int off, int len, byte[] v) {
      System.arraycopy(v, 0, h, off, Math.min(len, v.length));
    }

    private static void octal(byte[] h, int off, int len, long v) {
      String s = Long.toOctalString(v);
      while (s.length() < len - 1) {
        s = "0" + s;
      }
      put(h, off, len - 1, s.getBytes(StandardCharsets.US_ASCII));
    }
  }

  @Test
  void readsEveryEntryTypeAndBinaryXattrsWithoutExtracting() throws IOException {
    byte[] cap = {1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    byte[] invalidUtf8 = {(byte) 0xff, 0, (byte) 0x80, (byte) 0xc3, '\n', '='};
    byte[] ping = "ping binary".getBytes(StandardCharsets.UTF_8);
    byte[] big = new byte[70000];
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31);
    }
    byte[] tar =
        new TarBuilder()
            .entry("./", '5', 0755, 0, 0, 100, "", 0, 0, new byte[0])
            .entry("./usr/", '5', 0755, 0, 0, 100, "", 0, 0, new byte[0])
            .entry("./usr/bin/", '5', 0755, 0, 0, 100, "", 0, 0, new byte[0])
            .pax(
                Map.of(
                    "SCHILY.xattr.security.capability", cap, "SCHILY.xattr.user.bin", invalidUtf8))
            .entry("./usr/bin/ping", '0', 04755, 0, 0, 200, "", 0, 0, ping)
            .pax(
                Map.of(
                    "LIBARCHIVE.xattr.user.b%3Da64",
                    Base64.getEncoder().withoutPadding().encode(invalidUtf8)))
            .entry("./usr/bin/big", '0', 0644, 1000, 100, 300, "", 0, 0, big)
            .entry("./usr/bin/ping6", '1', 04755, 0, 0, 200, "./usr/bin/ping", 0, 0, new byte[0])
            .entry("./usr/bin/sh", '2', 0777, 0, 0, 200, "dash", 0, 0, new byte[0])
            .entry("./dev/null", '3', 0666, 0, 0, 200, "", 1, 3, new byte[0])
            .entry("./dev/sda", '4', 0660, 0, 6, 200, "", 8, 0, new byte[0])
            .entry("./dev/initctl", '6', 0600, 0, 0, 200, "", 0, 0, new byte[0])
            .finish();
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/rootfs.tar");
      Files.write(p, tar);
      FileTree t = TarTreeReader.read(p);
      TreeEntry pingE = t.get("/usr/bin/ping");
      assertEquals(EntryType.REGULAR, pingE.type());
      assertEquals(04755, pingE.mode());
      assertEquals(200, pingE.mtime());
      assertArrayEquals(cap, pingE.xattrs().get("security.capability"));
      assertArrayEquals(invalidUtf8, pingE.xattrs().get("user.bin"));
      try (InputStream in = pingE.content().open()) {
        assertArrayEquals(ping, in.readAllBytes());
      }
      TreeEntry bigE = t.get("/usr/bin/big");
      assertEquals(1000, bigE.uid());
      assertEquals(100, bigE.gid());
      assertArrayEquals(invalidUtf8, bigE.xattrs().get("user.b=a64"));
      try (InputStream in = bigE.content().open()) {
        assertArrayEquals(big, in.readAllBytes());
      }
      assertEquals(EntryType.HARDLINK, t.get("/usr/bin/ping6").type());
      assertEquals("/usr/bin/ping", t.get("/usr/bin/ping6").linkTarget());
      assertEquals("dash", t.get("/usr/bin/sh").linkTarget());
      assertEquals(EntryType.CHAR_DEVICE, t.get("/dev/null").type());
      assertEquals(3, t.get("/dev/null").devMinor());
      assertEquals(EntryType.BLOCK_DEVICE, t.get("/dev/sda").type());
      assertEquals(8, t.get("/dev/sda").devMajor());
      assertEquals(EntryType.FIFO, t.get("/dev/initctl").type());
      assertEquals(
          EntryType.DIRECTORY, t.get("/dev").type(), "missing parent directories are made");
      assertTrue(t.get("/usr/bin/sh").xattrs().isEmpty());

      // a tar truncated after the tree was read: reading names the entry
      Files.write(p, java.util.Arrays.copyOf(tar, 3000));
      IOException e = assertThrows(IOException.class, () -> bigE.content().open().readAllBytes());
      assertTrue(e.getMessage().contains("usr/bin/big"), e.getMessage());
    }
  }

  @Test
  void theContentIndexGivesEachFilesDigestAndOnlyForItsOwnTar() throws IOException {
    byte[] a = "alpha".getBytes(StandardCharsets.UTF_8);
    byte[] big = new byte[300_000];
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 7 + i / 1000);
    }
    byte[] tar =
        new TarBuilder()
            .entry("./usr/", '5', 0755, 0, 0, 100, "", 0, 0, new byte[0])
            .entry("./usr/a", '0', 0644, 0, 0, 100, "", 0, 0, a)
            .entry("./usr/big", '0', 0644, 0, 0, 100, "", 0, 0, big)
            .entry("./usr/empty", '0', 0644, 0, 0, 100, "", 0, 0, new byte[0])
            .entry("./usr/a2", '1', 0644, 0, 0, 100, "./usr/a", 0, 0, new byte[0])
            .finish();
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/base.tar");
      Files.write(p, tar);
      assertNull(TarTreeReader.read(p).get("/usr/a").content().sha256(), "no index yet");
      assertTrue(FileTree.indexTar(p));
      assertFalse(FileTree.indexTar(p), "made once");
      FileTree t = TarTreeReader.read(p);
      java.security.MessageDigest md = TarIndex.sha256();
      assertArrayEquals(md.digest(a), t.get("/usr/a").content().sha256());
      assertArrayEquals(md.digest(big), t.get("/usr/big").content().sha256());
      assertArrayEquals(md.digest(new byte[0]), t.get("/usr/empty").content().sha256());
      try (InputStream in = t.get("/usr/big").content().openAt(200_000)) {
        assertArrayEquals(
            java.util.Arrays.copyOfRange(big, 200_000, big.length), in.readAllBytes());
      }

      // a damaged index is ignored
      Path index = fs.getPath("/base.tar" + FileTree.INDEX_SUFFIX);
      byte[] good = Files.readAllBytes(index);
      byte[] bad = good.clone();
      bad[bad.length / 2] ^= 1;
      Files.write(index, bad);
      assertNull(TarTreeReader.read(p).get("/usr/big").content().sha256());
      Files.write(index, good);
      assertArrayEquals(md.digest(big), TarTreeReader.read(p).get("/usr/big").content().sha256());

      // another tar in its place (same size, other bytes): the index is not its index
      big[5] ^= 1;
      byte[] other =
          new TarBuilder()
              .entry("./usr/", '5', 0755, 0, 0, 100, "", 0, 0, new byte[0])
              .entry("./usr/a", '0', 0644, 0, 0, 100, "", 0, 0, a)
              .entry("./usr/big", '0', 0644, 0, 0, 100, "", 0, 0, big)
              .entry("./usr/empty", '0', 0644, 0, 0, 100, "", 0, 0, new byte[0])
              .entry("./usr/a2", '1', 0644, 0, 0, 100, "./usr/a", 0, 0, new byte[0])
              .finish();
      assertEquals(tar.length, other.length);
      Path tmp = fs.getPath("/base.tar.new");
      Files.write(tmp, other);
      Files.setLastModifiedTime(tmp, Files.getLastModifiedTime(p));
      Files.move(tmp, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      FileTree replaced = TarTreeReader.read(p);
      assertNull(replaced.get("/usr/big").content().sha256());
      assertTrue(FileTree.indexTar(p));
      assertArrayEquals(md.digest(big), TarTreeReader.read(p).get("/usr/big").content().sha256());
    }
  }

  @Test
  void parsesGetfattrOutputWithEscapedNames() throws IOException {
    String out =
        "# file: /r\n"
            + "trusted.x=0x01\n\n"
            + "# file: /r/caf\\303\\251 a\\\\b\n"
            + "security.capability=0x0100000200200000000000000000000000000000\n"
            + "user.empty=\n\n";
    Map<String, Map<String, byte[]>> m =
        DirectoryTreeReader.parseGetfattr(out.getBytes(StandardCharsets.ISO_8859_1), "/r");
    assertArrayEquals(new byte[] {1}, m.get("/").get("trusted.x"));
    Map<String, byte[]> f = m.get("/caf\u00e9 a\\b");
    assertEquals(20, f.get("security.capability").length);
    assertEquals(0, f.get("user.empty").length);
  }
}
