package io.basalt.image.iso;

import java.io.IOException;

/**
 * An ISO 9660 image that cannot be written as asked: the message names the entry, the volume ID or
 * the boot image and says what was expected and what was found.
 */
public final class IsoFormatException extends IOException {
  public IsoFormatException(String message) {
    super(message);
  }
}
