package io.basalt.image.cpio;

import java.io.IOException;

/**
 * An image-tree entry could not be written to a cpio archive: its name, target, size or another
 * field cannot be represented, or its content could not be read or changed while being read. The
 * message starts with the in-image path.
 */
public final class CpioEntryException extends IOException {
  private final String path;

  CpioEntryException(String path, String problem) {
    super(path + ": " + problem);
    this.path = path;
  }

  CpioEntryException(String path, String problem, Throwable cause) {
    super(path + ": " + problem, cause);
    this.path = path;
  }

  /** The in-image path of the entry ("/" for the root). */
  public String path() {
    return path;
  }
}
