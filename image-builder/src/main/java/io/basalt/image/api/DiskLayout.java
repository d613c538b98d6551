package io.basalt.image.api;

import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * Where every partition of a GPT disk goes, computed from the spec before anything is written:
 * 512-byte sectors, partitions on 1 MiB boundaries in table order, GUIDs derived from the seed.
 * Immutable, thread-safe.
 *
 * @param diskGuid the disk GUID
 * @param sectorSize bytes per logical block (512)
 * @param sizeBytes size of the whole disk image
 * @param partitions the partitions in table order, numbered from 1
 */
public record DiskLayout(
    UUID diskGuid, int sectorSize, long sizeBytes, List<Partition> partitions) {
  public DiskLayout {
    Objects.requireNonNull(diskGuid, "diskGuid");
    partitions = List.copyOf(partitions);
  }

  /**
   * One partition's place and identity.
   *
   * @param number entry number, from 1
   * @param label the GPT partition name
   * @param type partition type GUID
   * @param partUuid unique partition GUID (the PARTUUID the kernel command line names)
   * @param firstLba first sector
   * @param lastLba last sector (inclusive)
   * @param content what the build puts into it
   */
  public record Partition(
      int number,
      String label,
      UUID type,
      UUID partUuid,
      long firstLba,
      long lastLba,
      String content) {
    public Partition {
      Objects.requireNonNull(label, "label");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(partUuid, "partUuid");
      Objects.requireNonNull(content, "content");
    }

    /** Size in bytes for 512-byte sectors. */
    public long sizeBytes() {
      return (lastLba - firstLba + 1) * 512;
    }
  }

  /**
   * The partition labelled {@code label}.
   *
   * @throws IllegalArgumentException if the layout has no such partition
   */
  public Partition partition(String label) {
    for (Partition p : partitions) {
      if (p.label().equals(label)) {
        return p;
      }
    }
    throw new IllegalArgumentException("disk layout has no partition labelled '" + label + "'");
  }
}
