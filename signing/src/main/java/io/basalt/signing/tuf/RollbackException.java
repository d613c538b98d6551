package io.basalt.signing.tuf;

/** New metadata (or a version it lists) is older than what the client already trusts. */
public final class RollbackException extends TufException {
  private static final long serialVersionUID = 1L;
  private final long trustedVersion;
  private final long receivedVersion;

  /** Creates the exception; role names the metadata whose version went back. */
  public RollbackException(String role, long trustedVersion, long receivedVersion) {
    super(
        role,
        role
            + ": rollback: trusted version "
            + trustedVersion
            + ", received version "
            + receivedVersion);
    this.trustedVersion = trustedVersion;
    this.receivedVersion = receivedVersion;
  }

  /** The version already trusted. */
  public long trustedVersion() {
    return trustedVersion;
  }

  /** The older version received. */
  public long receivedVersion() {
    return receivedVersion;
  }
}
