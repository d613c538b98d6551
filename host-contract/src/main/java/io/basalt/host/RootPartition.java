package io.basalt.host;

import java.nio.charset.StandardCharsets;

/**
 * The ROOT partition's first-boot marker: the image builder writes {@link #FIRST_BOOT_MARKER} at
 * the partition's first byte, the initramfs {@code /init} makes a file system on a ROOT without one
 * only while the marker is there, and clears it once it has (ext4 leaves the partition's first 1024
 * bytes unused). A ROOT with neither a file system nor the marker is never formatted. Stateless,
 * thread-safe.
 */
public final class RootPartition {

  /** The marker's bytes (ASCII, no terminator) at offset 0 of an unformatted ROOT. */
  public static final String FIRST_BOOT_MARKER = "BASALT-ROOT-FIRST-BOOT";

  private RootPartition() {}

  /** The bytes of {@link #FIRST_BOOT_MARKER}, as written to the partition. */
  public static byte[] firstBootMarker() {
    return FIRST_BOOT_MARKER.getBytes(StandardCharsets.US_ASCII);
  }
}
