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
 * @param type partition type GUID, e.g. {@link #EFI_SYSTEM}
 * @param sizeBytes size, a positive multiple of 512
 * @param attributes the raw attribute bits
 * @param content writes the partition's data
 */
public record GptPartition(
    String name, UUID type, long sizeBytes, long attributes, PartitionContent content) {
  /** Partition type: EFI System Partition (UEFI 2.10 table 5.7). */
  public static final UUID EFI_SYSTEM = UUID.fromString("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");

  /** Partition type: UAPI Discoverable Partitions Specification: "/usr" partition for x86-64. */
  public static final UUID USR_X86_64 = UUID.fromString("8484680c-9521-48c6-9c11-b0720656f69e");

  /** Partition type: UAPI Discoverable Partitions Specification: root partition for x86-64. */
  public static final UUID ROOT_X86_64 = UUID.fromString("4f68bce3-e8cd-4db1-96e7-fbcaf984b709");

  /** Partition type: Linux filesystem data (generic Linux data partition). */
  public static final UUID LINUX_DATA = UUID.fromString("0fc63daf-8483-4772-8e79-3d69d8477de4");

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
