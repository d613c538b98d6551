package io.basalt.update.lock;

import java.io.IOException;

/**
 * The value under a semaphore key is not in locksmith's format; the message names the key, the
 * offending field, what was expected and what was found. Immutable.
 */
public final class SemaphoreFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public SemaphoreFormatException(String message) {
    super(message);
  }

  public SemaphoreFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
