package io.basalt.qemu;

import java.nio.file.Path;

/**
 * A VM did not print what a test waited for (timeout, QEMU exit or a failure marker); the message
 * carries the console tail and the path of the full console log. Immutable.
 */
public final class QemuTimeoutException extends AssertionError {
  private static final long serialVersionUID = 1L;
  private final transient Path log;

  QemuTimeoutException(String what, String consoleTail, Path log) {
    super(
        what
            + "\n--- console tail (full log: "
            + log
            + ") ---\n"
            + consoleTail
            + "\n--- end of console ---");
    this.log = log;
  }

  /** The full console log file. */
  public Path log() {
    return log;
  }
}
