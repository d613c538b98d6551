package io.basalt.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.tree.DirectoryTreeReader;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.testing.EnabledIfHost;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Builds a synthetic tree with every entry type on the host (devices, fifos, sockets, hard links,
 * sparse files, a directory of more than 10,000 entries, xattrs in three namespaces), writes it
 * with each compressor and checks the image with unsquashfs: the listing, and a full extract
 * compared byte for byte (content, owners, modes, device numbers, link groups, xattrs).
 */
@EnabledIfHost(root = true, reason = "mknod, chown, trusted.* xattrs")
class SquashfsSyntheticIT {
  static final long MTIME = 1700000000L;
  static Path work;
  static Path input;
  static FileTree tree;

  @BeforeAll
  static void makeTree() throws Exception {
    work = Files.createTempDirectory(Paths.get("target").toAbsolutePath(), "sqfs-synth-");
    input = work.resolve("in");
    Files.createDirectories(input);
    Random r = new Random(42);
    String script =
        String.join(
            "\n",
            "set -e",
            "cd \"$1\"",
            "mkdir -p a/b/c empty big dev 'with space' caf\u00e9 sticky",
            "chmod 1777 sticky; chmod 2750 a/b; chmod 0700 a/b/c",
            "printf hello > a/hello; chmod 4755 a/hello",
            ": > a/empty-file; chmod 0000 a/empty-file",
            "head -c 300000 /dev/urandom > a/random",
            "cp a/random a/random-copy",
            "head -c 262144 /dev/urandom > a/two-blocks",
            "truncate -s 1048576 a/sparse; printf x | dd of=a/sparse bs=1 seek=600000 conv=notrunc status=none",
            "head -c 131072 /dev/zero > a/one-zero-block",
            "printf 'tail-of-data' >> a/one-zero-block",
            "printf 'link me' > z-original; ln z-original a/hardlink; ln z-original 'with space/second'",
            "ln -s ../z-original a/rel-symlink; ln -s /usr/lib/os-release a/abs-symlink",
            "ln -s \"$(head -c 300 /dev/zero | tr '\\0' x)\" a/long-symlink",
            "mknod dev/null c 1 3; mknod dev/sda b 8 0; mknod dev/bigminor c 240 70000; mkfifo dev/fifo",
            "printf '%s' \"$(head -c 255 /dev/zero | tr '\\0' n)\" > /dev/null; touch \"$(head -c 255 /dev/zero | tr '\\0' n)\"",
            "chown 1000:1000 a/hello; chown 65534:100 a/random; chown 2000000000:3000 dev/fifo",
            "setfattr -n user.comment -v 'hello world' a/hello",
            "setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 a/two-blocks",
            "setfattr -n trusted.bin -v 0x00ff00fe a/b",
            "setfattr -n user.a -v 1 a/random; setfattr -n user.b -v 0x00 a/random",
            "setfattr -n user.comment -v 'hello world' empty",
            "setfattr -n trusted.dev -v 1 dev/null",
            "");
    Oracle.run(null, "sh", "-c", script, "sh", input.toString());
    try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      s.bind(UnixDomainSocketAddress.of(input.resolve("dev/socket")));
    }
    for (int i = 0; i < 10050; i++) {
      Path f = input.resolve("big").resolve(String.format("entry-%05d-%s", i, "x".repeat(i % 40)));
      if (i % 1000 == 7) {
        Files.createDirectory(f);
      } else {
        byte[] b = new byte[i % 3 == 0 ? 0 : 1 + r.nextInt(3000)];
        r.nextBytes(b);
        Files.write(f, b);
      }
    }
    Files.write(
        input.resolve("caf\u00e9/na\u00efve.txt"), "unicode".getBytes(StandardCharsets.UTF_8));
    tree = DirectoryTreeReader.create(DirectoryTreeReader.Xattrs.GETFATTR).read(input);
    // the smallest path in tree order keeps the content, the other names link to it
    assertEquals(EntryType.REGULAR, tree.get("/a/hardlink").type());
    assertEquals(EntryType.HARDLINK, tree.get("/z-original").type());
    assertEquals("/a/hardlink", tree.get("/with space/second").linkTarget());
    assertEquals(EntryType.SOCKET, tree.get("/dev/socket").type());
    assertEquals(70000, tree.get("/dev/bigminor").devMinor());
    assertTrue(tree.get("/a/two-blocks").xattrs().containsKey("security.capability"));
  }

  @AfterAll
  static void cleanUp() throws Exception {
    Oracle.deleteTree(work);
  }

  /**
   * The Linux kernel itself mounts the image (loop device) and every file, looked up by name
   * (through the directory index in the big directory), reads back identical to the input.
   */
  @org.junit.jupiter.api.Test
  @EnabledIfHost(paths = "/dev/loop-control", filesystems = "squashfs", reason = "loop mount")
  void linuxKernelMountsTheImageAndReadsTheSameTree() throws Exception {
    Path image = work.resolve("kernel.sqfs");
    Images.write(new SquashfsWriter(SquashfsOptions.defaults(MTIME)), tree, image);
    assertEquals(
        "rw-r--r--",
        java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(image)),
        "an ordinary artifact, not createTempFile's 0600");
    Path mnt = work.resolve("mnt");
    Files.createDirectories(mnt);
    Oracle.run(null, "mount", "-t", "squashfs", "-o", "loop,ro", image.toString(), mnt.toString());
    try {
      Oracle.assertSameManifest(Oracle.manifest(input), Oracle.manifest(mnt));
    } finally {
      Oracle.run(null, "umount", mnt.toString());
    }
  }

  @ParameterizedTest
  @EnumSource(SquashfsCompression.class)
  void unsquashfsListsAndExtractsTheSameTree(SquashfsCompression c) throws Exception {
    Path image = work.resolve("synth-" + c + ".sqfs");
    SquashfsOptions o =
        SquashfsOptions.builder()
            .compression(c)
            .mtime(MTIME)
            .blockSize(c == SquashfsCompression.GZIP ? 65536 : 131072)
            .build();
    SquashfsResult res = Images.write(new SquashfsWriter(o), tree, image);
    assertEquals(0, Files.size(image) % 4096);
    assertEquals(Files.size(image), res.imageSize());
    assertTrue(res.duplicateFiles() >= 1, "a/random-copy is a duplicate: " + res);
    assertTrue(res.sparseBlocks() >= 2, "sparse blocks: " + res);

    assertEquals(Oracle.expectedListing(tree, MTIME), Oracle.listing(image));

    Path out = work.resolve("out-" + c);
    try {
      Oracle.run(null, "unsquashfs", "-q", "-n", "-d", out.toString(), image.toString());
      List<String> expected = Oracle.manifest(input);
      assertTrue(expected.size() > 20000, "manifest covers the big directory: " + expected.size());
      assertTrue(
          expected.stream()
              .anyMatch(l -> l.startsWith("xattr a/two-blocks security.capability=0x01")),
          "capability row");
      List<String> actual = Oracle.manifest(out);
      Oracle.assertSameManifest(expected, actual);
    } finally {
      Oracle.deleteTree(out);
    }
  }
}
