package io.basalt.image.gpt;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

class GptDiskTest {
  static final long MIB = 1 << 20;

  static GptDisk sample(String seed, PartitionContent usr) throws GptFormatException {
    return GptDisk.builder(seed)
        .add(
            new GptPartition(
                "EFI-SYSTEM", GptPartition.EFI_SYSTEM, 2 * MIB, 1L, PartitionContent.empty()))
        .add(
            new GptPartition(
                "USR-A", GptPartition.USR_X86_64, 3 * MIB, (1L << 60) | (1L << 48), usr))
        .add(GptPartition.of("ROOT", GptPartition.ROOT_X86_64, MIB + 512, PartitionContent.empty()))
        .build();
  }

  static byte[] write(GptDisk d) throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/disk.raw");
      d.writeTo(p);
      return Files.readAllBytes(p);
    }
  }

  static long crc(byte[] b, int off, int len) {
    CRC32 c = new CRC32();
    c.update(b, off, len);
    return c.getValue();
  }

  @Test
  void structureAndCrcsMatchUefiChapter5() throws IOException {
    GptDisk d = sample("seed", PartitionContent.empty());
    byte[] img = write(d);
    long sectors = img.length / 512;
    // layout: 1 MiB + 2 + 3 + 1 MiB(+512 rounded to the next MiB) + 1 MiB tail
    assertEquals(9 * MIB, img.length);
    ByteBuffer b = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
    // protective MBR
    assertEquals((byte) 0xEE, img[446 + 4]);
    assertEquals(1, b.getInt(446 + 8));
    assertEquals(sectors - 1, b.getInt(446 + 12));
    assertEquals((short) 0xAA55, b.getShort(510));
    for (long hdrLba : new long[] {1, sectors - 1}) {
      int h = (int) (hdrLba * 512);
      assertEquals("EFI PART", new String(img, h, 8, UTF_8));
      assertEquals(0x00010000, b.getInt(h + 8));
      assertEquals(92, b.getInt(h + 12));
      byte[] hdr = Arrays.copyOfRange(img, h, h + 92);
      Arrays.fill(hdr, 16, 20, (byte) 0);
      assertEquals(crc(hdr, 0, 92), b.getInt(h + 16) & 0xffffffffL, "header CRC at LBA " + hdrLba);
      assertEquals(hdrLba, b.getLong(h + 24));
      assertEquals(hdrLba == 1 ? sectors - 1 : 1, b.getLong(h + 32));
      assertEquals(34, b.getLong(h + 40));
      assertEquals(sectors - 34, b.getLong(h + 48));
      long entriesLba = b.getLong(h + 72);
      assertEquals(hdrLba == 1 ? 2 : sectors - 33, entriesLba);
      assertEquals(128, b.getInt(h + 80));
      assertEquals(128, b.getInt(h + 84));
      assertEquals(crc(img, (int) (entriesLba * 512), 128 * 128), b.getInt(h + 88) & 0xffffffffL);
    }
    // first entry: ESP at 1 MiB, mixed-endian type GUID c12a7328-f81f-11d2-ba4b-00a0c93ec93b
    int e = 1024;
    assertArrayEquals(
        new byte[] {
          0x28,
          0x73,
          0x2a,
          (byte) 0xc1,
          0x1f,
          (byte) 0xf8,
          (byte) 0xd2,
          0x11,
          (byte) 0xba,
          0x4b,
          0x00,
          (byte) 0xa0,
          (byte) 0xc9,
          0x3e,
          (byte) 0xc9,
          0x3b
        },
        Arrays.copyOfRange(img, e, e + 16));
    assertEquals(2048, b.getLong(e + 32));
    assertEquals(2048 + 4096 - 1, b.getLong(e + 40));
    assertEquals(1L, b.getLong(e + 48));
    assertEquals(
        "EFI-SYSTEM", new String(img, e + 56, 20, java.nio.charset.StandardCharsets.UTF_16LE));
    assertEquals(0, img[e + 76]);
    // ROOT (1 MiB + 512) starts on the next MiB after USR-A and is not rounded itself
    GptTable t = GptTable.readPrimary(channel(img));
    GptTable.Entry root = t.entries().get(2);
    assertEquals(6 * 2048, root.firstLba());
    assertEquals(6 * 2048 + 2048, root.lastLba());
    assertEquals(3, t.entries().size());
  }

  @Test
  void readBackReturnsWhatWasWritten() throws IOException {
    GptDisk d = sample("seed", PartitionContent.empty());
    byte[] img = write(d);
    for (GptTable t :
        List.of(GptTable.readPrimary(channel(img)), GptTable.readBackup(channel(img)))) {
      assertEquals(d.diskGuid(), t.diskGuid());
      assertEquals(d.partitions().size(), t.entries().size());
      for (int i = 0; i < t.entries().size(); i++) {
        GptDisk.Placed p = d.partitions().get(i);
        GptTable.Entry e = t.entries().get(i);
        assertEquals(p.name(), e.name());
        assertEquals(p.type(), e.type());
        assertEquals(p.guid(), e.guid());
        assertEquals(p.firstLba(), e.firstLba());
        assertEquals(p.lastLba(), e.lastLba());
        assertEquals(p.attributes(), e.attributes());
      }
    }
    assertEquals(
        (1L << 60) | (1L << 48), GptTable.readPrimary(channel(img)).entries().get(1).attributes());
  }

  @Test
  void guidsAreDerivedFromSeedAndName() throws GptFormatException {
    GptDisk a = sample("basalt 1.0", PartitionContent.empty());
    GptDisk b = sample("basalt 1.0", PartitionContent.empty());
    GptDisk c = sample("basalt 1.1", PartitionContent.empty());
    assertEquals(a.diskGuid(), b.diskGuid());
    assertEquals(a.partitions(), b.partitions());
    assertTrue(!a.diskGuid().equals(c.diskGuid()));
    assertTrue(!a.partitions().get(0).guid().equals(c.partitions().get(0).guid()));
    assertTrue(!a.partitions().get(0).guid().equals(a.partitions().get(1).guid()));
    UUID g = a.partitions().get(0).guid();
    assertEquals(5, g.version());
    assertEquals(2, g.variant());
    // RFC 4122 v5 reference value: uuid5(NAMESPACE_DNS, "python.org") in Python's uuid module
    assertEquals(
        UUID.fromString("886313e1-3b8a-5372-9b90-0c9aee199e5d"),
        Guids.v5(UUID.fromString("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "python.org"));
  }

  @Test
  void partitionContentIsWrittenInsideItsWindow() throws IOException {
    byte[] payload = new byte[5000];
    Arrays.fill(payload, (byte) 7);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path src = fs.getPath("/usr.img");
      Files.write(src, payload);
      GptDisk d = sample("s", PartitionContent.ofFile(src));
      Path out = fs.getPath("/disk.raw");
      d.writeTo(out);
      byte[] img = Files.readAllBytes(out);
      long off = d.partitions().get(1).offset();
      assertArrayEquals(payload, Arrays.copyOfRange(img, (int) off, (int) off + payload.length));
      assertEquals(0, img[(int) off - 1]);
      assertEquals(0, img[(int) off + payload.length]);
    }
  }

  @Test
  void sameContentWithDifferentHostMetadataGivesIdenticalBytes() throws IOException {
    try (FileSystem fs =
        Jimfs.newFileSystem(
            Configuration.unix().toBuilder()
                .setAttributeViews("basic", "owner", "posix", "unix")
                .build())) {
      Path a = fs.getPath("/a.img");
      Path b = fs.getPath("/b.img");
      Files.write(a, "squashfs".getBytes(UTF_8));
      Files.write(b, "squashfs".getBytes(UTF_8));
      Files.setLastModifiedTime(a, FileTime.fromMillis(1));
      Files.setLastModifiedTime(b, FileTime.fromMillis(999_999_999_000L));
      Files.setOwner(b, fs.getUserPrincipalLookupService().lookupPrincipalByName("alice"));
      byte[] one = write(sample("seed", PartitionContent.ofFile(a)));
      byte[] two = write(sample("seed", PartitionContent.ofFile(b)));
      assertArrayEquals(one, two);
    }
  }

  @Test
  void badInputNamesThePartition() {
    GptFormatException tooLong =
        assertThrows(
            GptFormatException.class,
            () ->
                GptDisk.builder("s")
                    .add(
                        GptPartition.of(
                            "a-name-that-is-far-too-long-for-gpt-entries",
                            GptPartition.LINUX_DATA,
                            MIB,
                            PartitionContent.empty()))
                    .build());
    assertTrue(
        tooLong
            .getMessage()
            .contains("'a-name-that-is-far-too-long-for-gpt-entries' is 43 UTF-16 code units"),
        tooLong.getMessage());
    GptFormatException surrogate =
        assertThrows(
            GptFormatException.class,
            () ->
                GptDisk.builder("s")
                    .add(
                        GptPartition.of(
                            "bad\ud800x", GptPartition.LINUX_DATA, MIB, PartitionContent.empty()))
                    .build());
    assertTrue(
        surrogate.getMessage().contains("'bad?x'") && surrogate.getMessage().contains("unpaired"),
        surrogate.getMessage());
    GptFormatException dup =
        assertThrows(
            GptFormatException.class,
            () ->
                GptDisk.builder("s")
                    .add(
                        GptPartition.of(
                            "A", GptPartition.LINUX_DATA, MIB, PartitionContent.empty()))
                    .add(
                        GptPartition.of(
                            "A", GptPartition.LINUX_DATA, MIB, PartitionContent.empty()))
                    .build());
    assertTrue(dup.getMessage().contains("'A' is used twice"), dup.getMessage());
    GptFormatException fit =
        assertThrows(
            GptFormatException.class,
            () ->
                GptDisk.builder("s")
                    .diskSize(8 * MIB)
                    .add(
                        GptPartition.of(
                            "ESP", GptPartition.EFI_SYSTEM, 4 * MIB, PartitionContent.empty()))
                    .add(
                        GptPartition.of(
                            "ROOT", GptPartition.ROOT_X86_64, 3 * MIB, PartitionContent.empty()))
                    .build());
    assertTrue(
        fit.getMessage().startsWith("partition 2 'ROOT'")
            && fit.getMessage().contains("does not fit"),
        fit.getMessage());
    GptFormatException odd =
        assertThrows(
            GptFormatException.class,
            () ->
                GptDisk.builder("s")
                    .add(
                        GptPartition.of(
                            "ODD", GptPartition.LINUX_DATA, 1000, PartitionContent.empty()))
                    .build());
    assertTrue(odd.getMessage().startsWith("partition 1 'ODD': size 1000"), odd.getMessage());
    // 36 units is the maximum and is accepted, also with a supplementary character (2 units)
    assertEquals(36, assertDoesNotThrowName("\ud83d\ude00" + "x".repeat(34)).length());
  }

  private static String assertDoesNotThrowName(String name) {
    try {
      GptDisk d =
          GptDisk.builder("s")
              .add(GptPartition.of(name, GptPartition.LINUX_DATA, MIB, PartitionContent.empty()))
              .build();
      String back = GptTable.readPrimary(channel(write(d))).entries().get(0).name();
      assertEquals(name, back);
      return back;
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void contentOverflowingItsPartitionFailsAndLeavesNoFile() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path out = fs.getPath("/out/disk.raw");
      Files.createDirectories(out.getParent());
      GptDisk d =
          GptDisk.builder("s")
              .add(
                  GptPartition.of(
                      "SMALL",
                      GptPartition.LINUX_DATA,
                      MIB,
                      w -> w.write(ByteBuffer.allocate((int) MIB + 1))))
              .build();
      IOException e = assertThrows(IOException.class, () -> d.writeTo(out));
      assertTrue(e.getMessage().startsWith("partition 1 'SMALL'"), e.getMessage());
      try (var s = Files.list(out.getParent())) {
        assertEquals(0, s.count());
      }
    }
  }

  @Test
  void sourceThatChangesSizeIsReportedWithItsNameAndNoDiskIsLeft() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path src = fs.getPath("/usr.img");
      Files.write(src, new byte[100]);
      PartitionContent content = PartitionContent.ofFile(src);
      Files.write(src, new byte[200]);
      Path out = fs.getPath("/disk.raw");
      GptDisk d =
          GptDisk.builder("s")
              .add(GptPartition.of("USR-A", GptPartition.USR_X86_64, MIB, content))
              .build();
      IOException e = assertThrows(IOException.class, () -> d.writeTo(out));
      assertTrue(
          e.getMessage().startsWith("partition 1 'USR-A': /usr.img: changed while being read"),
          e.getMessage());
      try (var s = Files.list(fs.getPath("/"))) {
        assertEquals(List.of(src), s.filter(p -> !p.equals(fs.getPath("/work"))).toList());
      }
    }
  }

  @Test
  void relocateMovesBackupToEndOfEnlargedDisk() throws IOException {
    byte[] img = write(sample("seed", PartitionContent.empty()));
    byte[] grown = Arrays.copyOf(img, img.length + 7 * (int) MIB);
    SeekableByteChannel ch = channel(grown);
    GptTable before = GptTable.readPrimary(ch);
    assertTrue(GptTable.relocateBackup(ch));
    long sectors = grown.length / 512;
    GptTable p = GptTable.readPrimary(ch);
    GptTable b = GptTable.readBackup(ch);
    assertEquals(sectors - 1, p.alternateLba());
    assertEquals(sectors - 1, b.myLba());
    assertEquals(sectors - 33, b.entriesLba());
    assertEquals(sectors - 34, p.lastUsableLba());
    assertEquals(before.entries(), p.entries());
    assertEquals(before.entries(), b.entries());
    assertEquals(
        sectors - 1, ByteBuffer.wrap(grown).order(ByteOrder.LITTLE_ENDIAN).getInt(446 + 12));
    byte[] oldBackup =
        Arrays.copyOfRange(
            grown, (int) (before.alternateLba() * 512), (int) (before.alternateLba() * 512 + 512));
    assertArrayEquals(new byte[512], oldBackup);
    assertFalse(GptTable.relocateBackup(ch));
  }

  @Test
  void relocateWithAnExplicitSizeForChannelsThatReportZero() throws IOException {
    byte[] img = write(sample("seed", PartitionContent.empty()));
    byte[] grown = Arrays.copyOf(img, img.length + 2 * (int) MIB);
    SeekableByteChannel real = channel(grown);
    SeekableByteChannel zeroSized =
        new java.nio.channels.SeekableByteChannel() {
          public int read(ByteBuffer d) throws IOException {
            return real.read(d);
          }

          public int write(ByteBuffer s) throws IOException {
            return real.write(s);
          }

          public long position() throws IOException {
            return real.position();
          }

          public SeekableByteChannel position(long p) throws IOException {
            real.position(p);
            return this;
          }

          public long size() {
            return 0;
          } // like a block device on some JVMs

          public SeekableByteChannel truncate(long s) {
            throw new UnsupportedOperationException();
          }

          public boolean isOpen() {
            return true;
          }

          public void close() {}
        };
    assertThrows(GptFormatException.class, () -> GptTable.relocateBackup(zeroSized));
    assertTrue(GptTable.relocateBackup(zeroSized, grown.length));
    assertEquals(grown.length / 512 - 1, GptTable.readBackup(real).myLba());
  }

  @Test
  void corruptHeaderIsReported() throws IOException {
    byte[] img = write(sample("seed", PartitionContent.empty()));
    img[512 + 40] ^= 1;
    GptFormatException e =
        assertThrows(GptFormatException.class, () -> GptTable.readPrimary(channel(img)));
    assertTrue(e.getMessage().contains("header CRC32"), e.getMessage());
    byte[] img2 = write(sample("seed", PartitionContent.empty()));
    img2[1024 + 60] ^= 1;
    e = assertThrows(GptFormatException.class, () -> GptTable.readPrimary(channel(img2)));
    assertTrue(e.getMessage().contains("entry array CRC32"), e.getMessage());
  }

  /** An in-memory channel over {@code bytes} (writes go to the array). */
  static SeekableByteChannel channel(byte[] bytes) {
    return new SeekableByteChannel() {
      long pos;

      @Override
      public int read(ByteBuffer dst) {
        if (pos >= bytes.length) {
          return -1;
        }
        int n = (int) Math.min(dst.remaining(), bytes.length - pos);
        dst.put(bytes, (int) pos, n);
        pos += n;
        return n;
      }

      @Override
      public int write(ByteBuffer src) {
        int n = src.remaining();
        src.get(bytes, (int) pos, n);
        pos += n;
        return n;
      }

      @Override
      public long position() {
        return pos;
      }

      @Override
      public SeekableByteChannel position(long p) {
        pos = p;
        return this;
      }

      @Override
      public long size() {
        return bytes.length;
      }

      @Override
      public SeekableByteChannel truncate(long size) {
        throw new UnsupportedOperationException();
      }

      @Override
      public boolean isOpen() {
        return true;
      }

      @Override
      public void close() {}
    };
  }
}
