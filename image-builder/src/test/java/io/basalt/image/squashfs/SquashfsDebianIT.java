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
}
