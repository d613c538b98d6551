package io.basalt.signing.tuf.client;

/**
 * Limits the {@link Updater} enforces. Immutable.
 *
 * @param maxRootRotations how many new root versions one refresh may walk (5.3)
 * @param maxDelegations how many roles one target search may visit (5.6.7)
 * @param rootMaxLength maximum bytes of a root file
 * @param timestampMaxLength maximum bytes of timestamp.json
 * @param snapshotMaxLength maximum bytes of snapshot when timestamp gives no length
 * @param targetsMaxLength maximum bytes of a targets role when snapshot gives no length
 */
public record UpdaterConfig(
    int maxRootRotations,
    int maxDelegations,
    long rootMaxLength,
    long timestampMaxLength,
    long snapshotMaxLength,
    long targetsMaxLength) {

  /**
   * The defaults: 256 rotations, 32 roles, 512 KB root, 16 KB timestamp, 2 MB snapshot, 5 MB
   * targets (as python-tuf).
   */
  public static UpdaterConfig defaults() {
    return new UpdaterConfig(256, 32, 512_000, 16_384, 2_000_000, 5_000_000);
  }

  /** Copy with another maximum role count. */
  public UpdaterConfig withMaxDelegations(int n) {
    return new UpdaterConfig(
        maxRootRotations,
        n,
        rootMaxLength,
        timestampMaxLength,
        snapshotMaxLength,
        targetsMaxLength);
  }

  /** Copy with another maximum number of root rotations. */
  public UpdaterConfig withMaxRootRotations(int n) {
    return new UpdaterConfig(
        n, maxDelegations, rootMaxLength, timestampMaxLength, snapshotMaxLength, targetsMaxLength);
  }

  /** Copy with other metadata size limits. */
  public UpdaterConfig withMaxLengths(long root, long timestamp, long snapshot, long targets) {
    return new UpdaterConfig(maxRootRotations, maxDelegations, root, timestamp, snapshot, targets);
  }
}
