package io.basalt.signing.tuf;

/**
 * Metadata that is not well-formed TUF: bad JSON, wrong type, missing fields, duplicate signature
 * keyids.
 */
public final class BadMetadataException extends TufException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception for a role with the detail of what is wrong. */
  public BadMetadataException(String role, String detail) {
    super(role, role + ": malformed metadata: " + detail);
  }
}
