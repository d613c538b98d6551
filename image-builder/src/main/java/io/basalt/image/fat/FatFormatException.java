package io.basalt.image.fat;

import java.io.IOException;

/**
 * A FAT volume that cannot be written as asked: the message names the entry, the label or the
 * volume and says what was expected and what was found.
 */
public final class FatFormatException extends IOException {
  public FatFormatException(String message) {
    super(message);
  }
}
