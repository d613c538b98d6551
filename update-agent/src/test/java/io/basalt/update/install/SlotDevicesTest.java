package io.basalt.update.install;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.host.BootDisk;
import io.basalt.host.HostPaths;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The slots come from the boot disk the initramfs recorded, never from udev's links, which a second
 * disk made from the same image takes over.
 */
class SlotDevicesTest {

  private static final String LINUX = "0fc63daf-8483-4772-8e79-3d69d8477de4";

  private FileSystem fs;
  private Path root;

  @BeforeEach
  void setUp() throws IOException {
    fs = Jimfs.newFileSystem(Configuration.unix());
    root = fs.getPath("/");
    // udev's links point at a look-alike second disk (same labels, same PARTUUIDs): the last one
    // udev saw. The agent must not follow them.
    Files.createDirectories(root.resolve("dev/disk/by-partlabel"));
    Files.createSymbolicLink(root.resolve("dev/disk/by-partlabel/USR-B"), fs.getPath("../../vda3"));
  }

  private void record(String disk, OptionalLong seq) throws IOException {
    BootDisk d =
        new BootDisk(
            "/dev/" + disk,
            seq,
            "11111111-2222-3333-4444-555555555555",
            List.of(
                new BootDisk.Part("/dev/" + disk + "2", TestBootDisk.USR_A, LINUX, "USR-A"),
                new BootDisk.Part("/dev/" + disk + "3", TestBootDisk.USR_B, LINUX, "USR-B")));
    Path f = HostPaths.under(root, HostPaths.BOOT_DISK);
    Files.createDirectories(f.getParent());
    Files.writeString(f, d.format());
  }

  @Test
  void slotsAreOnTheRecordedBootDiskNotWhereUdevLinksPoint() throws IOException {
    record("vdb", OptionalLong.empty());
    SlotDevices slots = new SlotDevices(root);
    assertEquals(root.resolve("dev/vdb3"), slots.device("B"));
    assertEquals(root.resolve("dev/vdb2"), slots.device("A"));
    assertEquals(TestBootDisk.USR_B, slots.partuuid("B"));
  }

  @Test
  void aDiskReplacedSinceBootIsNotWritten() throws IOException {
    record("vda", OptionalLong.of(3));
    Path seq = root.resolve("sys/class/block/vda/diskseq");
    Files.createDirectories(seq.getParent());
    Files.writeString(seq, "3\n");
    assertEquals(root.resolve("dev/vda3"), new SlotDevices(root).device("B"));

    Files.writeString(seq, "9\n");
    IOException e = assertThrows(IOException.class, () -> new SlotDevices(root).device("B"));
    assertTrue(
        e.getMessage().contains("was replaced since boot (diskseq 3 at boot, now 9)"),
        e.getMessage());

    Files.delete(seq);
    e = assertThrows(IOException.class, () -> new SlotDevices(root).partuuid("B"));
    assertTrue(e.getMessage().contains("the boot disk /dev/vda is gone"), e.getMessage());
  }

  @Test
  void withoutARecordThereIsNoSlot() {
    NoSuchFileException e =
        assertThrows(NoSuchFileException.class, () -> new SlotDevices(root).device("B"));
    assertTrue(e.getMessage().contains("no boot disk record"), e.getMessage());
  }

  @Test
  void aBootDiskWithoutTheSlotNamesIt() throws IOException {
    Path f = HostPaths.under(root, HostPaths.BOOT_DISK);
    Files.createDirectories(f.getParent());
    Files.writeString(f, "disk /dev/sda\ndisk-guid 11111111-2222-3333-4444-555555555555\n");
    NoSuchFileException e =
        assertThrows(NoSuchFileException.class, () -> new SlotDevices(root).device("A"));
    assertTrue(
        e.getMessage().contains("the boot disk has no partition named USR-A"), e.getMessage());
  }

  @Test
  void aMalformedRecordNamesTheLine() throws IOException {
    Path f = HostPaths.under(root, HostPaths.BOOT_DISK);
    Files.createDirectories(f.getParent());
    Files.writeString(f, "disk /dev/sda\npart /dev/sda2 nope\n");
    IOException e = assertThrows(IOException.class, () -> new SlotDevices(root).device("A"));
    assertTrue(
        e.getMessage().contains("/run/basalt/boot-disk:2: expected 'part DEVICE"), e.getMessage());
  }
}
