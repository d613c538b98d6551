package io.basalt.image.qcow2;

import java.io.IOException;

/** A raw image that cannot be converted to qcow2: the message names it and says why. */
public final class Qcow2Exception extends IOException {
  public Qcow2Exception(String message) {
    super(message);
  }
}
