package io.basalt.image.gpt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.basalt.image.cli.Basalt;
import io.basalt.image.testfixtures.HostTool;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Checks our GPT with sgdisk and sfdisk, before and after relocating the backup on a grown disk.
 */
class GptIT {
  static final long MIB = 1 << 20;
  Path dir;

  @BeforeEach
  void mkdir() throws Exception {
    dir = Files.createTempDirectory("gptit");
  }

  @AfterEach
  void rm() throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  static GptDisk basaltLayout() throws GptFormatException {
    return GptDisk.builder("basalt-it 1.0")
        .add(
            new GptPartition(
                "EFI-SYSTEM",
                GptPartition.EFI_SYSTEM,
                8 * MIB,
                1L,
                w -> w.write(ByteBuffer.wrap("esp".getBytes()))))
        .add(
            new GptPartition(
                "USR-A",
                GptPartition.USR_X86_64,
                16 * MIB,
                (1L << 60) | (1L << 56) | (1L << 48),
                PartitionContent.empty()))
        .add(
            new GptPartition(
                "USR-B", GptPartition.USR_X86_64, 16 * MIB, 1L << 60, PartitionContent.empty()))
        .add(
            new GptPartition("OEM", GptPartition.LINUX_DATA, 4 * MIB, 4L, PartitionContent.empty()))
        .add(
            GptPartition.of(
                "ROOT \u00e9\u00df\u4e2d",
                GptPartition.ROOT_X86_64,
                2 * MIB + 512,
                PartitionContent.empty()))
        .build();
  }

  @Test
  void sgdiskAndSfdiskAgreeWithWhatWasWritten() throws Exception {
    GptDisk d = basaltLayout();
    Path img = dir.resolve("disk.raw");
    d.writeTo(img);
    assertSgdiskClean(img);
    assertSfdiskShows(img, d, Files.size(img));
  }

  @Test
  void relocatedTableOnEnlargedDiskPasses() throws Exception {
    GptDisk d = basaltLayout();
    Path img = dir.resolve("disk.raw");
    d.writeTo(img);
    long grown = Files.size(img) + 100 * MIB;
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.allocate(1), grown - 1); // grow like `truncate -s`
    }
    HostTool before = HostTool.run(60, "sgdisk", "-v", img.toString());
    assertTrue(
        before.outText().toLowerCase(Locale.ROOT).contains("secondary header"),
        "sgdisk should notice the misplaced backup:\n" + before);

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli =
        Basalt.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
    assertEquals(0, cli.execute("gpt", "relocate-backup", img.toString()), err.toString());
    assertTrue(
        out.toString().contains("backup GPT moved to LBA " + (grown / 512 - 1)), out.toString());
    assertEquals(grown, Files.size(img));
    assertSgdiskClean(img);
    assertSfdiskShows(img, d, grown);
    // idempotent
    StringWriter out2 = new StringWriter();
    assertEquals(
        0,
        Basalt.commandLine()
            .setOut(new PrintWriter(out2))
            .execute("gpt", "relocate-backup", img.toString()));
    assertTrue(out2.toString().contains("already at LBA"), out2.toString());
  }

  @Test
  void showPrintsTheTableAndRejectsACorruptOne() throws Exception {
    GptDisk d = basaltLayout();
    Path img = dir.resolve("disk.raw");
    d.writeTo(img);
    StringWriter out = new StringWriter();
    assertEquals(
        0,
        Basalt.commandLine().setOut(new PrintWriter(out)).execute("gpt", "show", img.toString()));
    for (GptDisk.Placed p : d.partitions()) {
      assertTrue(
          out.toString()
              .contains(p.number() + " " + p.name() + " type " + p.type() + " guid " + p.guid()),
          out.toString());
    }
    try (FileChannel ch = FileChannel.open(img, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap(new byte[] {0x7f}), 2 * 512 + 60); // inside the first entry's name
    }
    StringWriter err = new StringWriter();
    assertEquals(
        3,
        Basalt.commandLine().setErr(new PrintWriter(err)).execute("gpt", "show", img.toString()));
    assertTrue(
        err.toString().contains("primary GPT header at LBA 1: entry array CRC32"), err.toString());
    HostTool v = HostTool.run(60, "sgdisk", "-v", img.toString());
    assertTrue(
        !v.outText().contains("No problems found"), "sgdisk agrees the table is damaged:\n" + v);
  }

  static void assertSgdiskClean(Path img) throws Exception {
    HostTool v = HostTool.run(60, "sgdisk", "-v", img.toString());
    assertEquals(0, v.exit, v.toString());
    assertTrue(v.outText().contains("No problems found"), v.toString());
  }

  static void assertSfdiskShows(Path img, GptDisk d, long diskBytes) throws Exception {
    HostTool p = HostTool.run(60, "sfdisk", "--json", img.toString());
    assertEquals(0, p.exit, p.toString());
    JsonNode t = new ObjectMapper().readTree(p.out).get("partitiontable");
    assertEquals("gpt", t.get("label").asText());
    assertEquals(d.diskGuid().toString().toUpperCase(Locale.ROOT), t.get("id").asText());
    assertEquals(34, t.get("firstlba").asLong());
    assertEquals(diskBytes / 512 - 34, t.get("lastlba").asLong());
    JsonNode parts = t.get("partitions");
    assertEquals(d.partitions().size(), parts.size());
    for (int i = 0; i < parts.size(); i++) {
      JsonNode j = parts.get(i);
      GptDisk.Placed e = d.partitions().get(i);
      assertEquals(e.name(), j.get("name").asText());
      assertEquals(e.type().toString().toUpperCase(Locale.ROOT), j.get("type").asText());
      assertEquals(e.guid().toString().toUpperCase(Locale.ROOT), j.get("uuid").asText());
      assertEquals(e.firstLba(), j.get("start").asLong());
      assertEquals(e.lastLba() - e.firstLba() + 1, j.get("size").asLong());
      assertEquals(
          sfdiskAttrs(e.attributes()), j.has("attrs") ? j.get("attrs").asText() : "", e.name());
    }
  }

  /**
   * util-linux's rendering of the attribute field (libfdisk gpt.c: named bits 0-2, then
   * "GUID:n,m").
   */
  static String sfdiskAttrs(long a) {
    List<String> words = new java.util.ArrayList<>();
    if ((a & 1) != 0) {
      words.add("RequiredPartition");
    }
    if ((a & 2) != 0) {
      words.add("NoBlockIOProtocol");
    }
    if ((a & 4) != 0) {
      words.add("LegacyBIOSBootable");
    }
    StringBuilder guid = new StringBuilder();
    for (int bit = 48; bit < 64; bit++) {
      if ((a & (1L << bit)) != 0) {
        guid.append(guid.length() == 0 ? "GUID:" : ",").append(bit);
      }
    }
    if (guid.length() > 0) {
      words.add(guid.toString());
    }
    return String.join(" ", words);
  }
}
