package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.basalt.testing.EnabledIfHost;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a power cut right after {@link AtomicFiles} returns leaves on a real vfat (the ESP's file
 * system), loop-mounted by the kernel: the image file is read with mtools while the file system is
 * still mounted, so it shows what reached the device, not what waits in memory for write-back
 * (dirty inodes wait 30 s by default). Before the fix the renamed entry read back empty: vfat
 * writes a new name with size 0 and its inode's real entry only at write-back.
 */
@EnabledIfHost(
    root = true,
    paths = "/dev/loop-control",
    filesystems = "vfat",
    tools = {"mkfs.vfat", "mount", "umount", "mtype", "mdir"},
    reason = "loop-mounts a vfat image")
class AtomicFilesVfatIT {

  @TempDir Path dir;

  private static String run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + ": " + out);
    }
    return out;
  }

  @Test
  void aWrittenOrRenamedFileHasItsContentOnTheDeviceWhenTheCallReturns() throws Exception {
    Path image = dir.resolve("esp.img");
    try (var ch =
        Files.newByteChannel(
            image,
            java.nio.file.StandardOpenOption.CREATE_NEW,
            java.nio.file.StandardOpenOption.WRITE)) {
      ch.position(64L << 20).write(java.nio.ByteBuffer.wrap(new byte[1]));
    }
    run("mkfs.vfat", "-n", "ESP", image.toString());
    Path mnt = Files.createDirectory(dir.resolve("mnt"));
    run("mount", "-t", "vfat", "-o", "loop", image.toString(), mnt.toString());
    try {
      Path entries = Files.createDirectories(mnt.resolve("loader/entries"));
      run("sync", "-f", entries.toString());
      String entry = "title Basalt 2.0.0 (B)\nversion 2.0.0\nlinux /basalt/B/vmlinuz\n";
      AtomicFiles.write(
          entries.resolve("basalt-2.0.0-B+3.conf"), entry.getBytes(StandardCharsets.UTF_8));
      // the device, as a power cut now would leave it
      assertEquals(
          entry, run("mtype", "-i", image.toString(), "::/loader/entries/basalt-2.0.0-B+3.conf"));

      // a rename (the agent's downloads, the bless of an entry) the same way
      Path partial = mnt.resolve("initramfs.partial");
      Files.write(partial, "x".repeat(70_000).getBytes(StandardCharsets.US_ASCII));
      AtomicFiles.fsync(partial);
      AtomicFiles.rename(partial, mnt.resolve("initramfs"));
      assertEquals(70_000, run("mtype", "-i", image.toString(), "::/initramfs").length());
    } finally {
      run("umount", mnt.toString());
    }
  }
}
