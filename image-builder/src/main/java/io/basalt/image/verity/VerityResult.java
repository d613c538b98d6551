package io.basalt.image.verity;

import java.util.UUID;

/**
 * What a dm-verity format produced: the root hash and everything needed to open the device ({@code
 * veritysetup open --hash-offset}, or a kernel {@code verity} table). Immutable and thread-safe.
 */
public final class VerityResult {
  private final byte[] rootHash;
  private final VerityParams params;
  private final long dataBlocks;
  private final long hashOffset;
  private final long hashAreaSize;
  private final int levels;

  VerityResult(HashTree tree, VerityParams params, long hashOffset) {
    this.rootHash = tree.rootHash();
    this.params = params;
    this.dataBlocks = tree.dataBlocks();
    this.hashOffset = hashOffset;
    this.hashAreaSize = tree.hashAreaSize();
    this.levels = tree.levels();
  }

  /** The root hash (SHA-256, 32 bytes); a copy. */
  public byte[] rootHash() {
    return rootHash.clone();
  }

  /**
   * The root hash in lower-case hex, as {@code veritysetup} prints it and {@code usrhash=} takes
   * it.
   */
  public String rootHashHex() {
    return Hex.of(rootHash);
  }

  /** A copy of the salt. */
  public byte[] salt() {
    return params.salt();
  }

  public String saltHex() {
    return Hex.of(params.saltUnsafe());
  }

  /** The UUID stored in the superblock. */
  public UUID uuid() {
    return params.uuid();
  }

  /** Number of 4096-byte data blocks covered (the data size, padded, divided by 4096). */
  public long dataBlocks() {
    return dataBlocks;
  }

  /** Bytes of data covered: {@code dataBlocks() * 4096}. */
  public long dataSize() {
    return dataBlocks * HashTree.BLOCK;
  }

  /**
   * Byte offset of the superblock in the hash device ({@code veritysetup --hash-offset}): the
   * padded data size in the appended layout, 0 for a separate hash file.
   */
  public long hashOffset() {
    return hashOffset;
  }

  /** Bytes of the hash area: the superblock's 4096-byte block plus the tree's hash blocks. */
  public long hashAreaSize() {
    return hashAreaSize;
  }

  /**
   * The offset just after the hash area, {@code hashOffset() + hashAreaSize()}: in the appended
   * layout, the size of the whole image (padded data, superblock block and tree).
   */
  public long hashEnd() {
    return hashOffset + hashAreaSize;
  }

  /** Hash blocks of the tree, the superblock's block not counted (veritysetup's "Hash blocks"). */
  public long hashBlocks() {
    return hashAreaSize / HashTree.BLOCK - 1;
  }

  /**
   * The kernel verity table's {@code <hash_start_block>}: the first tree block, in 4096-byte blocks
   * of the hash device, i.e. the block after the superblock.
   */
  public long hashStartBlock() {
    return hashOffset / HashTree.BLOCK + 1;
  }

  /** Number of hash levels (0 for a single data block). */
  public int levels() {
    return levels;
  }

  @Override
  public String toString() {
    return "VerityResult[root="
        + rootHashHex()
        + ", salt="
        + saltHex()
        + ", uuid="
        + uuid()
        + ", dataBlocks="
        + dataBlocks
        + ", hashOffset="
        + hashOffset
        + ", hashAreaSize="
        + hashAreaSize
        + "]";
  }
}
