package io.basalt.image.verity;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * A dm-verity hash tree (format version 1, SHA-256, 4096-byte data and hash blocks) built from the
 * digests of the data blocks, and the on-disk hash area that holds it. Follows the kernel's
 * drivers/md/dm-verity-target.c (levels, {@code hash_level_block}) and cryptsetup's
 * lib/verity/verity_hash.c (construction) and lib/verity/verity.c ({@code struct verity_sb}).
 * Immutable once built; thread-safe for reading.
 *
 * <p>Geometry: {@code digests[0]} are the salted hashes of the data blocks. Hash level {@code i}
 * ({@code 0 <= i < levels}) is {@code digests[i]} packed 128 to a 4096-byte block, the last block
 * zero-padded; {@code digests[i + 1]} are the salted hashes of the level-{@code i} blocks. The
 * single digest of {@code digests[levels]} is the root hash (for one data block there are no hash
 * levels and the root hash is that block's hash). Every hash is SHA-256(salt || block) (version 1;
 * Chrome OS version 0 puts the salt last). On disk the hash area starts with the superblock in a
 * block of its own, then the levels from the top (one block) down to level 0.
 */
final class HashTree {
  static final int BLOCK = 4096;
  static final int DIGEST = DigestList.DIGEST;
  static final int PER_BLOCK = BLOCK / DIGEST; // 128
  static final int PER_BLOCK_BITS = 7;
  static final int SUPERBLOCK_SIZE = 512;
  private static final byte[] ZEROS = new byte[BLOCK];

  private final VerityParams params;
  private final List<DigestList> digests;
  private final long dataBlocks;

  private HashTree(VerityParams params, List<DigestList> digests) {
    this.params = params;
    this.digests = digests;
    this.dataBlocks = digests.get(0).size();
  }

  /**
   * Number of hash levels for {@code dataBlocks} data blocks, as the kernel computes it: the
   * smallest {@code L} with {@code (dataBlocks - 1) >> (7 * L) == 0}.
   */
  static int levels(long dataBlocks) {
    requirePositive(dataBlocks);
    int levels = 0;
    while (PER_BLOCK_BITS * levels < 64 && ((dataBlocks - 1) >>> (PER_BLOCK_BITS * levels)) != 0) {
      levels++;
    }
    return levels;
  }

  /** Blocks in hash level {@code level}: ceil(dataBlocks / 128^(level + 1)). */
  static long levelBlocks(long dataBlocks, int level) {
    requirePositive(dataBlocks);
    int shift = (level + 1) * PER_BLOCK_BITS;
    return shift >= 64 ? 1 : ((dataBlocks - 1) >>> shift) + 1;
  }

  /** Hash blocks of the whole tree (the superblock's block not included). */
  static long treeBlocks(long dataBlocks) {
    long sum = 0;
    for (int i = 0; i < levels(dataBlocks); i++) {
      sum = Math.addExact(sum, levelBlocks(dataBlocks, i));
    }
    return sum;
  }

  /** Builds the upper levels over the data-block digests {@code leaves} (which it keeps). */
  static HashTree build(VerityParams params, DigestList leaves) {
    long n = leaves.size();
    int levels = levels(n);
    List<DigestList> digests = new ArrayList<>(levels + 1);
    digests.add(leaves);
    MessageDigest md = VerityParams.Sha256.newDigest();
    byte[] salt = params.saltUnsafe();
    for (int i = 0; i < levels; i++) {
      DigestList below = digests.get(i);
      DigestList above = new DigestList();
      for (long first = 0; first < below.size(); first += PER_BLOCK) {
        int count = (int) Math.min(PER_BLOCK, below.size() - first);
        md.update(salt);
        md.update(below.chunkOf(first), DigestList.offsetInChunk(first), count * DIGEST);
        md.update(ZEROS, 0, BLOCK - count * DIGEST);
        above.append(md);
      }
      if (above.size() != levelBlocks(n, i)) {
        throw new AssertionError(
            "level " + i + ": " + above.size() + " blocks, expected " + levelBlocks(n, i));
      }
      digests.add(above);
    }
    return new HashTree(params, digests);
  }

  long dataBlocks() {
    return dataBlocks;
  }

  int levels() {
    return digests.size() - 1;
  }

  byte[] rootHash() {
    DigestList top = digests.get(digests.size() - 1);
    if (top.size() != 1) {
      throw new AssertionError("top level has " + top.size() + " digests");
    }
    return top.get(0);
  }

  /** Bytes of the hash area: the superblock's block and the tree. */
  long hashAreaSize() {
    return Math.multiplyExact(1 + treeBlocks(dataBlocks), (long) BLOCK);
  }

  /**
   * The 512-byte {@code struct verity_sb} (cryptsetup lib/verity/verity.c), little-endian:
   * signature "verity\0\0", version 1, hash_type 1, uuid[16], algorithm[32] "sha256",
   * data_block_size, hash_block_size, data_blocks (u64), salt_size (u16), _pad1[6], salt[256],
   * _pad2[168].
   */
  byte[] superblock() {
    ByteBuffer b = ByteBuffer.allocate(SUPERBLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.put("verity\0\0".getBytes(StandardCharsets.US_ASCII));
    b.putInt(1); // superblock version
    b.putInt(1); // hash_type: 1 = normal (0 = Chrome OS)
    b.order(ByteOrder.BIG_ENDIAN)
        .putLong(params.uuid().getMostSignificantBits())
        .putLong(params.uuid().getLeastSignificantBits())
        .order(ByteOrder.LITTLE_ENDIAN);
    byte[] alg = new byte[32];
    byte[] name = "sha256".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(name, 0, alg, 0, name.length);
    b.put(alg);
    b.putInt(BLOCK); // data_block_size
    b.putInt(BLOCK); // hash_block_size
    b.putLong(dataBlocks);
    byte[] salt = params.saltUnsafe();
    b.putShort((short) salt.length);
    b.position(b.position() + 6); // _pad1
    b.put(salt); // salt[256], rest and _pad2 stay zero
    return b.array();
  }

  /** Writes the hash area: the superblock zero-padded to a block, then levels top to bottom. */
  void writeHashArea(OutputStream out) throws IOException {
    out.write(superblock());
    out.write(ZEROS, 0, BLOCK - SUPERBLOCK_SIZE);
    for (int i = levels() - 1; i >= 0; i--) {
      DigestList level = digests.get(i);
      for (long first = 0; first < level.size(); first += PER_BLOCK) {
        int count = (int) Math.min(PER_BLOCK, level.size() - first);
        out.write(level.chunkOf(first), DigestList.offsetInChunk(first), count * DIGEST);
        out.write(ZEROS, 0, BLOCK - count * DIGEST);
      }
    }
  }

  private static void requirePositive(long dataBlocks) {
    if (dataBlocks <= 0) {
      throw new IllegalArgumentException(
          "a verity tree needs at least one data block, got " + dataBlocks);
    }
  }
}
