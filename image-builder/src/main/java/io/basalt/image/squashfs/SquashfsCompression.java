package io.basalt.image.squashfs;

/**
 * The compressors a squashfs image can use, with the id the superblock records (squashfs 4.0
 * superblock field {@code compression}). Immutable, thread-safe.
 */
public enum SquashfsCompression {
  /** zlib (RFC 1950) streams, id 1. */
  GZIP(1, 9),
  /** xz container streams with an LZMA2 filter and CRC32 check, id 4. */
  XZ(4, 6),
  /** zstd frames, id 6 (the default). */
  ZSTD(6, 15);

  private final int id;
  private final int defaultLevel;

  SquashfsCompression(int id, int defaultLevel) {
    this.id = id;
    this.defaultLevel = defaultLevel;
  }

  /** The compression id stored in the superblock. */
  public int id() {
    return id;
  }

  /** The level mksquashfs uses by default (gzip 9, xz preset 6, zstd 15). */
  public int defaultLevel() {
    return defaultLevel;
  }
}
