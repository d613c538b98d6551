package io.basalt.image.install;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A fake /dev, /sys, /proc and /run in jimfs: a disk vda with vda1..vda2, a disk vdb. */
class TargetTest {
  private FileSystem fs;
  private Path root;

  @BeforeEach
  void setUp() throws IOException, InstallException {
    fs = Jimfs.newFileSystem(Configuration.unix());
    root = fs.getPath("/");
    disk("vda", "252:0", 2 * 1024 * 1024 * 2L, "vda1", "252:1", "vda2", "252:2");
    disk("vdb", "252:16", 8 * 1024 * 1024 * 2L);
    write("proc/self/mountinfo", "22 1 0:21 / /proc rw - proc proc rw\n");
    write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n");
    Files.createDirectories(root.resolve("work"));
  }

  @AfterEach
  void tearDown() throws IOException, InstallException {
    fs.close();
  }

  private void write(String path, String text) throws IOException {
    Path p = root.resolve(path);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text, StandardCharsets.UTF_8);
  }

  private void disk(String name, String dev, long sectors, String... parts) throws IOException {
    write("dev/" + name, "");
    Path sys = root.resolve("sys/class/block/" + name);
    write("sys/class/block/" + name + "/dev", dev + "\n");
    write("sys/class/block/" + name + "/size", sectors + "\n");
    Files.createDirectories(sys.resolve("holders"));
    for (int i = 0; i < parts.length; i += 2) {
      write("dev/" + parts[i], "");
      write("sys/class/block/" + name + "/" + parts[i] + "/dev", parts[i + 1] + "\n");
      write("sys/class/block/" + name + "/" + parts[i] + "/partition", (i / 2 + 1) + "\n");
      Files.createDirectories(sys.resolve(parts[i]).resolve("holders"));
      // the kernel lists partitions under /sys/class/block as well
      write("sys/class/block/" + parts[i] + "/dev", parts[i + 1] + "\n");
      write("sys/class/block/" + parts[i] + "/partition", (i / 2 + 1) + "\n");
    }
  }

  private String refusal(String target) {
    InstallException e =
        assertThrows(InstallException.class, () -> Target.check(fs.getPath(target), root));
    assertEquals(InstallException.Kind.TARGET, e.kind());
    return e.getMessage();
  }

  @Test
  void anUnusedWholeDiskIsAcceptedWithItsSize() throws InstallException {
    Target t = Target.check(fs.getPath("/dev/vda"), root);
    assertTrue(t.device());
    assertEquals(2L * 1024 * 1024 * 1024, t.sizeBytes());
  }

  @Test
  void aMountedPartitionRefusesItsDisk() throws IOException, InstallException {
    write(
        "proc/self/mountinfo",
        "22 1 0:21 / /proc rw - proc proc rw\n"
            + "40 1 252:2 / /mnt/old\\040disk rw,relatime - ext4 /dev/vda2 rw\n");
    assertEquals("in use: /dev/vda2 is mounted at /mnt/old disk", refusal("/dev/vda"));
    Target.check(fs.getPath("/dev/vdb"), root);
  }

  @Test
  void aMountedWholeDiskIsRefused() throws IOException, InstallException {
    write("proc/self/mountinfo", "40 1 252:16 / /data rw - ext4 /dev/vdb rw\n");
    assertEquals("in use: /dev/vdb is mounted at /data", refusal("/dev/vdb"));
  }

  @Test
  void aHeldPartitionIsRefused() throws IOException, InstallException {
    write("sys/class/block/vda/vda1/holders/dm-0", "");
    assertEquals("in use: /dev/vda1 is held by /dev/dm-0", refusal("/dev/vda"));
  }

  @Test
  void swapIsRefused() throws IOException, InstallException {
    write(
        "proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/dev/vda1  partition\t1024\t0\t-2\n");
    assertEquals("in use: /dev/vda1 is swap", refusal("/dev/vda"));
  }

  @Test
  void theBootDiskIsRefused() throws IOException, InstallException {
    write(
        "run/basalt/boot-disk", "disk /dev/vdb\ndisk-guid 9f1c5a52-1d4b-4c6e-8d1f-0a3c2b4d5e6f\n");
    assertEquals("it is the disk this system booted from", refusal("/dev/vdb"));
    Target.check(fs.getPath("/dev/vda"), root);
  }

  @Test
  void theLiveBootsLoaderDiskIsRefused() throws IOException, InstallException {
    String uuid = "0b7ec2f4-5a43-4f66-9b0a-3c1d2e4f5a6b";
    Path efivar =
        root.resolve(
            "sys/firmware/efi/efivars/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
    Files.createDirectories(efivar.getParent());
    byte[] value =
        (uuid.toUpperCase(java.util.Locale.ROOT) + "\0").getBytes(StandardCharsets.UTF_16LE);
    byte[] b = new byte[4 + value.length];
    b[0] = 6;
    System.arraycopy(value, 0, b, 4, value.length);
    Files.write(efivar, b);
    Files.createDirectories(root.resolve("dev/disk/by-partuuid"));
    Files.createSymbolicLink(
        root.resolve("dev/disk/by-partuuid/" + uuid), fs.getPath("../../vda1"));
    assertEquals("it is the disk this system booted from", refusal("/dev/vda"));
    Target.check(fs.getPath("/dev/vdb"), root);
  }

  @Test
  void aPartitionIsNotAWholeDisk() {
    assertEquals("is a partition; give the whole disk", refusal("/dev/vda1"));
  }

  @Test
  void somethingUnderDevThatIsNoBlockDeviceIsRefused() throws IOException, InstallException {
    write("dev/ttyS0", "");
    assertEquals("not a block device (no /sys/class/block/ttyS0)", refusal("/dev/ttyS0"));
  }

  @Test
  void imageFiles() throws IOException, InstallException {
    Target fresh = Target.check(fs.getPath("/work/new.raw"), root);
    assertFalse(fresh.device());
    assertEquals(-1, fresh.sizeBytes());
    Files.write(root.resolve("work/old.raw"), new byte[4096]);
    assertEquals(4096, Target.check(fs.getPath("/work/old.raw"), root).sizeBytes());
    assertEquals("its folder /nowhere does not exist", refusal("/nowhere/x.raw"));
    Files.createDirectories(root.resolve("work/dir"));
    assertEquals(
        "neither a block device under /dev nor a regular image file", refusal("/work/dir"));
  }

  @Test
  void anImageFileInUseIsRefused() throws IOException, InstallException {
    Files.write(root.resolve("work/old.raw"), new byte[4096]);
    write("sys/block/loop3/loop/backing_file", "/work/old.raw\n");
    assertEquals("in use: /dev/loop3 is a loop device on it", refusal("/work/old.raw"));
    write("sys/block/loop3/loop/backing_file", "/work/other.raw\n");
    write("proc/swaps", "Filename\tType\tSize\tUsed\tPriority\n/work/old.raw file 4 0 -2\n");
    assertEquals("in use as swap (/proc/swaps)", refusal("/work/old.raw"));
  }
}
