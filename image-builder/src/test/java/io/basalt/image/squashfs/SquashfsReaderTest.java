package io.basalt.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SquashfsReaderTest {
  private static final long EPOCH = 1700000000L;

  private static byte[] data(int seed, int size) {
    byte[] b = new byte[size];
    Random r = new Random(seed);
    for (int i = 0; i < size; i++) {
      b[i] = (byte) ("abcdefgh".charAt(r.nextInt(8)) + (i % 977 == 0 ? r.nextInt(100) : 0));
    }
    return b;
  }

  private static FileTree tree() {
    FileTree.Builder b = FileTree.builder();
    b.put(TreeEntry.directory("/"));
    b.putWithParents(
        TreeEntry.regular("/lib/systemd/boot/efi/x.efi", Content.ofBytes(data(1, 300_000))));
    b.putWithParents(TreeEntry.regular("/lib/small", Content.ofBytes(data(2, 1000))));
    b.putWithParents(TreeEntry.regular("/lib/exact", Content.ofBytes(data(3, 131072))));
    b.putWithParents(TreeEntry.regular("/share/empty", Content.ofBytes(new byte[0])));
    for (int i = 0; i < 400; i++) {
      b.putWithParents(
          TreeEntry.regular(
              String.format(java.util.Locale.ROOT, "/many/f%04d", i),
              Content.ofBytes(data(100 + i, 50 + i))));
    }
    return b.build();
  }

  private static SeekableByteChannel image(FileSystem fs, SquashfsCompression c, long at)
      throws IOException {
    Path p = fs.getPath("/usr.img");
    SeekableByteChannel ch =
        Files.newByteChannel(
            p, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    ch.position(at);
    SquashfsWriter.writeImage(tree(), ch, c, OptionalInt.empty(), EPOCH);
    return ch;
  }

  @ParameterizedTest
  @EnumSource(SquashfsCompression.class)
  void readsFilesTheWriterWrote(SquashfsCompression c) throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
        SeekableByteChannel ch = image(fs, c, 0)) {
      SquashfsReader r = SquashfsReader.open(ch, 0);
      assertEquals(EPOCH, r.mtime());
      assertArrayEquals(data(1, 300_000), r.readFile("/lib/systemd/boot/efi/x.efi").orElseThrow());
      assertArrayEquals(data(2, 1000), r.readFile("/lib/small").orElseThrow());
      assertArrayEquals(data(3, 131072), r.readFile("/lib/exact").orElseThrow());
      assertArrayEquals(new byte[0], r.readFile("/share/empty").orElseThrow());
      assertArrayEquals(data(100 + 399, 50 + 399), r.readFile("/many/f0399").orElseThrow());
      assertArrayEquals(data(100 + 7, 50 + 7), r.readFile("/many/f0007").orElseThrow());
      assertTrue(r.readFile("/lib/missing").isEmpty());
      assertTrue(r.readFile("/lib/small/below").isEmpty());
      assertTrue(r.readFile("/lib").isEmpty(), "a directory is not a file");
    }
  }

  @Test
  void readsAnImageAtAnOffset() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix());
        SeekableByteChannel ch = image(fs, SquashfsCompression.ZSTD, 1 << 20)) {
      SquashfsReader r = SquashfsReader.open(ch, 1 << 20);
      assertArrayEquals(data(2, 1000), r.readFile("/lib/small").orElseThrow());
    }
  }

  @Test
  void refusesWhatIsNotSquashfs() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/x");
      Files.write(p, new byte[4096]);
      try (SeekableByteChannel ch = Files.newByteChannel(p)) {
        IOException e = assertThrows(IOException.class, () -> SquashfsReader.open(ch, 0));
        assertTrue(e.getMessage().contains("not a squashfs image"), e.getMessage());
      }
    }
  }
}
