package io.basalt.update.install;

import io.basalt.host.BootDisk;
import io.basalt.host.HostPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Finds the USR slot partitions on the disk this machine booted from, through the initramfs' boot
 * disk record ({@link HostPaths#BOOT_DISK}, format {@link BootDisk}), never through udev's {@code
 * /dev/disk/by-*} links: a second disk made from the same image carries the same partition labels
 * and slot PARTUUIDs, and those links point at whichever disk udev saw last. Before a device is
 * handed out, the disk's sequence number ({@code /sys/class/block/DISK/diskseq}) must still be the
 * one recorded at boot, so a disk replaced since boot is never written. Paths are resolved under a
 * root ({@code /} on a host; a folder in tests). Immutable.
 */
public final class SlotDevices {

  private final Path root;

  /** Reads the record and devices under {@code root} (normally {@code /}). */
  public SlotDevices(Path root) {
    this.root = root;
  }

  /** The boot disk record. */
  public BootDisk bootDisk() throws IOException {
    Path file = HostPaths.under(root, HostPaths.BOOT_DISK);
    if (!Files.exists(file)) {
      throw new NoSuchFileException(
          file.toString(),
          null,
          "no boot disk record: the initramfs writes it on every disk boot (a live boot has no"
              + " slots)");
    }
    try {
      return BootDisk.parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * The device of a slot on the boot disk.
   *
   * @throws NoSuchFileException when the boot disk has no partition named {@code USR-<slot>}
   * @throws IOException when the record cannot be read or the disk was replaced since boot
   */
  public Path device(String slot) throws IOException {
    return under(part(slot).device());
  }

  /**
   * The PARTUUID (lower case) of a slot on the boot disk.
   *
   * @throws NoSuchFileException when the boot disk has no partition named {@code USR-<slot>}
   * @throws IOException when the record cannot be read or the disk was replaced since boot
   */
  public String partuuid(String slot) throws IOException {
    return part(slot).partuuid();
  }

  private BootDisk.Part part(String slot) throws IOException {
    BootDisk disk = bootDisk();
    checkSameDisk(disk);
    String name = "USR-" + slot;
    return disk.partition(name)
        .orElseThrow(
            () ->
                new NoSuchFileException(
                    disk.disk(), null, "the boot disk has no partition named " + name));
  }

  private void checkSameDisk(BootDisk disk) throws IOException {
    if (disk.diskseq().isEmpty()) {
      return;
    }
    String name = disk.disk().substring(disk.disk().lastIndexOf('/') + 1);
    Path seqFile = root.resolve("sys/class/block").resolve(name).resolve("diskseq");
    String now;
    try {
      now = Files.readString(seqFile, StandardCharsets.US_ASCII).strip();
    } catch (NoSuchFileException e) {
      throw new IOException(
          "the boot disk " + disk.disk() + " is gone (no " + seqFile + "); not writing a slot", e);
    }
    if (!now.equals(Long.toString(disk.diskseq().getAsLong()))) {
      throw new IOException(
          "the boot disk "
              + disk.disk()
              + " was replaced since boot (diskseq "
              + disk.diskseq().getAsLong()
              + " at boot, now "
              + now
              + "); not writing a slot");
    }
  }

  private Path under(String device) {
    return HostPaths.under(root, device);
  }
}
