package io.basalt.image.verity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.testfixtures.CountingChannel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The seekable wrapper agrees with the in-memory reference (jimfs). */
class VerityChannelTest {
  private static final int B = 4096;
  private static final VerityParams PARAMS = VerityParams.fromSeed("hash-tree-test");
  private final FileSystem fs =
      Jimfs.newFileSystem(
          Configuration.unix().toBuilder()
              .setAttributeViews("basic", "owner", "posix", "unix")
              .build());

  @AfterEach
  void close() throws IOException {
    fs.close();
  }

  @Test
  void sequentialWritesThenBackPatchedHeader() throws IOException {
    byte[] data = new byte[300 * B + 17];
    new Random(3).nextBytes(data);
    Path img = fs.getPath("/usr.img");
    VerityResult r;
    try (SeekableByteChannel raw =
            Files.newByteChannel(
                img,
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        VerityChannel ch = Verity.channel(raw, PARAMS)) {
      ch.write(ByteBuffer.allocate(96)); // placeholder superblock, patched at the end
      int pos = 96;
      while (pos < data.length) {
        int n = Math.min(10_000, data.length - pos);
        ch.write(ByteBuffer.wrap(data, pos, n));
        pos += n;
      }
      ch.position(0).write(ByteBuffer.wrap(data, 0, 96)); // like a squashfs superblock
      ch.position(150L * B + 5)
          .write(ByteBuffer.wrap(data, 150 * B + 5, 10)); // rewrite, same bytes
      r = ch.appendHashTree();
    }
    byte[] padded = Arrays.copyOf(data, 301 * B);
    HashTreeTest.Reference ref = HashTreeTest.reference(padded);
    assertArrayEquals(ref.root, r.rootHash());
    byte[] file = Files.readAllBytes(img);
    assertEquals(301L * B + r.hashAreaSize(), file.length);
    assertArrayEquals(padded, Arrays.copyOf(file, padded.length));
    assertArrayEquals(ref.tree, Arrays.copyOfRange(file, padded.length + B, file.length));
  }

  @Test
  void forwardJumpAndChangedBytesAreRehashed() throws IOException {
    byte[] data = new byte[40 * B];
    new Random(4).nextBytes(data);
    Path img = fs.getPath("/img");
    VerityResult r;
    try (SeekableByteChannel raw =
            Files.newByteChannel(
                img,
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        VerityChannel ch = Verity.channel(raw, PARAMS)) {
      ch.write(ByteBuffer.wrap(data, 0, 10 * B + 3));
      ch.position(30L * B).write(ByteBuffer.wrap(data, 30 * B, 10 * B)); // jump ahead
      ch.position(10L * B + 3).write(ByteBuffer.wrap(data, 10 * B + 3, 20 * B - 3)); // fill the gap
      data[2 * B + 1] ^= 0x55; // change a block that was already hashed
      ch.position(2L * B + 1).write(ByteBuffer.wrap(data, 2 * B + 1, 1));
      r = ch.appendHashTree();
    }
    assertArrayEquals(HashTreeTest.reference(data).root, r.rootHash());
  }

  @Test
  void cutBackBelowTheFrontierAndRewrittenIsFollowedWithoutReadingBackTheRest() throws IOException {
    byte[] data = new byte[50 * B + 100];
    new Random(6).nextBytes(data);
    Path img = fs.getPath("/cut.img");
    VerityResult r;
    long reads;
    try (SeekableByteChannel raw =
            Files.newByteChannel(
                img,
                StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        CountingChannel counting = new CountingChannel(raw);
        VerityChannel ch = Verity.channel(counting, PARAMS)) {
      ch.write(ByteBuffer.wrap(data, 0, 20 * B + 7));
      byte[] junk = new byte[9 * B + 5];
      new Random(7).nextBytes(junk);
      ch.write(ByteBuffer.wrap(junk)); // written, hashed, then dropped
      ch.truncate(20L * B + 7).position(20L * B + 7); // cut back into an already hashed block
      assertEquals(20L * B + 7, ch.size());
      ch.write(ByteBuffer.wrap(data, 20 * B + 7, 10 * B));
      ch.truncate(30L * B + 7); // no-op cut at the end of the stream
      ch.write(ByteBuffer.wrap(data, 30 * B + 7, 3));
      ch.truncate(30L * B + 8).position(30L * B + 8); // cut inside the block still being filled
      ch.write(ByteBuffer.wrap(data, 30 * B + 8, data.length - (30 * B + 8)));
      r = ch.appendHashTree();
      reads = counting.bytesRead();
    }
    byte[] padded = Arrays.copyOf(data, 51 * B);
    assertArrayEquals(HashTreeTest.reference(padded).root, r.rootHash());
    assertEquals(7, reads, "only the cut block's 7 bytes before the cut are read back");
    assertArrayEquals(padded, Arrays.copyOf(Files.readAllBytes(img), padded.length));
  }
}
