package io.basalt.update.agent;

import java.io.IOException;

/** A configuration file that cannot be used; the message names the file and line. Immutable. */
final class ConfigException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message naming file:line, expected and found. */
  public ConfigException(String message) {
    super(message);
  }
}
