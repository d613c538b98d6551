package io.basalt.signing.tuf;

/** Metadata whose version is not the one its referrer (root chain, timestamp, snapshot) named. */
public final class VersionMismatchException extends TufException {
  private static final long serialVersionUID = 1L;
  private final long expectedVersion;
  private final long receivedVersion;

  /** Creates the exception with the version expected and the version received. */
  public VersionMismatchException(String role, long expectedVersion, long receivedVersion) {
    super(
        role,
        role + ": expected version " + expectedVersion + ", received version " + receivedVersion);
    this.expectedVersion = expectedVersion;
    this.receivedVersion = receivedVersion;
  }

  /** The version named by the referrer. */
  public long expectedVersion() {
    return expectedVersion;
  }

  /** The version in the received metadata. */
  public long receivedVersion() {
    return receivedVersion;
  }
}
