package io.basalt.image.verity;

import io.basalt.image.testfixtures.HostTool;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Our dm-verity output checked with {@code veritysetup} (cryptsetup-bin) as the oracle. */
class VerityIT {
  private static final int B = 4096;
  private static final VerityParams PARAMS = VerityParams.fromSeed("basalt-it-1.0.0");
  @TempDir Path tmp;

  @ParameterizedTest(name = "{0} blocks")
  @ValueSource(ints = {1, 2, 128, 129, 128 * 128 + 1})
  void separateHashFileIsIdenticalToVeritysetupFormatAndVerifies(int blocks) throws Exception {
    Path data = tmp.resolve("data");
    Files.write(data, random(blocks * B, blocks));
    Path ours = tmp.resolve("ours.hash");
    VerityResult r = Verity.format(data, ours, PARAMS);

    HostTool.ok(300, "veritysetup", "verify", data.toString(), ours.toString(), r.rootHashHex());
    assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(ours)));

    Path ref = tmp.resolve("ref.hash");
    String out = HostTool.ok(300, "veritysetup", "format", "--salt=" + r.saltHex(), "--uuid=" + r.uuid(),
        data.toString(), ref.toString()).outText();
    assertEquals(field(out, "Root hash"), r.rootHashHex(), "root hash");
    assertEquals(Long.parseLong(field(out, "Hash blocks")), r.hashBlocks(), "hash blocks");
    byte[] refBytes = Files.readAllBytes(ref);
    byte[] ourBytes = Files.readAllBytes(ours);
    assertArrayEquals(Arrays.copyOf(refBytes, 512), Arrays.copyOf(ourBytes, 512), "superblock");
    assertArrayEquals(refBytes, ourBytes, "whole hash file");
    System.out.printf("verity %d blocks: root %s, %d hash blocks, identical to veritysetup%n",
        blocks, r.rootHashHex(), r.hashBlocks());

    flipByte(data, (long) (blocks - 1) * B + 7);
    HostTool bad = HostTool.run(300, "veritysetup", "verify", data.toString(), ours.toString(), r.rootHashHex());
    assertNotEquals(0, bad.exit, "verify must fail after one flipped data byte:\n" + bad);
  }

  @Test
  void appendedLayoutFromTheStreamVerifiesWithHashOffset() throws Exception {
    byte[] content = random(5 * 1024 * 1024 + 123, 42); // not block aligned, like a squashfs image
    Path img = tmp.resolve("usr.img");
    VerityResult r;
    try (OutputStream file = Files.newOutputStream(img);
        VerityOutputStream v = Verity.outputStream(file, PARAMS)) {
      for (int off = 0; off < content.length; off += 65_536) {
        v.write(content, off, Math.min(65_536, content.length - off));
      }
      r = v.appendHashTree();
    }
    long padded = (content.length + B - 1) / B * B;
    assertEquals(padded, r.hashOffset());
    assertEquals(padded + r.hashAreaSize(), Files.size(img));
    assertEquals(Files.size(img), r.hashEnd());
    String offset = "--hash-offset=" + r.hashOffset();
    HostTool.ok(300, "veritysetup", "verify", offset, img.toString(), img.toString(), r.rootHashHex());
    String dump = HostTool.ok(300, "veritysetup", "dump", offset, img.toString()).outText();
    assertEquals(String.valueOf(r.dataBlocks()), field(dump, "Data blocks"));
    assertEquals(r.uuid().toString(), field(dump, "UUID"));

    // veritysetup format of the same padded data at the same offset writes the same bytes
    Path ref = tmp.resolve("ref.img");
    byte[] paddedData = Arrays.copyOf(content, (int) padded);
    Files.write(ref, paddedData);
    String out = HostTool.ok(300, "veritysetup", "format", offset, "--salt=" + r.saltHex(), "--uuid=" + r.uuid(),
        ref.toString(), ref.toString()).outText();
    assertEquals(field(out, "Root hash"), r.rootHashHex());
    assertArrayEquals(Files.readAllBytes(ref), Files.readAllBytes(img), "appended image bytes");
    System.out.printf("verity appended: %d data blocks, hash offset %d, root %s%n",
        r.dataBlocks(), r.hashOffset(), r.rootHashHex());

    flipByte(img, 3 * B + 1);
    HostTool bad = HostTool.run(300, "veritysetup", "verify", offset, img.toString(), img.toString(), r.rootHashHex());
    assertNotEquals(0, bad.exit, "verify must fail after one flipped data byte");
  }

  @Test
  void channelWithBackPatchedHeaderVerifies() throws Exception {
    byte[] content = random(3 * 1024 * 1024 + 5, 43);
    Path img = tmp.resolve("patched.img");
    VerityResult r;
    try (FileChannel fc = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE);
        VerityChannel ch = Verity.channel(fc, PARAMS)) {
      ch.write(ByteBuffer.allocate(96));
      ch.write(ByteBuffer.wrap(content, 96, content.length - 96));
      ch.position(0).write(ByteBuffer.wrap(content, 0, 96));
      r = ch.appendHashTree();
    }
    HostTool.ok(300, "veritysetup", "verify", "--hash-offset=" + r.hashOffset(), img.toString(), img.toString(),
        r.rootHashHex());
  }

  @Test
  void fileLevelAppendedFormatVerifies() throws Exception {
    Path img = tmp.resolve("file.img");
    Files.write(img, random(200 * B + 1000, 44));
    VerityResult r = Verity.formatAppended(img, PARAMS);
    HostTool.ok(300, "veritysetup", "verify", "--hash-offset=" + r.hashOffset(), img.toString(), img.toString(),
        r.rootHashHex());
  }

  @Test
  void sameDataWithOtherHostMtimesAndOwnersGivesIdenticalBytes() throws Exception {
    byte[] content = random(300 * B + 77, 45);
    Path a = tmp.resolve("a.img");
    Path b = tmp.resolve("b.img");
    Files.write(a, content);
    Files.write(b, content);
    Files.setLastModifiedTime(a, java.nio.file.attribute.FileTime.fromMillis(1_000_000_000_000L));
    Files.setAttribute(b, "unix:uid", 4242);
    Files.setAttribute(b, "unix:gid", 4242);
    VerityResult ra = Verity.formatAppended(a, PARAMS);
    VerityResult rb = Verity.formatAppended(b, PARAMS);
    assertEquals(ra.rootHashHex(), rb.rootHashHex());
    assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
  }

  private static String field(String veritysetupOutput, String name) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + ":\\s*(\\S+)").matcher(veritysetupOutput);
    if (!m.find()) {
      throw new AssertionError("no '" + name + "' in veritysetup output:\n" + veritysetupOutput);
    }
    return m.group(1);
  }

  private static void flipByte(Path file, long pos) throws IOException {
    try (FileChannel fc = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      fc.read(one, pos);
      one.put(0, (byte) (one.get(0) ^ 0x01)).rewind();
      fc.write(one, pos);
    }
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }
}
