package io.basalt.signing.tuf;

import java.io.IOException;

/**
 * Base of every TUF verification failure; each subclass is one failure class and carries its facts
 * (role, versions, expected vs actual) as fields. Immutable.
 */
public class TufException extends IOException {
  private static final long serialVersionUID = 1L;
  private final String role;

  /** Creates the exception for a role (may be null when no role applies). */
  public TufException(String role, String message) {
    super(message);
    this.role = role;
  }

  /** Creates the exception with a cause. */
  public TufException(String role, String message, Throwable cause) {
    super(message, cause);
    this.role = role;
  }

  /** The role the failure concerns (metadata role name or target path), or null. */
  public String role() {
    return role;
  }
}
