package io.basalt.image.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class HashingChannelTest {
  private static String sha(byte[] b) {
    return HexFormat.of().formatHex(HashingChannel.sha256().digest(b));
  }

  private static HashingChannel open(Path p) throws IOException {
    return new HashingChannel(
        Files.newByteChannel(
            p, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE));
  }

  @Test
  void forwardWritesWithGapsAreHashedWithoutReadingBack() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/disk");
      HashingChannel.Digest d;
      try (HashingChannel ch = open(p)) {
        ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
        ch.position(3_000_000);
        ch.write(ByteBuffer.wrap(new byte[] {4}));
        ch.position(5_000_000);
        ch.write(ByteBuffer.wrap(new byte[] {5, 6}));
        d = ch.finish();
      }
      byte[] all = Files.readAllBytes(p);
      assertEquals(5_000_002, all.length);
      assertEquals(new HashingChannel.Digest(all.length, sha(all), false), d);
    }
  }

  @Test
  void aBackPatchFallsBackToReadingTheFileAgain() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/img");
      HashingChannel.Digest d;
      try (HashingChannel ch = open(p)) {
        ch.write(ByteBuffer.wrap(new byte[100_000]));
        ch.position(0);
        ch.write(ByteBuffer.wrap(new byte[] {'h', 's', 'q', 's'}));
        d = ch.finish();
      }
      byte[] all = Files.readAllBytes(p);
      assertTrue(d.readBack());
      assertEquals(sha(all), d.sha256());
      assertFalse(sha(new byte[100_000]).equals(d.sha256()));
    }
  }

  @Test
  void aFileCopiedIntoAPartitionIsHashedOnTheWay() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path img = fs.getPath("/usr.img");
      byte[] data = new byte[3_000_001];
      for (int i = 0; i < data.length; i++) {
        data[i] = (byte) (i * 31);
      }
      Files.write(img, data);
      Writers.HashedFileContent c = new Writers.HashedFileContent(img);
      assertFalse(c.digest().isPresent());
      Path disk = Files.write(fs.getPath("/disk"), new byte[4 << 20]); // the partition's window
      try (var ch = Files.newByteChannel(disk, StandardOpenOption.WRITE)) {
        c.write(ch);
      }
      assertEquals(
          new HashingChannel.Digest(data.length, sha(data), false), c.digest().orElseThrow());
      assertEquals(Writers.readBack(img).sha256(), c.digest().orElseThrow().sha256());
      assertTrue(Writers.readBack(img).readBack());
    }
  }
}
