package io.basalt.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.testfixtures.DebianMinbase;
import io.basalt.image.tree.FileTree;
import io.basalt.testing.EnabledIfHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The real thing: the Debian minbase root (a tar made by mmdebstrap, read without extracting it)
 * written as squashfs with each compressor; unsquashfs must list the same tree and extract a copy
 * identical to what GNU tar extracts from the same tar (content, owners, modes, devices, hard
 * links, security.capability on /usr/bin/ping).
 */
@EnabledIfHost(root = true, reason = "extracts devices and owners")
class SquashfsDebianIT {
  static final long MTIME = 1735689600L;
  static Path work;
  static Path reference;
  static FileTree tree;
  static List<String> referenceManifest;

  @BeforeAll
  static void setUp() throws Exception {
    Path tar = DebianMinbase.tar();
    tree = FileTree.readTar(tar);
    assertTrue(tree.size() > 5000, "a real root: " + tree.size() + " entries");
    byte[] cap = tree.get("/usr/bin/ping").xattrs().get("security.capability");
    assertTrue(cap != null && cap.length == 20, "ping keeps its capability through the tar reader");
    work = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "sqfs-debian-");
    reference = work.resolve("reference");
    Files.createDirectories(reference);
    Oracle.run(
        null,
        "tar",
        "--xattrs",
        "--xattrs-include=*",
        "--numeric-owner",
        "-xpf",
        tar.toString(),
        "-C",
        reference.toString());
    referenceManifest = Oracle.manifest(reference);
    assertTrue(
        referenceManifest.stream()
            .anyMatch(l -> l.startsWith("xattr usr/bin/ping security.capability=0x")));
  }

  @AfterAll
  static void cleanUp() throws Exception {
    Oracle.deleteTree(work);
  }

  @ParameterizedTest
  @EnumSource(SquashfsCompression.class)
  void debianMinbaseRoundTripsThroughUnsquashfs(SquashfsCompression c) throws Exception {
    Path image = work.resolve("debian-" + c + ".sqfs");
    SquashfsResult r =
        Images.write(
            new SquashfsWriter(SquashfsOptions.builder().compression(c).mtime(MTIME).build()),
            tree,
            image);
    System.out.println("debian minbase " + c + ": " + r);
    assertEquals(Oracle.expectedListing(tree, MTIME), Oracle.listing(image));
    Path out = work.resolve("out-" + c);
    try {
      Oracle.run(null, "unsquashfs", "-q", "-n", "-d", out.toString(), image.toString());
      Oracle.assertSameManifest(referenceManifest, Oracle.manifest(out));
    } finally {
      Oracle.deleteTree(out);
      Files.deleteIfExists(image);
    }
  }

  /**
   * Item 2's contract: a build from a cold cache and one from the warm cache write the bytes a
   * build without the cache writes, and unsquashfs extracts the warm one correctly.
   */
  @Test
  void coldAndWarmBlockCacheGiveTheImageOfABuildWithoutIt() throws Exception {
    SquashfsOptions o = SquashfsOptions.builder().level(3).mtime(MTIME).build();
    Path plain = work.resolve("plain.sqfs");
    Path cold = work.resolve("cold.sqfs");
    Path warm = work.resolve("warm.sqfs");
    Path cacheDir = work.resolve("blocks");
    Images.write(new SquashfsWriter(o), tree, plain);
    BlockCache c = new BlockCache(cacheDir, BlockCache.DEFAULT_MAX_BYTES);
    try (c) {
      Images.write(new SquashfsWriter(o, c), tree, cold);
    }
    System.out.println("cold block cache: " + c.stats());
    // every block missed and was stored (or dropped: a busy disk), except repeats of a block
    // stored earlier in the build
    assertEquals(c.stats().misses(), c.stats().stored() + c.stats().dropped());
    assertTrue(c.stats().misses() > 10 * c.stats().hits(), c.stats().toString());
    BlockCache w = new BlockCache(cacheDir, BlockCache.DEFAULT_MAX_BYTES);
    try (w) {
      Images.write(new SquashfsWriter(o, w), tree, warm);
    }
    System.out.println("warm block cache: " + w.stats());
    // only the blocks the cold build dropped are compressed again
    assertTrue(w.stats().misses() <= c.stats().dropped(), w.stats().toString());
    assertTrue(w.stats().hits() >= c.stats().stored(), w.stats().toString());
    assertEquals(-1, Files.mismatch(plain, cold));
    assertEquals(-1, Files.mismatch(plain, warm));
    Path out = work.resolve("out-warm");
    try {
      Oracle.run(null, "unsquashfs", "-q", "-n", "-d", out.toString(), warm.toString());
      Oracle.assertSameManifest(referenceManifest, Oracle.manifest(out));
    } finally {
      Oracle.deleteTree(out);
      Oracle.deleteTree(cacheDir);
      for (Path p : List.of(plain, cold, warm)) {
        Files.deleteIfExists(p);
      }
    }
  }
}
