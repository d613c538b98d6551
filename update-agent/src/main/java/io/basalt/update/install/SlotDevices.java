package io.basalt.update.install;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Finds the USR slot devices through udev's links: {@code DEV/by-partlabel/USR-A|USR-B} and their
 * PARTUUIDs from {@code DEV/by-partuuid} ({@code DEV} = {@code /dev/disk}; in tests any directory,
 * the links pointing at plain files). Immutable.
 */
public final class SlotDevices {

  private final Path diskDir;

  /** Uses {@code diskDir} (normally {@code /dev/disk}). */
  public SlotDevices(Path diskDir) {
    this.diskDir = diskDir;
  }

  /**
   * The device of a slot, resolved through its partition label link.
   *
   * @throws NoSuchFileException naming the link when the partition is not there
   */
  public Path device(String slot) throws IOException {
    Path link = diskDir.resolve("by-partlabel").resolve("USR-" + slot);
    if (!Files.exists(link)) {
      throw new NoSuchFileException(link.toString(), null, "no partition labelled USR-" + slot);
    }
    return link.toRealPath();
  }

  /**
   * The PARTUUID (lowercase) of a slot: the {@code by-partuuid} link resolving to the same device.
   *
   * @throws NoSuchFileException when no PARTUUID link points at the slot's device
   */
  public String partuuid(String slot) throws IOException {
    Path dev = device(slot);
    Path dir = diskDir.resolve("by-partuuid");
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.sorted().toList()) {
        if (Files.exists(p) && p.toRealPath().equals(dev)) {
          return p.getFileName().toString().toLowerCase(Locale.ROOT);
        }
      }
    }
    throw new NoSuchFileException(
        dir.toString(), null, "no PARTUUID link points at " + dev + " (USR-" + slot + ")");
  }
}
