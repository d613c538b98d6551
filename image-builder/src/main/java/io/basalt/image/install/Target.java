package io.basalt.image.install;

import io.basalt.host.BootDisk;
import io.basalt.host.HostPaths;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * An install target checked before anything is written to it: an image file (existing or new), or a
 * whole block disk under {@code /dev} that nothing uses. A disk is refused when it or one of its
 * partitions is mounted ({@code /proc/self/mountinfo}), held by another device ({@code
 * /sys/class/block/X/holders}: device mapper, md, loop), used as swap ({@code /proc/swaps}), or is
 * the disk the running system booted from ({@link HostPaths#BOOT_DISK}, or on a live boot the disk
 * of the loader's ESP, {@link HostPaths#LOADER_DEVICE_PART_UUID}); a partition is refused as not a
 * whole disk. An image file is refused when a loop device is backed by it or it is a swap file. The
 * system's files are read under {@code root} (the real root, or a test's file system). Immutable.
 *
 * @param path the target as given
 * @param device whether it is a block device (else an image file)
 * @param sizeBytes its size in bytes, or -1 for an image file that does not exist yet
 */
public record Target(Path path, boolean device, long sizeBytes) {

  /** The kernel's list of active swap areas. */
  static final String SWAPS = "/proc/swaps";

  /**
   * Checks {@code target}; reads nothing but the system's state files, writes nothing.
   *
   * @param root where {@code /dev}, {@code /proc}, {@code /sys} and {@code /run} are
   * @throws InstallException of kind TARGET naming the target and the reason it is refused
   */
  public static Target check(Path target, Path root) throws InstallException {
    Path abs = target.toAbsolutePath().normalize();
    Path real;
    try {
      real = Files.exists(abs) ? abs.toRealPath() : abs;
    } catch (IOException e) {
      throw refused("cannot resolve: " + e.getMessage());
    }
    String realStr = real.toString();
    if (realStr.startsWith("/dev/")) {
      return checkDevice(real, root);
    }
    if (Files.exists(real) && !Files.isRegularFile(real)) {
      throw refused("neither a block device under /dev nor a regular image file");
    }
    if (!Files.exists(real)) {
      Path parent = real.getParent();
      if (parent == null || !Files.isDirectory(parent)) {
        throw refused("its folder " + parent + " does not exist");
      }
      return new Target(target, false, -1);
    }
    for (String swap : swaps(root)) {
      if (swap.equals(realStr)) {
        throw refused("in use as swap (" + SWAPS + ")");
      }
    }
    Path block = root.resolve("sys/block");
    if (Files.isDirectory(block)) {
      for (Path dev : list(block)) {
        Path backing = dev.resolve("loop/backing_file");
        if (Files.isRegularFile(backing) && read(backing).strip().equals(realStr)) {
          throw refused("in use: /dev/" + dev.getFileName() + " is a loop device on it");
        }
      }
    }
    try {
      return new Target(target, false, Files.size(real));
    } catch (IOException e) {
      throw refused("cannot read its size: " + e.getMessage());
    }
  }

  private static Target checkDevice(Path real, Path root) throws InstallException {
    String name = real.getFileName().toString();
    Path sys = root.resolve("sys/class/block").resolve(name);
    if (!Files.isRegularFile(sys.resolve("dev"))) {
      throw refused("not a block device (no /sys/class/block/" + name + ")");
    }
    if (Files.exists(sys.resolve("partition"))) {
      throw refused("is a partition; give the whole disk");
    }
    Optional<String> boot = bootDisk(root);
    if (boot.isPresent() && boot.get().equals(name)) {
      throw refused("it is the disk this system booted from");
    }
    List<String> members = new ArrayList<>();
    members.add(name);
    for (Path child : list(sys)) {
      if (Files.isRegularFile(child.resolve("partition"))) {
        members.add(child.getFileName().toString());
      }
    }
    // held by device mapper (LVM, dm-crypt, dm-verity), md or a loop device
    for (String m : members) {
      Path dir = m.equals(name) ? sys : sys.resolve(m);
      List<Path> holders = list(dir.resolve("holders"));
      if (!holders.isEmpty()) {
        throw refused("in use: /dev/" + m + " is held by /dev/" + holders.get(0).getFileName());
      }
    }
    // mounted: compare the major:minor numbers of every mount with the disk's and its partitions'
    List<String> numbers = new ArrayList<>();
    for (String m : members) {
      Path dir = m.equals(name) ? sys : sys.resolve(m);
      numbers.add(read(dir.resolve("dev")).strip());
    }
    for (String line : lines(root.resolve("proc/self/mountinfo"))) {
      String[] f = line.split(" ");
      if (f.length > 4) {
        int i = numbers.indexOf(f[2]);
        if (i >= 0) {
          throw refused("in use: /dev/" + members.get(i) + " is mounted at " + unescape(f[4]));
        }
      }
    }
    for (String swap : swaps(root)) {
      for (String m : members) {
        if (swap.equals("/dev/" + m)) {
          throw refused("in use: /dev/" + m + " is swap");
        }
      }
    }
    long sectors;
    try {
      sectors = Long.parseLong(read(sys.resolve("size")).strip());
    } catch (NumberFormatException e) {
      throw refused("unreadable size in /sys/class/block/" + name + "/size");
    }
    return new Target(real, true, sectors * 512);
  }

  /**
   * The name of the disk the running system booted from: the boot-disk record of a disk boot, or
   * the disk holding the partition the loader's ESP variable names (a live boot from a USB stick).
   */
  private static Optional<String> bootDisk(Path root) throws InstallException {
    Path record = root.resolve(HostPaths.BOOT_DISK.substring(1));
    if (Files.isRegularFile(record)) {
      try {
        BootDisk d = BootDisk.parse(read(record), HostPaths.BOOT_DISK);
        return Optional.of(d.disk().substring(d.disk().lastIndexOf('/') + 1));
      } catch (IllegalArgumentException e) {
        throw new InstallException(
            InstallException.Kind.TARGET, "cannot tell the boot disk: " + e.getMessage(), e);
      }
    }
    Path efivar = root.resolve(HostPaths.LOADER_DEVICE_PART_UUID.substring(1));
    if (!Files.isRegularFile(efivar)) {
      return Optional.empty();
    }
    byte[] b;
    try {
      b = Files.readAllBytes(efivar);
    } catch (IOException e) {
      return Optional.empty();
    }
    // efivarfs: 4 bytes of attributes, then the value (UTF-16LE, NUL-terminated)
    if (b.length <= 4) {
      return Optional.empty();
    }
    String uuid =
        new String(b, 4, b.length - 4, StandardCharsets.UTF_16LE)
            .replace("\0", "")
            .strip()
            .toLowerCase(java.util.Locale.ROOT);
    Path link = root.resolve("dev/disk/by-partuuid").resolve(uuid);
    try {
      Path part = link.toRealPath();
      String partName = part.getFileName().toString();
      for (Path disk : list(root.resolve("sys/class/block"))) {
        if (Files.isRegularFile(disk.resolve(partName).resolve("partition"))) {
          return Optional.of(disk.getFileName().toString());
        }
      }
    } catch (IOException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }

  /** The file names in /proc/swaps. */
  private static List<String> swaps(Path root) throws InstallException {
    List<String> out = new ArrayList<>();
    List<String> ls = lines(root.resolve(SWAPS.substring(1)));
    for (int i = 1; i < ls.size(); i++) {
      String[] f = ls.get(i).strip().split("\\s+");
      if (!f[0].isEmpty()) {
        out.add(unescape(f[0]));
      }
    }
    return out;
  }

  /** /proc's octal escapes (\040 for a space) undone. */
  private static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static List<String> lines(Path p) throws InstallException {
    if (!Files.exists(p)) {
      return List.of();
    }
    return read(p).lines().toList();
  }

  private static String read(Path p) throws InstallException {
    try {
      return Files.readString(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new InstallException(
          InstallException.Kind.TARGET, "cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  private static List<Path> list(Path dir) throws InstallException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException e) {
      throw new InstallException(
          InstallException.Kind.TARGET, "cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  /** A refusal of the target (the caller names the target). */
  static InstallException refused(String why) {
    return new InstallException(InstallException.Kind.TARGET, why);
  }
}
