package io.basalt.image.gpt;

import java.io.IOException;

/** A GPT that cannot be written or read as asked: the message names the partition or structure. */
public final class GptFormatException extends IOException {
  public GptFormatException(String message) {
    super(message);
  }
}
