package io.basalt.image.verity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Hash tree maths, checked against a naive reference implementation of the dm-verity format. */
class HashTreeTest {
  private static final int B = 4096;
  private static final VerityParams PARAMS = VerityParams.fromSeed("hash-tree-test");

  @Test
  void levelsFollowTheKernelFormula() {
    assertEquals(0, HashTree.levels(1));
    assertEquals(1, HashTree.levels(2));
    assertEquals(1, HashTree.levels(128));
    assertEquals(2, HashTree.levels(129));
    assertEquals(2, HashTree.levels(128 * 128));
    assertEquals(3, HashTree.levels(128 * 128 + 1));
    assertEquals(1, HashTree.levelBlocks(128, 0));
    assertEquals(2, HashTree.levelBlocks(129, 0));
    assertEquals(1, HashTree.levelBlocks(129, 1));
    assertEquals(129, HashTree.levelBlocks(128 * 128 + 1, 0));
    assertEquals(2, HashTree.levelBlocks(128 * 128 + 1, 1));
    assertEquals(1, HashTree.levelBlocks(128 * 128 + 1, 2));
    assertEquals(0, HashTree.treeBlocks(1));
    assertEquals(3, HashTree.treeBlocks(129)); // veritysetup prints "Hash blocks: 3" for 129 blocks
    assertEquals(132, HashTree.treeBlocks(128 * 128 + 1));
    assertThrows(IllegalArgumentException.class, () -> HashTree.levels(0));
  }

  @Test
  void oneBlockHasNoLevelsAndTheRootIsTheBlockHash() throws IOException {
    byte[] data = random(B, 1);
    VerityResult r = viaChannel(data, PARAMS).result;
    assertEquals(0, r.levels());
    assertEquals(1, r.dataBlocks());
    assertEquals(B, r.hashAreaSize()); // only the superblock's block
    assertArrayEquals(saltedHash(data, 0), r.rootHash());
  }

  @Test
  void blockCountsAroundTheFirstBoundaryMatchTheReference() throws IOException {
    for (int blocks : new int[] {2, 127, 128, 129, 256, 257}) {
      byte[] data = random(blocks * B, blocks);
      checkAgainstReference(data, blocks);
    }
  }

  @Test
  void threeLevelTreeMatchesTheReference() throws IOException {
    int blocks = 128 * 128 + 1;
    byte[] data = new byte[blocks * B];
    Random rnd = new Random(7);
    for (int i = 0; i < blocks; i += 97) {
      data[i * B + rnd.nextInt(B)] = (byte) (1 + rnd.nextInt(255));
    }
    assertEquals(3, checkAgainstReference(data, blocks).levels());
  }

  @Test
  void partialLastBlockIsZeroPaddedInTheStream() throws IOException {
    byte[] data = random(B * 3 + 100, 3);
    Written w = viaChannel(data, PARAMS);
    VerityResult r = w.result;
    assertEquals(4, r.dataBlocks());
    byte[] padded = Arrays.copyOf(data, 4 * B);
    assertArrayEquals(padded, Arrays.copyOf(w.file, 4 * B), "data then zeros up to the block");
    assertArrayEquals(reference(padded).root, r.rootHash());
    assertEquals(4L * B, r.hashOffset());
    assertEquals(4L * B + r.hashAreaSize(), w.file.length);
  }

  @Test
  void superblockFieldsAreWhereVeritysetupPutsThem() throws IOException {
    byte[] salt = new byte[] {1, 2, 3, 4, 5};
    UUID uuid = UUID.fromString("12345678-9abc-8def-9123-456789abcdef");
    VerityParams p = VerityParams.of(salt, uuid);
    Written w = viaChannel(new byte[B * 5], p);
    ByteArrayOutputStream hash = new ByteArrayOutputStream();
    hash.write(w.file, 5 * B, w.file.length - 5 * B);
    ByteBuffer sb = ByteBuffer.wrap(hash.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals("verity\0\0", new String(hash.toByteArray(), 0, 8, StandardCharsets.US_ASCII));
    assertEquals(1, sb.getInt(8));
    assertEquals(1, sb.getInt(12));
    assertEquals(uuid.getMostSignificantBits(), sb.order(ByteOrder.BIG_ENDIAN).getLong(16));
    assertEquals(uuid.getLeastSignificantBits(), sb.getLong(24));
    sb.order(ByteOrder.LITTLE_ENDIAN);
    assertEquals("sha256", new String(hash.toByteArray(), 32, 6, StandardCharsets.US_ASCII));
    assertEquals(0, hash.toByteArray()[38]);
    assertEquals(B, sb.getInt(64));
    assertEquals(B, sb.getInt(68));
    assertEquals(5L, sb.getLong(72));
    assertEquals(5, sb.getShort(80));
    assertArrayEquals(salt, Arrays.copyOfRange(hash.toByteArray(), 88, 93));
    for (int i = 93; i < B; i++) {
      assertEquals(0, hash.toByteArray()[i], "byte " + i + " of the superblock block");
    }
  }

  @Test
  void seedDerivationIsStableAndSeedSpecific() {
    VerityParams a = VerityParams.fromSeed("basalt-1.0.0");
    VerityParams b = VerityParams.fromSeed("basalt-1.0.0");
    VerityParams c = VerityParams.fromSeed("basalt-1.0.1");
    assertArrayEquals(a.salt(), b.salt());
    assertEquals(a.uuid(), b.uuid());
    assertEquals(32, a.salt().length);
    assertNotEquals(a.uuid(), c.uuid());
    assertEquals(8, a.uuid().version());
    assertEquals(2, a.uuid().variant());
    assertThrows(IllegalArgumentException.class, () -> VerityParams.of(new byte[257], a.uuid()));
  }

  @Test
  void emptyDataIsRefused() throws IOException {
    IOException e = assertThrows(IOException.class, () -> viaChannel(new byte[0], PARAMS));
    assertEquals("verity: no data written, nothing to protect", e.getMessage());
  }

  private static VerityResult checkAgainstReference(byte[] data, int blocks) throws IOException {
    Reference ref = reference(data);
    Written w = viaChannel(data, PARAMS);
    VerityResult r = w.result;
    assertEquals(blocks, r.dataBlocks());
    assertArrayEquals(ref.root, r.rootHash(), "root hash for " + blocks + " blocks");
    byte[] area = Arrays.copyOfRange(w.file, (int) r.hashOffset(), w.file.length);
    assertArrayEquals(
        ref.tree, Arrays.copyOfRange(area, B, area.length), "tree bytes for " + blocks + " blocks");
    assertEquals(ref.levels, r.levels());
    return r;
  }

  /** What a {@link VerityChannel} wrote: the image (data, padding, hash area) and the result. */
  private static final class Written {
    byte[] file;
    VerityResult result;
  }

  /** Writes {@code data} through a verity channel in uneven pieces, then appends the hash tree. */
  private static Written viaChannel(byte[] data, VerityParams params) throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path img = fs.getPath("/img");
      Written w = new Written();
      try (VerityChannel v =
          Verity.channel(
              Files.newByteChannel(
                  img,
                  StandardOpenOption.CREATE_NEW,
                  StandardOpenOption.READ,
                  StandardOpenOption.WRITE),
              params)) {
        // uneven writes, to exercise blocks split across calls
        int pos = 0;
        int step = 1;
        while (pos < data.length) {
          int n = Math.min(step, data.length - pos);
          v.write(ByteBuffer.wrap(data, pos, n));
          pos += n;
          step = step * 3 + 1;
        }
        w.result = v.appendHashTree();
      }
      w.file = Files.readAllBytes(img);
      return w;
    }
  }

  /** The tree as a naive reading of the format describes it: hash every level until one digest. */
  static final class Reference {
    byte[] root;
    byte[] tree;
    int levels;
  }

  static Reference reference(byte[] data) {
    List<byte[]> digests = new ArrayList<>();
    for (int off = 0; off < data.length; off += B) {
      digests.add(saltedHash(data, off));
    }
    List<byte[]> levelBytes = new ArrayList<>();
    while (digests.size() > 1) {
      int blocks = (digests.size() + 127) / 128;
      byte[] level = new byte[blocks * B];
      for (int i = 0; i < digests.size(); i++) {
        System.arraycopy(digests.get(i), 0, level, i * 32, 32);
      }
      levelBytes.add(level);
      List<byte[]> up = new ArrayList<>();
      for (int off = 0; off < level.length; off += B) {
        up.add(saltedHash(level, off));
      }
      digests = up;
    }
    Reference r = new Reference();
    r.root = digests.get(0);
    r.levels = levelBytes.size();
    ByteArrayOutputStream t = new ByteArrayOutputStream();
    for (int i = levelBytes.size() - 1; i >= 0; i--) {
      t.writeBytes(levelBytes.get(i));
    }
    r.tree = t.toByteArray();
    return r;
  }

  private static byte[] saltedHash(byte[] buf, int off) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(PARAMS.salt());
      md.update(buf, off, B);
      return md.digest();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }
}
