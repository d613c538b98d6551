package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostTest {
  @TempDir Path dir;

  /**
   * A 1 GiB file with 8 KiB of data copies to a file of the same bytes and about the same blocks.
   */
  @Test
  void sparseCopyKeepsHolesAndBytes() throws Exception {
    Path src = dir.resolve("disk.raw");
    try (FileChannel ch =
        FileChannel.open(src, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ch.write(ByteBuffer.wrap("head".repeat(1024).getBytes()), 0);
      ch.write(ByteBuffer.wrap("tail".repeat(1024).getBytes()), (1L << 30) - 4096);
    }
    Path dst = dir.resolve("copy.raw");
    Files.writeString(dst, "old contents");
    Host.sparseCopy(src, dst);
    assertEquals(Files.size(src), Files.size(dst));
    assertTrue(
        Host.allocatedBytes(dst) <= Host.allocatedBytes(src) + (1 << 20),
        "copy takes " + Host.allocatedBytes(dst) + " bytes of disk");
    try (FileChannel a = FileChannel.open(src);
        FileChannel b = FileChannel.open(dst)) {
      for (long off : new long[] {0, 1L << 29, (1L << 30) - 4096}) {
        ByteBuffer x = ByteBuffer.allocate(4096);
        ByteBuffer y = ByteBuffer.allocate(4096);
        a.read(x, off);
        b.read(y, off);
        assertArrayEquals(x.array(), y.array(), "bytes at " + off);
      }
    }
  }
}
