package io.basalt.image.iso;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

class IsoWriterTest {
  static final long EPOCH = 1_700_000_000L; // 2023-11-14 22:13:20 UTC
  static final int B = IsoWriter.BLOCK;

  static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + seed + (i >> 9));
    }
    return b;
  }

  static FileTree sample(boolean reversed) {
    List<TreeEntry> e = new ArrayList<>();
    e.add(TreeEntry.directory("/").withMtime(5));
    e.add(TreeEntry.directory("/basalt").withMtime(7));
    e.add(TreeEntry.directory("/basalt/update"));
    e.add(TreeEntry.regular("/basalt/esp.img", Content.ofBytes(bytes(64 * 1024, 1))));
    e.add(TreeEntry.regular("/basalt/update/usr.img", Content.ofBytes(bytes(5000, 2))));
    e.add(TreeEntry.regular("/basalt/update/vmlinuz", Content.ofBytes(bytes(2048, 3))));
    e.add(TreeEntry.regular("/basalt/update/payload.json", Content.ofBytes(bytes(0, 4))));
    e.add(
        TreeEntry.regular(
                "/cloud-config.yml",
                Content.ofBytes("#cloud-config\n".getBytes(StandardCharsets.UTF_8)))
            .withMtime(99)
            .withOwner(1000, 1000));
    if (reversed) {
      java.util.Collections.reverse(e);
    }
    FileTree.Builder b = FileTree.builder();
    e.forEach(b::put);
    return b.build();
  }

  static IsoWriter writer() throws IOException {
    return IsoWriter.builder()
        .volumeId("OEM")
        .sourceDateEpoch(EPOCH)
        .efiBootImage("/basalt/esp.img")
        .hybridGpt("basalt 1.0 iso", "EFI-SYSTEM")
        .build();
  }

  static byte[] write(IsoWriter w, FileTree t) throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/x.iso");
      try (SeekableByteChannel ch =
          Files.newByteChannel(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        IsoWriter.Summary s = w.write(t, ch);
        assertEquals(s.sizeBytes(), ch.size());
      }
      return Files.readAllBytes(p);
    }
  }

  static ByteBuffer le(byte[] iso) {
    return ByteBuffer.wrap(iso).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A record as read back: identifier, extent, size, flags. */
  record Rec(String id, long block, long size, int flags, byte[] date) {}

  static List<Rec> dir(byte[] iso, long block, long size, boolean joliet) {
    List<Rec> out = new ArrayList<>();
    ByteBuffer b = le(iso);
    long end = block * B + size;
    for (long pos = block * B; pos < end; ) {
      int len = iso[(int) pos] & 0xFF;
      if (len == 0) {
        pos = (pos / B + 1) * B;
        continue;
      }
      assertTrue(pos % B + len <= B, "record crosses a block boundary at " + pos);
      int p = (int) pos;
      assertEquals(b.getInt(p + 2), ByteBuffer.wrap(iso, p + 6, 4).getInt(), "both-endian extent");
      assertEquals(b.getInt(p + 10), ByteBuffer.wrap(iso, p + 14, 4).getInt(), "both-endian size");
      int idLen = iso[p + 32] & 0xFF;
      byte[] id = Arrays.copyOfRange(iso, p + 33, p + 33 + idLen);
      String name =
          idLen == 1 && id[0] < 2
              ? (id[0] == 0 ? "." : "..")
              : new String(id, joliet ? StandardCharsets.UTF_16BE : StandardCharsets.US_ASCII);
      out.add(
          new Rec(
              name,
              b.getInt(p + 2) & 0xFFFFFFFFL,
              b.getInt(p + 10) & 0xFFFFFFFFL,
              iso[p + 25],
              Arrays.copyOfRange(iso, p + 18, p + 25)));
      pos += len;
    }
    return out;
  }

  static Rec root(byte[] iso, int vdBlock) {
    ByteBuffer b = le(iso);
    int p = vdBlock * B + 156;
    return new Rec(".", b.getInt(p + 2), b.getInt(p + 10), iso[p + 25], null);
  }

  /** Walks a tree from its root record: path to record. */
  static Map<String, Rec> walk(byte[] iso, Rec dir, String path, boolean joliet) {
    Map<String, Rec> out = new LinkedHashMap<>();
    for (Rec r : dir(iso, dir.block(), dir.size(), joliet)) {
      if (r.id().equals(".") || r.id().equals("..")) {
        continue;
      }
      String p = path + "/" + r.id();
      out.put(p, r);
      if ((r.flags() & 2) != 0) {
        out.putAll(walk(iso, r, p, joliet));
      }
    }
    return out;
  }

  @Test
  void volumeDescriptors() throws IOException {
    byte[] iso = write(writer(), sample(false));
    assertEquals(0, iso.length % B);
    ByteBuffer b = le(iso);
    // PVD at 16, El Torito boot record at 17, Joliet SVD at 18, terminator at 19
    assertEquals(1, iso[16 * B]);
    assertEquals("CD001", new String(iso, 16 * B + 1, 5, StandardCharsets.US_ASCII));
    assertEquals(0, iso[17 * B]);
    assertEquals(
        "EL TORITO SPECIFICATION", new String(iso, 17 * B + 7, 23, StandardCharsets.US_ASCII));
    assertEquals(2, iso[18 * B]);
    assertEquals("%/E", new String(iso, 18 * B + 88, 3, StandardCharsets.US_ASCII));
    assertEquals((byte) 255, iso[19 * B]);
    assertEquals(
        "OEM" + " ".repeat(29), new String(iso, 16 * B + 40, 32, StandardCharsets.US_ASCII));
    assertEquals("OEM", new String(iso, 18 * B + 40, 6, StandardCharsets.UTF_16BE));
    // volume space size both-endian = the whole image; block size 2048
    assertEquals(iso.length / B, b.getInt(16 * B + 80));
    assertEquals(iso.length / B, ByteBuffer.wrap(iso, 16 * B + 84, 4).getInt());
    assertEquals(B, b.getShort(16 * B + 128));
    // dates: creation, modification, effective = the epoch; expiration unspecified
    assertEquals("2023111422132000", new String(iso, 16 * B + 813, 16, StandardCharsets.US_ASCII));
    assertEquals("2023111422132000", new String(iso, 16 * B + 830, 16, StandardCharsets.US_ASCII));
    assertEquals("0".repeat(16), new String(iso, 16 * B + 847, 16, StandardCharsets.US_ASCII));
    assertEquals("BASALT", new String(iso, 16 * B + 574, 6, StandardCharsets.US_ASCII));
  }

  @Test
  void directoryRecordsOfBothTrees() throws IOException {
    byte[] iso = write(writer(), sample(false));
    Map<String, Rec> primary = walk(iso, root(iso, 16), "", false);
    assertEquals(
        List.of(
            "/BASALT",
            "/BASALT/ESP.IMG;1",
            "/BASALT/UPDATE",
            "/BASALT/UPDATE/PAYLOAD.JSON;1",
            "/BASALT/UPDATE/USR.IMG;1",
            "/BASALT/UPDATE/VMLINUZ.;1",
            "/CLOUD_CONFIG.YML;1"),
        new ArrayList<>(primary.keySet()));
    Map<String, Rec> joliet = walk(iso, root(iso, 18), "", true);
    assertEquals(
        List.of(
            "/basalt",
            "/basalt/esp.img;1",
            "/basalt/update",
            "/basalt/update/payload.json;1",
            "/basalt/update/usr.img;1",
            "/basalt/update/vmlinuz;1",
            "/cloud-config.yml;1"),
        new ArrayList<>(joliet.keySet()));
    // both trees point at the same data, which is the files' bytes
    FileTree t = sample(false);
    String[][] pairs = {
      {"/BASALT/UPDATE/USR.IMG;1", "/basalt/update/usr.img;1", "/basalt/update/usr.img"},
      {"/BASALT/UPDATE/VMLINUZ.;1", "/basalt/update/vmlinuz;1", "/basalt/update/vmlinuz"},
      {"/CLOUD_CONFIG.YML;1", "/cloud-config.yml;1", "/cloud-config.yml"},
      {"/BASALT/ESP.IMG;1", "/basalt/esp.img;1", "/basalt/esp.img"},
    };
    for (String[] p : pairs) {
      Rec r = primary.get(p[0]);
      assertEquals(r.block(), joliet.get(p[1]).block(), p[0]);
      assertEquals(r.size(), joliet.get(p[1]).size(), p[0]);
      byte[] want = t.get(p[2]).content().open().readAllBytes();
      assertArrayEquals(
          want, Arrays.copyOfRange(iso, (int) (r.block() * B), (int) (r.block() * B + r.size())));
      assertEquals(0, r.flags());
      // every timestamp is the epoch, whatever the tree's mtimes
      assertArrayEquals(new byte[] {123, 11, 14, 22, 13, 20, 0}, r.date(), p[0]);
    }
    assertEquals(2, primary.get("/BASALT").flags());
    assertEquals(0, primary.get("/BASALT/UPDATE/PAYLOAD.JSON;1").size());
  }

  @Test
  void pathTablesListDirectoriesBreadthFirst() throws IOException {
    byte[] iso = write(writer(), sample(false));
    ByteBuffer b = le(iso);
    int size = b.getInt(16 * B + 132);
    int lBlock = b.getInt(16 * B + 140);
    int mBlock = ByteBuffer.wrap(iso, 16 * B + 148, 4).getInt();
    assertEquals(3 * 8 + 2 + 6 + 6, size); // root (1+pad), BASALT (6), UPDATE (6)
    Map<String, Rec> primary = walk(iso, root(iso, 16), "", false);
    long[] expectBlocks = {
      root(iso, 16).block(), primary.get("/BASALT").block(), primary.get("/BASALT/UPDATE").block()
    };
    String[] names = {"\0", "BASALT", "UPDATE"};
    int[] parents = {1, 1, 2};
    int lp = lBlock * B;
    int mp = mBlock * B;
    for (int i = 0; i < 3; i++) {
      int len = iso[lp] & 0xFF;
      assertEquals(names[i], new String(iso, lp + 8, len, StandardCharsets.US_ASCII));
      assertEquals(expectBlocks[i], b.getInt(lp + 2));
      assertEquals(parents[i], b.getShort(lp + 6));
      assertEquals(expectBlocks[i], ByteBuffer.wrap(iso, mp + 2, 4).getInt());
      assertEquals(parents[i], ByteBuffer.wrap(iso, mp + 6, 2).getShort());
      lp += 8 + len + (len & 1);
      mp += 8 + len + (len & 1);
    }
  }

  @Test
  void elToritoCatalogPointsAtTheBootImage() throws IOException {
    byte[] iso = write(writer(), sample(false));
    ByteBuffer b = le(iso);
    int catalog = b.getInt(17 * B + 71);
    int c = catalog * B;
    assertEquals(1, iso[c]);
    assertEquals((byte) 0xEF, iso[c + 1]);
    assertEquals(0x55, iso[c + 30]);
    assertEquals((byte) 0xAA, iso[c + 31]);
    int sum = 0;
    for (int i = 0; i < 32; i += 2) {
      sum += b.getShort(c + i) & 0xFFFF;
    }
    assertEquals(0, sum & 0xFFFF, "validation entry checksum");
    assertEquals((byte) 0x88, iso[c + 32]);
    assertEquals(0, iso[c + 33], "no emulation");
    assertEquals(64 * 1024 / 512, b.getShort(c + 38));
    Rec esp = walk(iso, root(iso, 16), "", false).get("/BASALT/ESP.IMG;1");
    assertEquals(esp.block(), b.getInt(c + 40));
  }

  @Test
  void bootImageOver32MiBHasSectorCountZero() throws IOException {
    FileTree t =
        FileTree.builder()
            .putWithParents(TreeEntry.regular("/esp.img", Content.ofBytes(new byte[65536 * 512])))
            .build();
    byte[] iso = write(IsoWriter.builder().efiBootImage("/esp.img").build(), t);
    int c = le(iso).getInt(17 * B + 71) * B;
    assertEquals(0, le(iso).getShort(c + 38));
  }

  /** A GPT header at {@code lba}, checked: signature, header CRC, entries CRC; its fields. */
  static long[] gptHeader(byte[] iso, long lba) {
    ByteBuffer h = le(iso);
    int o = (int) (lba * 512);
    assertEquals("EFI PART", new String(iso, o, 8, StandardCharsets.US_ASCII));
    byte[] hdr = Arrays.copyOfRange(iso, o, o + 92);
    Arrays.fill(hdr, 16, 20, (byte) 0);
    CRC32 crc = new CRC32();
    crc.update(hdr);
    assertEquals(crc.getValue(), h.getInt(o + 16) & 0xFFFFFFFFL, "header CRC at LBA " + lba);
    long entries = h.getLong(o + 72);
    CRC32 ecrc = new CRC32();
    ecrc.update(iso, (int) (entries * 512), 128 * 128);
    assertEquals(ecrc.getValue(), h.getInt(o + 88) & 0xFFFFFFFFL, "entries CRC at LBA " + lba);
    return new long[] {h.getLong(o + 24), h.getLong(o + 32), h.getLong(o + 40), entries};
  }

  @Test
  void hybridGptHasTheBootImageAsEsp() throws IOException {
    byte[] iso = write(writer(), sample(false));
    Rec esp = walk(iso, root(iso, 16), "", false).get("/BASALT/ESP.IMG;1");
    long last = iso.length / 512 - 1;
    long[] primary = gptHeader(iso, 1);
    assertArrayEquals(new long[] {1, last, 34, 2}, primary);
    long[] backup = gptHeader(iso, last);
    assertArrayEquals(new long[] {last, 1, 34, last - 32}, backup);
    ByteBuffer e = le(iso);
    int entry = 2 * 512;
    // type GUID c12a7328-f81f-11d2-ba4b-00a0c93ec93b in the mixed-endian EFI_GUID layout
    assertEquals(0xC12A7328, e.getInt(entry));
    assertEquals((short) 0xF81F, e.getShort(entry + 4));
    assertEquals(esp.block() * 4, e.getLong(entry + 32));
    assertEquals(esp.block() * 4 + esp.size() / 512 - 1, e.getLong(entry + 40));
    assertEquals("EFI-SYSTEM", new String(iso, entry + 56, 20, StandardCharsets.UTF_16LE));
    assertEquals(0, e.getLong(entry + 128), "one partition only");
    assertArrayEquals(
        Arrays.copyOfRange(iso, 1024, 1024 + 16384),
        Arrays.copyOfRange(iso, (int) ((last - 32) * 512), (int) (last * 512)),
        "backup entries equal the primary ones");
    // protective MBR: one 0xEE record from LBA 1, the boot signature
    assertEquals((byte) 0xEE, iso[446 + 4]);
    assertEquals(1, le(iso).getInt(446 + 8));
    assertEquals((short) 0xAA55, le(iso).getShort(510));
  }

  @Test
  void sameBytesWhateverTheTreeOrderMtimesAndOwners() throws IOException {
    byte[] a = write(writer(), sample(false));
    byte[] b = write(writer(), sample(true));
    assertArrayEquals(a, b);
    byte[] other =
        write(
            IsoWriter.builder()
                .volumeId("OEM")
                .sourceDateEpoch(EPOCH + 1)
                .efiBootImage("/basalt/esp.img")
                .hybridGpt("basalt 1.0 iso", "EFI-SYSTEM")
                .build(),
            sample(false));
    assertNotEquals(Arrays.hashCode(a), Arrays.hashCode(other));
  }

  @Test
  void plainImageWithoutBootOrGpt() throws IOException {
    byte[] iso = write(IsoWriter.builder().build(), sample(false));
    assertEquals(2, iso[17 * B], "Joliet right after the PVD");
    assertEquals((byte) 255, iso[18 * B]);
    for (int i = 0; i < 16 * B; i++) {
      assertEquals(0, iso[i], "system area is zero at " + i);
    }
  }

  @Test
  void directoriesSpanningBlocksKeepRecordsWhole() throws IOException {
    FileTree.Builder t = FileTree.builder();
    for (int i = 0; i < 200; i++) {
      t.putWithParents(
          TreeEntry.regular(
              String.format("/d/file-with-a-long-name-%03d.txt", i),
              Content.ofBytes(new byte[] {(byte) i})));
    }
    byte[] iso = write(IsoWriter.builder().build(), t.build());
    Map<String, Rec> joliet = walk(iso, root(iso, 17), "", true);
    assertEquals(201, joliet.size());
    Rec d = joliet.get("/d");
    assertTrue(d.size() > B, "directory spans blocks");
    Rec f = joliet.get("/d/file-with-a-long-name-123.txt;1");
    assertEquals(123, iso[(int) (f.block() * B)]);
  }

  @Test
  void primaryNamesAreMadeUniqueAndCutToLevel2() throws IOException {
    FileTree t =
        FileTree.builder()
            .put(TreeEntry.regular("/a-b.txt", Content.ofBytes(new byte[] {1})))
            .put(TreeEntry.regular("/a_b.txt", Content.ofBytes(new byte[] {2})))
            .put(TreeEntry.regular("/A_B.TXT", Content.ofBytes(new byte[] {3})))
            .put(TreeEntry.regular("/" + "x".repeat(40) + ".conf", Content.ofBytes(new byte[] {4})))
            .put(TreeEntry.directory("/" + "d".repeat(40)))
            .build();
    byte[] iso = write(IsoWriter.builder().build(), t);
    Map<String, Rec> primary = walk(iso, root(iso, 16), "", false);
    Map<String, Rec> joliet = walk(iso, root(iso, 17), "", true);
    // Joliet order (A_B.TXT, a-b.txt, a_b.txt) decides who keeps the plain name
    assertEquals(joliet.get("/A_B.TXT;1").block(), primary.get("/A_B.TXT;1").block());
    assertEquals(joliet.get("/a-b.txt;1").block(), primary.get("/A_B_1.TXT;1").block());
    assertEquals(joliet.get("/a_b.txt;1").block(), primary.get("/A_B_2.TXT;1").block());
    assertTrue(primary.containsKey("/" + "X".repeat(26) + ".CONF;1"), primary.keySet().toString());
    assertTrue(primary.containsKey("/" + "D".repeat(31)), primary.keySet().toString());
  }

  @Test
  void errorsNameTheEntry() throws IOException {
    FileTree link = FileTree.builder().put(TreeEntry.symlink("/l", "x")).build();
    IsoFormatException e =
        assertThrows(IsoFormatException.class, () -> write(IsoWriter.builder().build(), link));
    assertTrue(e.getMessage().startsWith("/l: symlink"), e.getMessage());

    FileTree odd =
        FileTree.builder()
            .put(TreeEntry.regular("/esp.img", Content.ofBytes(new byte[700])))
            .build();
    e =
        assertThrows(
            IsoFormatException.class,
            () -> write(IsoWriter.builder().efiBootImage("/esp.img").build(), odd));
    assertTrue(e.getMessage().contains("multiple of 512"), e.getMessage());

    e = assertThrows(IsoFormatException.class, () -> IsoWriter.builder().volumeId("oem").build());
    assertTrue(e.getMessage().contains("volume ID 'oem'"), e.getMessage());
    e =
        assertThrows(
            IsoFormatException.class, () -> IsoWriter.builder().sourceDateEpoch(-1L << 40).build());
    assertTrue(e.getMessage().contains("1900 to 2155"), e.getMessage());

    FileTree longName =
        FileTree.builder()
            .put(TreeEntry.regular("/" + "x".repeat(65), Content.ofBytes(new byte[1])))
            .build();
    e = assertThrows(IsoFormatException.class, () -> write(IsoWriter.builder().build(), longName));
    assertTrue(e.getMessage().contains("Joliet allows 64"), e.getMessage());

    FileTree colon =
        FileTree.builder().put(TreeEntry.regular("/a:b", Content.ofBytes(new byte[1]))).build();
    e = assertThrows(IsoFormatException.class, () -> write(IsoWriter.builder().build(), colon));
    assertTrue(e.getMessage().contains("/a:b: character U+003A"), e.getMessage());

    FileTree deep =
        FileTree.builder().putWithParents(TreeEntry.directory("/1/2/3/4/5/6/7/8")).build();
    e = assertThrows(IsoFormatException.class, () -> write(IsoWriter.builder().build(), deep));
    assertTrue(
        e.getMessage().contains("/1/2/3/4/5/6/7/8: directories nest deeper"), e.getMessage());
  }
}
