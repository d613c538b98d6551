package io.basalt.image.gpt;

import java.util.UUID;

/** Well-known GPT partition type GUIDs used by Basalt disks. Constants only; thread-safe. */
public final class GptTypes {
  private GptTypes() {}

  /** EFI System Partition (UEFI 2.10 table 5.7). */
  public static final UUID EFI_SYSTEM = UUID.fromString("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");

  /** UAPI Discoverable Partitions Specification: "/usr" partition for x86-64. */
  public static final UUID USR_X86_64 = UUID.fromString("8484680c-9521-48c6-9c11-b0720656f69e");

  /** UAPI Discoverable Partitions Specification: root partition for x86-64. */
  public static final UUID ROOT_X86_64 = UUID.fromString("4f68bce3-e8cd-4db1-96e7-fbcaf984b709");

  /** Linux filesystem data (generic Linux data partition). */
  public static final UUID LINUX_DATA = UUID.fromString("0fc63daf-8483-4772-8e79-3d69d8477de4");
}
