package io.basalt.image.verity;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The multi-threaded file hasher gives exactly the sequential hasher's digests, for any thread count. */
class FileLeafHasherTest {
  private static final VerityParams PARAMS = VerityParams.fromSeed("file-leaf-hasher-test");
  private static final int B = HashTree.BLOCK;
  private final FileSystem fs = Jimfs.newFileSystem(Configuration.unix());

  @AfterEach
  void close() throws IOException {
    fs.close();
  }

  @Test
  void digestsEqualTheSequentialHasherForAnyThreadCountAndChunkBoundary() throws IOException {
    int chunk = FileLeafHasher.CHUNK;
    long[] sizes = {1, B - 1, B, B + 1, chunk - 1, chunk, chunk + 1, 3L * chunk + 5 * B + 123, 7L * chunk};
    for (long size : sizes) {
      byte[] data = new byte[(int) size];
      new Random(size).nextBytes(data);
      Path f = fs.getPath("/d" + size);
      Files.write(f, data);
      LeafHasher reference = new LeafHasher(PARAMS);
      reference.update(data, 0, data.length);
      byte[] pad = new byte[reference.paddingNeeded()];
      reference.update(pad, 0, pad.length);
      DigestList want = reference.leaves();
      for (int threads : new int[] {1, 2, 3, 8}) {
        DigestList got;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
          got = FileLeafHasher.hash(ch, size, PARAMS, threads, f);
        }
        assertEquals(want.size(), got.size(), size + " bytes, " + threads + " threads");
        for (long i = 0; i < want.size(); i++) {
          assertArrayEquals(want.get(i), got.get(i), "block " + i + " of " + size + " bytes, " + threads + " threads");
        }
        assertArrayEquals(
            HashTree.build(PARAMS, want).rootHash(), HashTree.build(PARAMS, got).rootHash(), size + " bytes, " + threads + " threads");
      }
    }
  }

  @Test
  void aFileShorterThanDeclaredIsAnErrorNamingIt() throws IOException {
    Path f = fs.getPath("/short.img");
    Files.write(f, new byte[3 * FileLeafHasher.CHUNK]);
    for (int threads : new int[] {1, 2}) {
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
        EOFException e =
            assertThrows(EOFException.class, () -> FileLeafHasher.hash(ch, 4L * FileLeafHasher.CHUNK, PARAMS, threads, f));
        assertTrue(e.getMessage().startsWith("/short.img: ended at byte"), e.getMessage());
      }
    }
  }

  @Test
  void appendAllKeepsOrderAcrossDigestListChunks() {
    DigestList a = new DigestList();
    byte[] d = new byte[(DigestList.PER_CHUNK + 3) * DigestList.DIGEST];
    new Random(1).nextBytes(d);
    a.appendAll(new byte[DigestList.DIGEST * 5]);
    a.appendAll(d);
    assertEquals(DigestList.PER_CHUNK + 8, a.size());
    for (int i = 0; i < DigestList.PER_CHUNK + 3; i++) {
      byte[] want = java.util.Arrays.copyOfRange(d, i * DigestList.DIGEST, (i + 1) * DigestList.DIGEST);
      assertArrayEquals(want, a.get(i + 5L), "digest " + i);
    }
    assertThrows(IllegalArgumentException.class, () -> a.appendAll(new byte[33]));
  }
}
