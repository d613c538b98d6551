package io.basalt.image.qcow2;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.fat.FatWriter;
import io.basalt.image.gpt.GptDisk;
import io.basalt.image.gpt.GptPartition;
import io.basalt.image.gpt.PartitionContent;
import io.basalt.image.testfixtures.HostTool;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Checks our qcow2 files with qemu-img check and qemu-img compare against the raw source. */
class Qcow2IT {
  static final long MIB = 1 << 20;
  Path dir;

  @BeforeEach
  void mkdir() throws IOException {
    dir = Files.createTempDirectory("qcow2it");
  }

  @AfterEach
  void rm() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  @Test
  void sparseRawSpanningSeveralL2TablesConvertsIdentically() throws Exception {
    Path raw = dir.resolve("sparse.raw");
    long size = 1536 * MIB + 512;
    try (FileChannel ch =
        FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap("first".getBytes(UTF_8)), 100);
      byte[] block = new byte[3 * 65536 + 17];
      for (int i = 0; i < block.length; i++) {
        block[i] = (byte) (i % 251 + 1);
      }
      ch.write(ByteBuffer.wrap(block), 600 * MIB - 9);
      ch.write(ByteBuffer.wrap(block), 1100 * MIB + 3);
      ch.write(ByteBuffer.wrap("last".getBytes(UTF_8)), size - 4);
    }
    long expected =
        clusters(100, 5)
            + clusters(600 * MIB - 9, 3 * 65536 + 17)
            + clusters(1100 * MIB + 3, 3 * 65536 + 17)
            + clusters(size - 4, 4);
    check(raw, expected);
  }

  /** Number of 64 KiB clusters the byte range [off, off + len) touches. */
  static long clusters(long off, long len) {
    return (off + len - 1) / 65536 - off / 65536 + 1;
  }

  @Test
  void basaltLikeDiskConvertsIdentically() throws Exception {
    FileTree esp =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular("/EFI/BOOT/BOOTX64.EFI", Content.ofBytes(new byte[300_000])))
            .putWithParents(
                TreeEntry.regular(
                    "/loader/loader.conf", Content.ofBytes("timeout 3\n".getBytes(UTF_8))))
            .build();
    FatWriter fat = FatWriter.builder().label("EFI-SYSTEM").sourceDateEpoch(1_700_000_000L).build();
    byte[] usr = new byte[(int) (3 * MIB)];
    for (int i = 0; i < usr.length; i += 4096) {
      usr[i] = (byte) (i >> 12 | 1);
    }
    GptDisk disk =
        GptDisk.builder("qcow2-it")
            .add(
                GptPartition.of(
                    "EFI-SYSTEM",
                    GptPartition.EFI_SYSTEM,
                    64 * MIB,
                    w -> fat.write(esp, w, w.size())))
            .add(
                new GptPartition(
                    "USR-A",
                    GptPartition.USR_X86_64,
                    16 * MIB,
                    1L << 60,
                    w -> w.write(ByteBuffer.wrap(usr))))
            .add(
                GptPartition.of(
                    "ROOT", GptPartition.ROOT_X86_64, 8 * MIB, PartitionContent.empty()))
            .build();
    Path raw = dir.resolve("disk.raw");
    disk.writeTo(raw);
    check(raw, -1);
  }

  /**
   * Converts, then runs qemu-img check and compare; {@code dataClusters} < 0 means "don't check".
   */
  static void check(Path raw, long dataClusters) throws Exception {
    Path q = raw.resolveSibling(raw.getFileName() + ".qcow2");
    Qcow2Writer.Summary s = Qcow2Writer.convert(raw, q);
    if (dataClusters >= 0) {
      assertEquals(dataClusters, s.dataClusters());
    }
    assertEquals(s.fileSize(), Files.size(q));
    assertTrue(
        Files.size(q) < Files.size(raw) / 10, "zero clusters are not stored: " + Files.size(q));
    HostTool check = HostTool.run(300, "qemu-img", "check", "-f", "qcow2", q.toString());
    assertEquals(0, check.exit, check.toString());
    assertTrue(check.outText().contains("No errors were found on the image."), check.toString());
    HostTool info = HostTool.run(60, "qemu-img", "info", "--output=json", q.toString());
    assertTrue(info.outText().contains("\"virtual-size\": " + Files.size(raw)), info.toString());
    assertTrue(info.outText().contains("\"compat\": \"1.1\""), "qcow2 v3 is compat 1.1:\n" + info);
    HostTool cmp =
        HostTool.run(
            300, "qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw.toString(), q.toString());
    assertEquals(0, cmp.exit, cmp.toString());
    assertTrue(cmp.outText().contains("Images are identical."), cmp.toString());
  }
}
