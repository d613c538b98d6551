package io.basalt.signing.tuf;

import java.time.Instant;

/** Metadata whose expiry is at or before the update start time (freeze attack). */
public final class ExpiredMetadataException extends TufException {
  private static final long serialVersionUID = 1L;
  private final Instant expires;
  private final Instant now;

  /** Creates the exception with the expiry found and the fixed update start time. */
  public ExpiredMetadataException(String role, Instant expires, Instant now) {
    super(role, role + ": expired at " + expires + " (update start time " + now + ")");
    this.expires = expires;
    this.now = now;
  }

  /** The metadata's expiry. */
  public Instant expires() {
    return expires;
  }

  /** The update start time it was checked against. */
  public Instant now() {
    return now;
  }
}
