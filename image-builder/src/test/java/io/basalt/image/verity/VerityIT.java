package io.basalt.image.verity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.basalt.image.testfixtures.HostTool;
import java.io.IOException;
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

  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {B, 2 * B, 128 * B, 129 * B + 1, (128 * 128 + 1) * B, 5 * 1024 * 1024 + 123})
  void appendedImageIsIdenticalToVeritysetupFormatAndVerifies(int size) throws Exception {
    byte[] content = random(size, size); // not always block aligned, like a squashfs image
    Path img = tmp.resolve("usr.img");
    VerityResult r;
    try (FileChannel fc =
            FileChannel.open(
                img,
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        VerityChannel ch = Verity.channel(fc, PARAMS)) {
      for (int off = 0; off < content.length; off += 65_536) {
        ch.write(ByteBuffer.wrap(content, off, Math.min(65_536, content.length - off)));
      }
      r = ch.appendHashTree();
    }
    long padded = (content.length + B - 1) / B * B;
    assertEquals(padded, r.hashOffset());
    assertEquals(padded + r.hashAreaSize(), Files.size(img));
    assertEquals(Files.size(img), r.hashEnd());
    String offset = "--hash-offset=" + r.hashOffset();
    HostTool.ok(
        300, "veritysetup", "verify", offset, img.toString(), img.toString(), r.rootHashHex());
    String dump = HostTool.ok(300, "veritysetup", "dump", offset, img.toString()).outText();
    assertEquals(String.valueOf(r.dataBlocks()), field(dump, "Data blocks"));
    assertEquals(r.uuid().toString(), field(dump, "UUID"));

    // veritysetup format of the same padded data at the same offset writes the same bytes
    Path ref = tmp.resolve("ref.img");
    Files.write(ref, Arrays.copyOf(content, (int) padded));
    String out =
        HostTool.ok(
                300,
                "veritysetup",
                "format",
                offset,
                "--salt=" + r.saltHex(),
                "--uuid=" + r.uuid(),
                ref.toString(),
                ref.toString())
            .outText();
    assertEquals(field(out, "Root hash"), r.rootHashHex());
    assertEquals(Long.parseLong(field(out, "Hash blocks")), r.hashBlocks(), "hash blocks");
    assertArrayEquals(Files.readAllBytes(ref), Files.readAllBytes(img), "appended image bytes");
    System.out.printf(
        "verity appended: %d data blocks, hash offset %d, root %s%n",
        r.dataBlocks(), r.hashOffset(), r.rootHashHex());

    flipByte(img, padded - B + 1);
    HostTool bad =
        HostTool.run(
            300, "veritysetup", "verify", offset, img.toString(), img.toString(), r.rootHashHex());
    assertNotEquals(0, bad.exit, "verify must fail after one flipped data byte");
  }

  @Test
  void channelWithBackPatchedHeaderVerifies() throws Exception {
    byte[] content = random(3 * 1024 * 1024 + 5, 43);
    Path img = tmp.resolve("patched.img");
    VerityResult r;
    try (FileChannel fc =
            FileChannel.open(
                img,
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        VerityChannel ch = Verity.channel(fc, PARAMS)) {
      ch.write(ByteBuffer.allocate(96));
      ch.write(ByteBuffer.wrap(content, 96, content.length - 96));
      ch.position(0).write(ByteBuffer.wrap(content, 0, 96));
      r = ch.appendHashTree();
    }
    HostTool.ok(
        300,
        "veritysetup",
        "verify",
        "--hash-offset=" + r.hashOffset(),
        img.toString(),
        img.toString(),
        r.rootHashHex());
  }

  private static String field(String veritysetupOutput, String name) {
    Matcher m =
        Pattern.compile("(?m)^" + Pattern.quote(name) + ":\\s*(\\S+)").matcher(veritysetupOutput);
    if (!m.find()) {
      throw new AssertionError("no '" + name + "' in veritysetup output:\n" + veritysetupOutput);
    }
    return m.group(1);
  }

  private static void flipByte(Path file, long pos) throws IOException {
    try (FileChannel fc =
        FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
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
