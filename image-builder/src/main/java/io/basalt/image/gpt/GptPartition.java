package io.basalt.image.gpt;

import java.util.Objects;
import java.util.UUID;

/**
 * One partition to write: its name (the GPT partition label), type GUID, size, 64-bit attribute
 * field (UEFI 2.10 table 5.8: bit 0 required, bit 1 no block-IO protocol, bit 2 legacy BIOS
 * bootable, bits 48-63 type-specific such as the UAPI read-only bit 60) and the data to put in it.
 * Immutable and thread-safe if its content is.
 *
 * @param name label, at most 36 UTF-16 code units, unique on the disk (the partition GUID is
 *     derived from it)
 * @param type partition type GUID, see {@link GptTypes}
 * @param sizeBytes size, a positive multiple of 512
 * @param attributes the raw attribute bits
 * @param content writes the partition's data
 */
public record GptPartition(
    String name, UUID type, long sizeBytes, long attributes, PartitionContent content) {
  public GptPartition {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(content, "content");
  }

  /** A partition with no attribute bits set. */
  public static GptPartition of(String name, UUID type, long sizeBytes, PartitionContent content) {
    return new GptPartition(name, type, sizeBytes, 0, content);
  }
}
