package io.basalt.signing.json;

import java.io.IOException;

/**
 * Thrown when bytes are not strict JSON acceptable for TUF (floats, duplicate keys, bad syntax).
 */
public final class JsonFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message naming what was wrong and where. */
  public JsonFormatException(String message) {
    super(message);
  }
}
