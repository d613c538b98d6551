package io.basalt.update.install;

import io.basalt.signing.tuf.client.TargetInfo;

/**
 * A signed update found in the repository: the version and its three targets (the USR slot image,
 * kernel, initramfs) with the dm-verity root hash and hash offset from the signed custom metadata,
 * the chunk index of the USR image when the repository publishes one (null otherwise), and the
 * running version's chunk index with its image's signed root hash when the repository still
 * publishes them (null otherwise). Immutable.
 */
public record Offer(
    String version,
    String channel,
    String arch,
    TargetInfo usr,
    TargetInfo kernel,
    TargetInfo initramfs,
    String usrRootHash,
    long usrHashOffset,
    TargetInfo usrIndex,
    TargetInfo runningIndex,
    String runningRootHash) {

  /** An offer without the running version's index. */
  public Offer(
      String version,
      String channel,
      String arch,
      TargetInfo usr,
      TargetInfo kernel,
      TargetInfo initramfs,
      String usrRootHash,
      long usrHashOffset,
      TargetInfo usrIndex) {
    this(
        version,
        channel,
        arch,
        usr,
        kernel,
        initramfs,
        usrRootHash,
        usrHashOffset,
        usrIndex,
        null,
        null);
  }

  /** An offer without a chunk index (full payload only). */
  public Offer(
      String version,
      String channel,
      String arch,
      TargetInfo usr,
      TargetInfo kernel,
      TargetInfo initramfs,
      String usrRootHash,
      long usrHashOffset) {
    this(version, channel, arch, usr, kernel, initramfs, usrRootHash, usrHashOffset, null);
  }
}
