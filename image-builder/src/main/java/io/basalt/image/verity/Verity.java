package io.basalt.image.verity;

import java.nio.channels.SeekableByteChannel;

/**
 * dm-verity formatting in pure Java, byte-compatible with {@code veritysetup format} (format
 * version 1, SHA-256, 4096-byte data and hash blocks): a channel that hashes an image while it is
 * written and appends the hash tree after it. Stateless and thread-safe.
 */
final class Verity {
  /** Data and hash block size, bytes. */
  static final int BLOCK_SIZE = HashTree.BLOCK;

  private Verity() {}

  /**
   * Wraps a readable and writable channel positioned at 0 of an empty data area: writes in order
   * are hashed as they pass, blocks patched later are re-read once at the end.
   */
  static VerityChannel channel(SeekableByteChannel channel, VerityParams params) {
    return new VerityChannel(channel, params);
  }
}
