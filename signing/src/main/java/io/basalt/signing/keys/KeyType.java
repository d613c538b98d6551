package io.basalt.signing.keys;

import java.util.Locale;

/**
 * The key types Basalt can sign with, with their TUF {@code keytype} and {@code scheme} names.
 * Immutable.
 */
public enum KeyType {
  /** Ed25519, public key as 64 hex digits. */
  ED25519("ed25519", "ed25519"),
  /** ECDSA on NIST P-256 with SHA-256, public key as PEM SubjectPublicKeyInfo, DER signatures. */
  ECDSA("ecdsa", "ecdsa-sha2-nistp256"),
  /** RSASSA-PSS with SHA-256 (MGF1-SHA-256), public key as PEM SubjectPublicKeyInfo. */
  RSA("rsa", "rsassa-pss-sha256");

  private final String keytype;
  private final String scheme;

  KeyType(String keytype, String scheme) {
    this.keytype = keytype;
    this.scheme = scheme;
  }

  /** The TUF {@code keytype} value. */
  public String keytype() {
    return keytype;
  }

  /** The TUF {@code scheme} value. */
  public String scheme() {
    return scheme;
  }

  /**
   * Parses a user-facing name: ed25519, ecdsa (or ecdsa-sha2-nistp256), rsa (or rsassa-pss-sha256).
   *
   * @throws IllegalArgumentException for any other name
   */
  public static KeyType fromName(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    for (KeyType t : values()) {
      if (t.keytype.equals(n) || t.scheme.equals(n)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown key type '" + name + "', expected ed25519, ecdsa or rsa");
  }

  /** The supported type for a TUF keytype/scheme pair, or null when unsupported. */
  static KeyType of(String keytype, String scheme) {
    for (KeyType t : values()) {
      boolean typeOk =
          t.keytype.equals(keytype) || (t == ECDSA && "ecdsa-sha2-nistp256".equals(keytype));
      if (typeOk && t.scheme.equals(scheme)) {
        return t;
      }
    }
    return null;
  }
}
