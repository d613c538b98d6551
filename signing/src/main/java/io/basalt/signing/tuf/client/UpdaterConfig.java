package io.basalt.signing.tuf.client;

/**
 * Limits the {@link Updater} enforces, and how many threads check delegated roles' signatures.
 * Immutable.
 *
 * @param maxRootRotations how many new root versions one refresh may walk (5.3)
 * @param maxDelegations how many roles one target search may visit (5.6.7)
 * @param rootMaxLength maximum bytes of a root file
 * @param timestampMaxLength maximum bytes of timestamp.json
 * @param snapshotMaxLength maximum bytes of snapshot when timestamp gives no length
 * @param targetsMaxLength maximum bytes of a targets role when snapshot gives no length
 * @param verifierThreads how many threads check the signatures of the delegated roles a target
 *     search loads (0: one per available processor)
 */
public record UpdaterConfig(int maxRootRotations, int maxDelegations, long rootMaxLength, long timestampMaxLength,
    long snapshotMaxLength, long targetsMaxLength, int verifierThreads) {

  /** Checks the values. */
  public UpdaterConfig {
    if (verifierThreads < 0) {
      throw new IllegalArgumentException("verifierThreads must be >= 0, found " + verifierThreads);
    }
  }

  /**
   * The defaults: 256 rotations, 32 roles, 512 KB root, 16 KB timestamp, 2 MB snapshot, 5 MB
   * targets (as python-tuf); signature checks of delegated roles on every available processor.
   */
  public static UpdaterConfig defaults() {
    return new UpdaterConfig(256, 32, 512_000, 16_384, 2_000_000, 5_000_000, 0);
  }

  /** Copy with another maximum role count. */
  public UpdaterConfig withMaxDelegations(int n) {
    return new UpdaterConfig(maxRootRotations, n, rootMaxLength, timestampMaxLength, snapshotMaxLength, targetsMaxLength,
        verifierThreads);
  }

  /** Copy with another maximum number of root rotations. */
  public UpdaterConfig withMaxRootRotations(int n) {
    return new UpdaterConfig(n, maxDelegations, rootMaxLength, timestampMaxLength, snapshotMaxLength, targetsMaxLength,
        verifierThreads);
  }

  /** Copy with other metadata size limits. */
  public UpdaterConfig withMaxLengths(long root, long timestamp, long snapshot, long targets) {
    return new UpdaterConfig(maxRootRotations, maxDelegations, root, timestamp, snapshot, targets, verifierThreads);
  }

  /** Copy with another number of signature-checking threads for delegated roles (0: one per processor). */
  public UpdaterConfig withVerifierThreads(int n) {
    return new UpdaterConfig(maxRootRotations, maxDelegations, rootMaxLength, timestampMaxLength, snapshotMaxLength,
        targetsMaxLength, n);
  }

  /** The number of signature-checking threads actually used: {@link #verifierThreads()}, or the processor count. */
  int effectiveVerifierThreads() {
    return verifierThreads > 0 ? verifierThreads : Math.max(1, Runtime.getRuntime().availableProcessors());
  }
}
