package io.basalt.signing.keys;

import java.io.IOException;

/** Thrown when a passphrase does not decrypt an encrypted private key file. */
public final class WrongPassphraseException extends IOException {
  private static final long serialVersionUID = 1L;
  private final String source;

  /** Creates the exception for the named key file. */
  public WrongPassphraseException(String source) {
    super(source + ": wrong passphrase (the key could not be decrypted)");
    this.source = source;
  }

  /** The key file that could not be decrypted. */
  public String source() {
    return source;
  }
}
