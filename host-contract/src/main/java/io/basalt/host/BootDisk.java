package io.basalt.host;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The disk this machine booted from, as the initramfs {@code /init} records it in {@link
 * HostPaths#BOOT_DISK} on every disk boot: the disk the loader's ESP ({@code LoaderDevicePartUUID})
 * is on, its kernel disk sequence number and GPT disk GUID, and each of its partitions. The update
 * agent writes slots only there and the datasource scan reads OEM only from there, so a second disk
 * made from the same image (same PARTUUIDs and labels) is never booted from, written over or read
 * as configuration. Immutable, thread-safe.
 *
 * <p>Format, one item per line, fields separated by one space, the partition name last (it may hold
 * spaces):
 *
 * <pre>
 * disk /dev/vda
 * diskseq 3                 (absent when the kernel has no diskseq)
 * disk-guid 9f1c...-...     (lower case)
 * part /dev/vda1 PARTUUID TYPE-GUID EFI-SYSTEM
 * </pre>
 *
 * @param disk the disk's device path
 * @param diskseq the kernel's disk sequence number ({@code /sys/class/block/DISK/diskseq}) when
 *     known: a different number later means the disk was replaced
 * @param diskGuid the GPT disk GUID (lower case)
 * @param partitions the disk's GPT partitions in table order
 */
public record BootDisk(String disk, OptionalLong diskseq, String diskGuid, List<Part> partitions) {

  static final String DISK = "disk";

  static final String DISKSEQ = "diskseq";
  static final String DISK_GUID = "disk-guid";
  static final String PART = "part";

  /**
   * One partition of the boot disk.
   *
   * @param device its device path
   * @param partuuid its GPT unique partition GUID (lower case)
   * @param type its GPT partition type GUID (lower case)
   * @param name its GPT partition name (e.g. {@code USR-A})
   */
  public record Part(String device, String partuuid, String type, String name) {
    /** Checks every field is present. */
    public Part {
      Objects.requireNonNull(device, "device");
      Objects.requireNonNull(partuuid, "partuuid");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(name, "name");
    }
  }

  /** Copies {@code partitions}; every field must be present. */
  public BootDisk {
    Objects.requireNonNull(disk, "disk");
    Objects.requireNonNull(diskseq, "diskseq");
    Objects.requireNonNull(diskGuid, "diskGuid");
    partitions = List.copyOf(partitions);
  }

  /** The partition named {@code name} (GPT partition name, e.g. {@code USR-B}), if any. */
  public Optional<Part> partition(String name) {
    return partitions.stream().filter(p -> p.name().equals(name)).findFirst();
  }

  /**
   * Reads a record.
   *
   * @param text the record
   * @param where names the record in errors (a file path)
   * @throws IllegalArgumentException naming {@code where} and the line when a line is malformed, an
   *     item is repeated or {@code disk}/{@code disk-guid} is missing
   */
  public static BootDisk parse(String text, String where) {
    String disk = null;
    String guid = null;
    OptionalLong seq = OptionalLong.empty();
    List<Part> parts = new ArrayList<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      if (line.isEmpty()) {
        continue;
      }
      String at = where + ":" + (i + 1) + ": ";
      int sp = line.indexOf(' ');
      String key = sp < 0 ? line : line.substring(0, sp);
      String value = sp < 0 ? "" : line.substring(sp + 1);
      switch (key) {
        case DISK -> {
          if (disk != null) {
            throw new IllegalArgumentException(at + "'disk' given twice");
          }
          disk = device(value, at);
        }
        case DISKSEQ -> {
          if (seq.isPresent()) {
            throw new IllegalArgumentException(at + "'diskseq' given twice");
          }
          if (!value.matches("[0-9]{1,18}")) {
            throw new IllegalArgumentException(at + "diskseq is not a number: '" + value + "'");
          }
          seq = OptionalLong.of(Long.parseLong(value));
        }
        case DISK_GUID -> {
          if (guid != null) {
            throw new IllegalArgumentException(at + "'disk-guid' given twice");
          }
          guid = guid(value, at, "disk-guid");
        }
        case PART -> {
          String[] f = value.split(" ", 4);
          if (f.length != 4 || f[3].isEmpty()) {
            throw new IllegalArgumentException(
                at + "expected 'part DEVICE PARTUUID TYPE NAME', found '" + line + "'");
          }
          parts.add(
              new Part(device(f[0], at), guid(f[1], at, "PARTUUID"), guid(f[2], at, "type"), f[3]));
        }
        default -> throw new IllegalArgumentException(at + "unknown item '" + key + "'");
      }
    }
    if (disk == null || guid == null) {
      throw new IllegalArgumentException(
          where + ": incomplete boot disk record (needs 'disk' and 'disk-guid' lines)");
    }
    return new BootDisk(disk, seq, guid, parts);
  }

  /** The record as {@link #parse} reads it. */
  public String format() {
    StringBuilder b = new StringBuilder();
    b.append(DISK).append(' ').append(disk).append('\n');
    diskseq.ifPresent(s -> b.append(DISKSEQ).append(' ').append(s).append('\n'));
    b.append(DISK_GUID).append(' ').append(diskGuid).append('\n');
    for (Part p : partitions) {
      b.append(PART)
          .append(' ')
          .append(p.device())
          .append(' ')
          .append(p.partuuid())
          .append(' ')
          .append(p.type())
          .append(' ')
          .append(p.name())
          .append('\n');
    }
    return b.toString();
  }

  private static String device(String value, String at) {
    if (!value.matches("/dev/[A-Za-z0-9._/-]+") || value.contains("..")) {
      throw new IllegalArgumentException(at + "not a device path under /dev: '" + value + "'");
    }
    return value;
  }

  private static String guid(String value, String at, String what) {
    String v = value.toLowerCase(Locale.ROOT);
    if (!v.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) {
      throw new IllegalArgumentException(at + what + " is not a GUID: '" + value + "'");
    }
    return v;
  }
}
