package io.basalt.update.install;

import io.basalt.signing.tuf.client.TargetInfo;

/**
 * A signed update found in the repository: the version and its three targets (the USR slot image,
 * kernel, initramfs) with the dm-verity root hash and hash offset from the signed custom metadata.
 * Immutable.
 */
public record Offer(
    String version,
    String channel,
    String arch,
    TargetInfo usr,
    TargetInfo kernel,
    TargetInfo initramfs,
    String usrRootHash,
    long usrHashOffset) {}
