package io.basalt.image.iso;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.fat.FatWriter;
import io.basalt.image.testfixtures.HostTool;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Checks our hybrid ISO images with xorriso (file extents, El Torito catalog, system area), osirrox
 * (every file read back), sgdisk -v (the GPT), mtools (the ESP through the GPT partition) and blkid
 * (label, type, partition table) as oracles.
 */
class IsoIT {
  static final long EPOCH = 1_700_000_000L;
  Path dir;

  @BeforeEach
  void mkdir() throws IOException {
    dir = Files.createTempDirectory("isoit");
  }

  @AfterEach
  void rm() throws Exception {
    HostTool.run(60, "chmod", "-R", "u+w", dir.toString());
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

  /** An ESP of 36 MiB (over the 16-bit El Torito sector count) and files of awkward sizes. */
  FileTree tree() throws IOException {
    FileTree esp =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular("/EFI/BOOT/BOOTX64.EFI", Content.ofBytes(pseudoRandom(70001, 1))))
            .putWithParents(
                TreeEntry.regular(
                    "/loader/loader.conf", Content.ofBytes("timeout 3\n".getBytes(UTF_8))))
            .build();
    Path espImg = dir.resolve("esp.img");
    FatWriter.builder()
        .label("EFI-SYSTEM")
        .sourceDateEpoch(EPOCH)
        .build()
        .writeTo(esp, espImg, 36L << 20);
    FileTree.Builder t = FileTree.builder();
    t.putWithParents(TreeEntry.regular("/basalt/esp.img", Content.ofFile(espImg)));
    int[] sizes = {0, 1, 2047, 2048, 2049, (1 << 20) + 1};
    for (int i = 0; i < sizes.length; i++) {
      t.putWithParents(
          TreeEntry.regular(
              "/basalt/update/file-" + sizes[i] + ".bin",
              Content.ofBytes(pseudoRandom(sizes[i], i + 10))));
    }
    for (int i = 0; i < 120; i++) {
      t.putWithParents(
          TreeEntry.regular(
              "/crowd/a rather long file name number " + i + ".data",
              Content.ofBytes(("content " + i + "\n").getBytes(UTF_8))));
    }
    t.putWithParents(
        TreeEntry.regular("/a/b/c/d/e/f/g/deep.txt", Content.ofBytes("deep\n".getBytes(UTF_8))));
    t.putWithParents(TreeEntry.regular("/grüße.txt", Content.ofBytes("hallo\n".getBytes(UTF_8))));
    t.putWithParents(
        TreeEntry.regular("/cloud-config.yml", Content.ofBytes("#cloud-config\n".getBytes(UTF_8))));
    t.putWithParents(TreeEntry.directory("/empty"));
    return t.build();
  }

  Path write(FileTree t, String name) throws IOException {
    Path iso = dir.resolve(name);
    try (SeekableByteChannel ch =
        Files.newByteChannel(iso, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      IsoWriter.builder()
          .volumeId("OEM")
          .sourceDateEpoch(EPOCH)
          .efiBootImage("/basalt/esp.img")
          .hybridGpt("isoit 1.0 iso", "EFI-SYSTEM")
          .build()
          .write(t, ch);
    }
    return iso;
  }

  static byte[] read(Path file, long offset, int len) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate(len);
      while (b.hasRemaining() && ch.read(b, offset + b.position()) > 0) {
        // keep reading
      }
      return b.array();
    }
  }

  static byte[] bytes(Content c) throws IOException {
    try (InputStream in = c.open()) {
      return in.readAllBytes();
    }
  }

  @Test
  void xorrisoReadsEveryFileAtItsExtent() throws Exception {
    FileTree t = tree();
    Path iso = write(t, "x.iso");
    HostTool x =
        HostTool.ok(
            120, "xorriso", "-indev", iso.toString(), "-find", "/", "-exec", "report_lba", "--");
    // File data lba:  0 ,       31 ,    20480 , 41943040 , '/basalt/esp.img'
    Pattern line = Pattern.compile("File data lba: +0 , +(\\d+) , +(\\d+) , +(\\d+) , '(.*)'");
    Map<String, long[]> extents = new TreeMap<>();
    for (String l : x.outText().lines().toList()) {
      Matcher m = line.matcher(l);
      if (m.matches()) {
        extents.put(
            m.group(4), new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(3))});
      }
    }
    Map<String, TreeEntry> files = new TreeMap<>();
    for (TreeEntry e : t) {
      if (!e.isDirectory()) {
        files.put(e.path(), e);
      }
    }
    assertEquals(files.keySet(), extents.keySet(), x.outText());
    for (TreeEntry e : files.values()) {
      long[] x2 = extents.get(e.path());
      assertEquals(e.content().size(), x2[1], e.path());
      assertArrayEquals(
          bytes(e.content()),
          read(iso, x2[0] * IsoWriter.BLOCK, (int) x2[1]),
          e.path() + " at block " + x2[0]);
    }
  }

  @Test
  void osirroxExtractsEveryFileByteForByte() throws Exception {
    FileTree t = tree();
    Path iso = write(t, "x.iso");
    Path out = dir.resolve("extracted");
    HostTool.ok(120, "osirrox", "-indev", iso.toString(), "-extract", "/", out.toString());
    int n = 0;
    for (TreeEntry e : t) {
      Path p = out.resolve(e.path().substring(1));
      if (e.isDirectory()) {
        assertTrue(Files.isDirectory(p), e.path());
      } else {
        assertArrayEquals(bytes(e.content()), Files.readAllBytes(p), e.path());
        n++;
      }
    }
    try (Stream<Path> s = Files.walk(out)) {
      assertEquals(n, s.filter(Files::isRegularFile).count(), "no extra files");
    }
  }

  @Test
  void elToritoAndHybridGptAreWhatWeWrote() throws Exception {
    FileTree t = tree();
    Path iso = write(t, "x.iso");
    String r =
        HostTool.ok(
                120,
                "xorriso",
                "-indev",
                iso.toString(),
                "-report_el_torito",
                "plain",
                "-report_system_area",
                "plain",
                "-find",
                "/basalt/esp.img",
                "-exec",
                "report_lba",
                "--")
            .outText();
    Matcher m =
        Pattern.compile("File data lba: +0 , +(\\d+) , +\\d+ , +(\\d+) , '/basalt/esp.img'")
            .matcher(r);
    assertTrue(m.find(), r);
    long lba = Long.parseLong(m.group(1));
    long size = Long.parseLong(m.group(2));
    assertEquals(36L << 20, size);
    // the one boot image: UEFI, bootable, no emulation, sector count 0 (> 16 bits), at the ESP
    assertTrue(
        Pattern.compile("El Torito boot img : +1 +UEFI +y +none +0x0000 +0x00 +0 +" + lba + "\n")
            .matcher(r)
            .find(),
        r);
    assertTrue(r.contains("El Torito img path :   1  /basalt/esp.img"), r);
    HostTool pvd = HostTool.ok(60, "xorriso", "-indev", iso.toString(), "-pvd_info");
    String volume = pvd.outText() + pvd.err;
    assertTrue(volume.contains("Volume Id    : OEM"), volume);
    assertTrue(volume.contains("Creation Time: 2023111422132000"), volume);
    assertTrue(volume.contains("Modif. Time  : 2023111422132000"), volume);
    // protective MBR and one GPT partition: the ESP image, type EFI system
    assertTrue(Pattern.compile("MBR partition +: +1 +0x00 +0xee +1 ").matcher(r).find(), r);
    assertTrue(r.contains("GPT partname local :   1  EFI-SYSTEM"), r);
    assertTrue(r.contains("GPT type GUID      :   1  28732ac11ff8d211ba4b00a0c93ec93b"), r);
    assertTrue(r.contains("GPT start and size :   1  " + lba * 4 + "  " + size / 512), r);
    assertTrue(r.contains("GPT partition path :   1  /basalt/esp.img"), r);
    assertTrue(!r.contains("GPT partname local :   2"), r);

    String v = HostTool.ok(60, "sgdisk", "-v", iso.toString()).outText();
    assertTrue(v.contains("No problems found"), v);

    // the ESP through the partition's offset, as firmware and Linux see it on a USB stick
    String img = iso + "@@" + lba * IsoWriter.BLOCK;
    String mdir = HostTool.ok(60, "mdir", "-i", img, "::/").outText();
    assertTrue(mdir.contains("EFI-SYSTEM"), mdir);
    byte[] conf = HostTool.ok(60, "mcopy", "-n", "-i", img, "::/loader/loader.conf", "-").out;
    assertEquals("timeout 3\n", new String(conf, UTF_8));
    HostTool.ok(60, "fsck.vfat", "-n", dir.resolve("esp.img").toString());

    String blkid = HostTool.ok(60, "blkid", "-p", "-o", "export", iso.toString()).outText();
    for (String want : List.of("LABEL=OEM", "TYPE=iso9660", "PTTYPE=gpt", "VERSION=Joliet")) {
      assertTrue(blkid.contains(want), want + " in " + blkid);
    }
  }

  @Test
  void twoWritesAreByteIdentical() throws Exception {
    FileTree t = tree();
    Path a = write(t, "a.iso");
    Path b = write(t, "b.iso");
    HostTool.ok(120, "cmp", a.toString(), b.toString());
  }
}
