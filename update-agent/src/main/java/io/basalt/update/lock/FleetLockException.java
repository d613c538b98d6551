package io.basalt.update.lock;

import java.io.IOException;

/**
 * A FleetLock server answered with an error; carries the HTTP status and the protocol's error body
 * ({@code {"kind":..,"value":..}}). Immutable.
 */
public final class FleetLockException extends IOException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String kind;
  private final String value;

  public FleetLockException(String operation, int status, String kind, String value) {
    super(
        operation
            + " refused: HTTP "
            + status
            + (kind.isEmpty() ? "" : " " + kind)
            + (value.isEmpty() ? "" : ": " + value));
    this.status = status;
    this.kind = kind;
    this.value = value;
  }

  /** The HTTP status code. */
  public int status() {
    return status;
  }

  /** The error kind from the body (empty if the body had none). */
  public String kind() {
    return kind;
  }

  /** The error text from the body (the raw body if it was not FleetLock JSON). */
  public String value() {
    return value;
  }
}
