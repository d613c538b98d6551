package io.basalt.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class BlockCacheTest {
  static final long EPOCH = 1700000000L;

  static SquashfsOptions options(SquashfsCompression c) {
    return SquashfsOptions.builder().compression(c).level(3).mtime(EPOCH).threads(2).build();
  }

  static byte[] image(FileTree t, SquashfsOptions o, BlockCache cache) throws IOException {
    try (cache) {
      return Images.bytes(new SquashfsWriter(o, cache), t);
    }
  }

  static List<Path> entries(Path root) throws IOException {
    if (!Files.isDirectory(root)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(root)) {
      return s.filter(p -> p.getFileName().toString().length() == 64)
          .sorted()
          .collect(Collectors.toList());
    }
  }

  static long size(List<Path> files) throws IOException {
    long n = 0;
    for (Path p : files) {
      n += Files.size(p);
    }
    return n;
  }

  @ParameterizedTest
  @EnumSource(SquashfsCompression.class)
  void sameBytesWithoutWithAColdAndWithAWarmCache(SquashfsCompression c) throws IOException {
    FileTree t = StableLayoutTest.tree(true, "VERSION_ID=1\n");
    SquashfsOptions o = options(c);
    byte[] plain = Images.bytes(new SquashfsWriter(o), t);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/cache/basalt/blocks");
      BlockCache cold = new BlockCache(root, BlockCache.DEFAULT_MAX_BYTES);
      assertArrayEquals(plain, image(t, o, cold));
      assertEquals(0, cold.stats().hits());
      assertTrue(cold.stats().stored() > 50, cold.stats().toString());
      BlockCache warm = new BlockCache(root, BlockCache.DEFAULT_MAX_BYTES);
      assertArrayEquals(plain, image(t, o, warm));
      assertEquals(0, warm.stats().misses(), warm.stats().toString());
      assertEquals(cold.stats().stored(), warm.stats().hits());
    }
  }

  /** Content that knows its SHA-256 (as from a tar's content index) and counts bytes read. */
  static final class Indexed implements Content {
    final Content inner;
    final byte[] sha;
    final java.util.concurrent.atomic.AtomicLong read;

    Indexed(Content inner, java.util.concurrent.atomic.AtomicLong read) throws IOException {
      this.inner = inner;
      this.read = read;
      try (InputStream in = inner.open()) {
        this.sha = BlockCache.sha256().digest(in.readAllBytes());
      }
    }

    @Override
    public long size() {
      return inner.size();
    }

    @Override
    public byte[] sha256() {
      return sha.clone();
    }

    @Override
    public InputStream open() throws IOException {
      return new java.io.FilterInputStream(inner.open()) {
        @Override
        public int read() throws IOException {
          int b = super.read();
          if (b >= 0) {
            read.incrementAndGet();
          }
          return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          int n = super.read(b, off, len);
          if (n > 0) {
            read.addAndGet(n);
          }
          return n;
        }
      };
    }
  }

  /** {@code t} with every file's content {@link Indexed}, counting into {@code read}. */
  static FileTree indexed(FileTree t, java.util.concurrent.atomic.AtomicLong read)
      throws IOException {
    FileTree.Builder b = t.toBuilder();
    for (TreeEntry e : t) {
      if (e.type() == EntryType.REGULAR) {
        b.put(e.withContent(new Indexed(e.content(), read)));
      }
    }
    return b.build();
  }

  /** Bytes of the tails that go to fragments: what a build must read of files it has seen. */
  static long tails(FileTree t, int blockSize) {
    return t.stream()
        .filter(e -> e.type() == EntryType.REGULAR)
        .mapToLong(e -> e.size() % blockSize)
        .sum();
  }

  @Test
  void knownContentDigestsGiveTheSameBytesAndAWarmBuildReadsOnlyTails() throws IOException {
    FileTree plainTree = StableLayoutTest.tree(true, "VERSION_ID=1\n");
    // duplicates, with and without full blocks, and a file of zeros (sparse blocks)
    FileTree.Builder withDups = plainTree.toBuilder();
    withDups.put(plainTree.get("/d03/big03").withPath("/d03/big03-copy"));
    withDups.put(plainTree.get("/d04/f04").withPath("/d04/f04-copy"));
    withDups.putWithParents(
        TreeEntry.regular("/z/zeros", Content.ofBytes(new byte[3 * 131072 + 5])));
    plainTree = withDups.build();
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    byte[] plain = Images.bytes(new SquashfsWriter(o), plainTree);
    java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
    FileTree t = indexed(plainTree, read);
    assertArrayEquals(plain, Images.bytes(new SquashfsWriter(o), t), "indexed, no cache");
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      BlockCache cold = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, cold), "cold");
      read.set(0);
      BlockCache warm = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, warm), "warm");
      assertEquals(0, warm.stats().misses(), warm.stats().toString());
      long tails = tails(t, o.blockSize());
      assertTrue(read.get() <= tails, read.get() + " bytes read, tails " + tails);
      assertTrue(tails < t.contentBytes() / 2, "the tree has full blocks to skip");
    }
  }

  @Test
  void aWarmBuildOfCompressibleKnownFilesReadsNothing() throws IOException {
    FileTree.Builder b = FileTree.builder();
    for (int i = 0; i < 40; i++) {
      StringBuilder text = new StringBuilder();
      int size = 2000 + i * 9000;
      for (int line = 0; text.length() < size; line++) {
        text.append("file ").append(i).append(" line ").append(line).append('\n');
      }
      b.putWithParents(
          TreeEntry.regular(
              "/t/f" + i, Content.ofBytes(text.toString().getBytes(StandardCharsets.UTF_8))));
    }
    FileTree plainTree = b.build();
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    byte[] plain = Images.bytes(new SquashfsWriter(o), plainTree);
    java.util.concurrent.atomic.AtomicLong read = new java.util.concurrent.atomic.AtomicLong();
    FileTree t = indexed(plainTree, read);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      assertArrayEquals(plain, image(t, o, new BlockCache(root, 1L << 30)), "cold");
      read.set(0);
      BlockCache warm = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, warm), "warm");
      assertEquals(0, warm.stats().misses(), warm.stats().toString());
      assertEquals(0, read.get(), "bytes read by the warm build");
    }
  }

  @Test
  void aDamagedRecordOrAnEvictedBlockIsRecompressedFromTheFile() throws IOException {
    FileTree t =
        indexed(
            StableLayoutTest.tree(true, "VERSION_ID=1\n"),
            new java.util.concurrent.atomic.AtomicLong());
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    byte[] plain = Images.bytes(new SquashfsWriter(o), t);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      image(t, o, new BlockCache(root, 1L << 30));
      List<Path> all = entries(root);
      int records = 0;
      int deleted = 0;
      for (int i = 0; i < all.size(); i++) {
        Path p = all.get(i);
        byte[] b = Files.readAllBytes(p);
        if (b[4] == 2) { // a file record: one bit flipped
          b[b.length - 1] ^= 1;
          Files.write(p, b);
          records++;
        } else if (i % 3 == 0) { // a block: gone, as if evicted
          Files.delete(p);
          deleted++;
        }
      }
      assertTrue(records >= 12 && deleted > 10, records + " records, " + deleted + " deleted");
      BlockCache c = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, c));
      assertEquals(records, c.stats().corrupt(), c.stats().toString());
      BlockCache again = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, again));
      assertEquals(0, again.stats().misses(), "replaced: " + again.stats());
      // records intact, blocks gone: taken from the file
      for (Path p : entries(root)) {
        if (Files.readAllBytes(p)[4] != 2) {
          Files.delete(p);
        }
      }
      BlockCache blocksGone = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, blocksGone));
      assertTrue(blocksGone.stats().hits() >= records, blocksGone.stats().toString());
    }
  }

  @Test
  void aRebuildAfterAChangeCompressesOnlyTheNewBlocks() throws IOException {
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      image(StableLayoutTest.tree(false, "VERSION_ID=1\n"), o, new BlockCache(root, 1L << 30));
      FileTree v2 = StableLayoutTest.tree(true, "VERSION_ID=1\n");
      BlockCache warm = new BlockCache(root, 1L << 30);
      assertArrayEquals(Images.bytes(new SquashfsWriter(o), v2), image(v2, o, warm));
      BlockCache.Stats s = warm.stats();
      // the package's 3 blocks and the fragment runs that took its tails
      assertTrue(s.misses() > 0 && s.misses() <= 10, s.toString());
      assertTrue(s.hits() > 6 * s.misses(), s.toString());
    }
  }

  @Test
  void damagedTruncatedAndMisplacedEntriesAreMissesAndGetReplaced() throws IOException {
    FileTree t = StableLayoutTest.tree(false, "VERSION_ID=1\n");
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    byte[] plain = Images.bytes(new SquashfsWriter(o), t);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      image(t, o, new BlockCache(root, 1L << 30));
      List<Path> all = entries(root);
      assertTrue(all.size() > 20);
      int damaged = 0;
      for (int i = 0; i < all.size(); i += 4) {
        Path p = all.get(i);
        byte[] b = Files.readAllBytes(p);
        switch (i / 4 % 4) {
          case 0: // one bit of the content flipped
            b[b.length - 1] ^= 1;
            Files.write(p, b);
            break;
          case 1: // cut short, as by a crash without the rename
            Files.write(p, java.util.Arrays.copyOf(b, b.length / 2));
            break;
          case 2: // another entry's (valid) content under this name
            Files.copy(all.get(i + 1), p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            break;
          default: // not an entry at all
            Files.write(p, "garbage".getBytes(StandardCharsets.UTF_8));
        }
        damaged++;
      }
      BlockCache c = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, c));
      assertEquals(damaged, c.stats().corrupt(), c.stats().toString());
      assertEquals(damaged, c.stats().stored());
      BlockCache again = new BlockCache(root, 1L << 30);
      assertArrayEquals(plain, image(t, o, again));
      assertEquals(0, again.stats().misses(), "replaced: " + again.stats());
    }
  }

  @Test
  void aBlockIsReadIntoTheGivenBufferAndItsHeaderDecidesWhichBytesAreIt() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      String key = "ab" + "0".repeat(62);
      byte[] data = StableLayoutTest.data(7, 5000);
      BlockCache w = new BlockCache(root, 1L << 30);
      w.put(key, false, data, data.length);
      w.close();
      assertEquals(1, w.stats().stored(), w.stats().toString());
      BlockCache c = new BlockCache(root, 1L << 30);
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(BlockCache.bufferSize(8192));
      assertArrayEquals(data, bytes(c.get(key, buf)));
      // bytes after the entry (a longer file) are not read as its
      Path p = root.resolve("ab").resolve(key);
      Files.write(p, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
      assertArrayEquals(data, bytes(c.get(key, buf)));
      // an entry longer than the buffer, and a length that claims more than the check covers
      assertEquals(null, c.get(key, java.nio.ByteBuffer.allocate(BlockCache.HEADER + 4999)));
      byte[] b = Files.readAllBytes(p);
      b[5]++;
      Files.write(p, b);
      assertEquals(null, c.get(key, buf));
      assertEquals(2, c.stats().corrupt(), c.stats().toString());
      assertEquals(2, c.stats().hits(), c.stats().toString());
    }
  }

  private static byte[] bytes(BlockCache.Hit hit) {
    assertFalse(hit.uncompressed());
    byte[] b = new byte[hit.data().remaining()];
    hit.data().get(b);
    return b;
  }

  @Test
  void anUnwritableCacheOnlyCostsTime() throws IOException {
    FileTree t = StableLayoutTest.tree(false, "VERSION_ID=1\n");
    SquashfsOptions o = options(SquashfsCompression.GZIP);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      Files.write(root, new byte[] {1}); // a file where the folder should be
      BlockCache c = new BlockCache(root, 1L << 30);
      assertArrayEquals(Images.bytes(new SquashfsWriter(o), t), image(t, o, c));
      assertTrue(c.stats().failedWrites() > 0);
      assertEquals(0, c.stats().stored());
    }
  }

  @Test
  void entriesThatFindTheWriteQueueFullAreDroppedWithoutChangingTheImage() throws IOException {
    FileTree t = StableLayoutTest.tree(false, "VERSION_ID=1\n");
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      BlockCache c = new BlockCache(root, 1L << 30, 16); // no entry fits in 16 bytes
      assertArrayEquals(Images.bytes(new SquashfsWriter(o), t), image(t, o, c));
      assertEquals(0, c.stats().stored());
      assertEquals(c.stats().misses(), c.stats().dropped());
      assertTrue(entries(root).isEmpty());
    }
  }

  @Test
  void theTallySparesAListingUntilTheBoundMayBeExceededOrEnoughBuildsPassed() throws IOException {
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    FileTree small =
        FileTree.builder()
            .putWithParents(
                TreeEntry.regular("/x/a", Content.ofBytes(StableLayoutTest.data(5, 300_000))))
            .build();
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      image(small, o, new BlockCache(root, 1L << 20));
      long own = size(entries(root));
      // an entry no build of this cache accounted for (as from a build that died), past the bound
      Path foreign = root.resolve("ab").resolve("ab" + "0".repeat(62));
      Files.createDirectories(foreign.getParent());
      Files.write(foreign, new byte[(1 << 20) - (int) own + 1]);
      Files.setLastModifiedTime(foreign, java.nio.file.attribute.FileTime.fromMillis(0));
      int builds = 1;
      while (Files.exists(foreign)) {
        image(small, o, new BlockCache(root, 1L << 20));
        builds++;
        assertTrue(builds <= BlockCache.TALLY_BUILDS + 1, "listed after " + builds + " builds");
      }
      assertEquals(BlockCache.TALLY_BUILDS + 1, builds, "not listed while the tally was low");
      assertEquals(own, size(entries(root)));
      // a build that adds more than the tally leaves room for lists and evicts at once
      FileTree bigger =
          FileTree.builder()
              .putWithParents(
                  TreeEntry.regular("/x/b", Content.ofBytes(StableLayoutTest.data(6, 1_500_000))))
              .build();
      image(bigger, o, new BlockCache(root, 1L << 20));
      assertTrue(size(entries(root)) <= 1L << 20, "bound kept");
    }
  }

  @Test
  void evictionKeepsTheBoundAndTheLastBuildsBlocks() throws IOException {
    SquashfsOptions o = options(SquashfsCompression.ZSTD);
    FileTree v1 = StableLayoutTest.tree(false, "VERSION_ID=1\n");
    FileTree other =
        FileTree.builder()
            .putWithParents(
                io.basalt.image.tree.TreeEntry.regular(
                    "/x/big",
                    io.basalt.image.tree.Content.ofBytes(StableLayoutTest.data(77, 900_000))))
            .build();
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      image(other, o, new BlockCache(root, 1L << 30));
      Set<Path> otherEntries = Set.copyOf(entries(root));
      BlockCache c = new BlockCache(root, 1L << 30);
      image(v1, o, c);
      List<Path> both = entries(root);
      long v1Bytes = size(both) - size(List.copyOf(otherEntries));
      // bound = v1's own entries: every entry of the other build goes, none of v1's
      BlockCache bounded = new BlockCache(root, v1Bytes);
      image(v1, o, bounded);
      List<Path> left = entries(root);
      assertEquals(both.size() - otherEntries.size(), left.size());
      assertTrue(left.stream().noneMatch(otherEntries::contains));
      assertTrue(size(left) <= v1Bytes);
      // bound below one build: its own entries go too, down to the bound
      BlockCache tiny = new BlockCache(root, v1Bytes / 3);
      image(v1, o, tiny);
      assertTrue(size(entries(root)) <= v1Bytes / 3);
      assertFalse(entries(root).isEmpty());
    }
  }

  @Test
  void tempFilesOfEndedWritersAreDeletedOthersKept() throws IOException {
    FileTree t = StableLayoutTest.tree(false, "VERSION_ID=1\n");
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path root = fs.getPath("/c");
      String key = "ab" + "0".repeat(62);
      Files.createDirectories(root.resolve("ab"));
      // pid 999999999 is above Linux's pid_max: no such process
      Path orphan = Files.write(root.resolve("ab/." + key + ".999999999.7.tmp"), new byte[10]);
      long self = ProcessHandle.current().pid();
      Path live = Files.write(root.resolve("ab/." + key + "." + self + ".7.tmp"), new byte[10]);
      Path other = Files.write(root.resolve("ab/notes.txt"), new byte[10]);
      image(t, options(SquashfsCompression.ZSTD), new BlockCache(root, 1L << 30));
      assertFalse(Files.exists(orphan));
      assertTrue(Files.exists(live));
      assertTrue(Files.exists(other));
    }
  }

  @Test
  void theKeyCoversCompressorLevelAndBlockSize() {
    SquashfsOptions a = options(SquashfsCompression.ZSTD);
    SquashfsOptions b = SquashfsOptions.builder().level(4).mtime(EPOCH).build();
    SquashfsOptions c = SquashfsOptions.builder().level(3).blockSize(65536).mtime(EPOCH).build();
    SquashfsOptions d = options(SquashfsCompression.XZ);
    byte[] block = StableLayoutTest.data(1, 1000);
    java.security.MessageDigest md = BlockCache.sha256();
    Set<String> keys =
        Set.of(
            BlockCache.key(md, BlockCache.settings(a), block, 1000),
            BlockCache.key(md, BlockCache.settings(b), block, 1000),
            BlockCache.key(md, BlockCache.settings(c), block, 1000),
            BlockCache.key(md, BlockCache.settings(d), block, 1000));
    assertEquals(4, keys.size());
    assertNotEquals(
        BlockCache.key(md, BlockCache.settings(a), block, 1000),
        BlockCache.key(md, BlockCache.settings(a), block, 999));
    // threads and mtime do not change compressed blocks
    assertArrayEquals(
        BlockCache.settings(a),
        BlockCache.settings(SquashfsOptions.builder().level(3).threads(1).mtime(5).build()));
  }

  @Test
  void defaultFolderFollowsXdgCacheHome() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path home = fs.getPath("/home/u");
      assertEquals(
          fs.getPath("/home/u/.cache/basalt/blocks"), BlockCache.defaultRoot(Map.of(), home));
      assertEquals(
          fs.getPath("/x/basalt/blocks"),
          BlockCache.defaultRoot(Map.of("XDG_CACHE_HOME", "/x"), home));
    }
  }
}
