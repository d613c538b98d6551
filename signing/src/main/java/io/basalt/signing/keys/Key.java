package io.basalt.signing.keys;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;

/**
 * A TUF public key object ({@code keytype}, {@code scheme}, {@code keyval.public}, plus any unknown
 * fields, kept). Keys of unsupported types parse but never verify a signature. Immutable and
 * thread-safe.
 */
public final class Key {

  /**
   * DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410), followed by the 32 raw bytes.
   */
  private static final byte[] ED25519_SPKI_PREFIX =
      HexFormat.of().parseHex("302a300506032b6570032100");

  private final Map<String, Object> json;
  private final String keytype;
  private final String scheme;
  private final String publicValue;
  private final KeyType type;

  private Key(Map<String, Object> json, String keytype, String scheme, String publicValue) {
    this.json = json;
    this.keytype = keytype;
    this.scheme = scheme;
    this.publicValue = publicValue;
    this.type = KeyType.of(keytype, scheme);
  }

  /**
   * Reads a key object.
   *
   * @throws IllegalArgumentException when required fields are missing or have the wrong type
   */
  public static Key fromJson(Map<String, Object> json) {
    String keytype = Json.string(json, "keytype", "key");
    String scheme = Json.string(json, "scheme", "key");
    Map<String, Object> keyval = Json.object(json, "keyval", "key");
    String pub = Json.string(keyval, "public", "key.keyval");
    return new Key(json, keytype, scheme, pub);
  }

  /** Builds the canonical key object for a supported type and its public value. */
  public static Key of(KeyType type, String publicValue) {
    Map<String, Object> keyval = CanonicalJson.newObject();
    keyval.put("public", publicValue);
    Map<String, Object> json = CanonicalJson.newObject();
    json.put("keytype", type.keytype());
    json.put("scheme", type.scheme());
    json.put("keyval", keyval);
    return new Key(json, type.keytype(), type.scheme(), publicValue);
  }

  /** The key as its JSON object (unknown fields included). */
  public Map<String, Object> toJson() {
    return json;
  }

  /** The TUF {@code keytype}. */
  public String keytype() {
    return keytype;
  }

  /** The TUF {@code scheme}. */
  public String scheme() {
    return scheme;
  }

  /** The public value ({@code keyval.public}). */
  public String publicValue() {
    return publicValue;
  }

  /** The supported type of this key, or null when Basalt cannot verify with it. */
  public KeyType type() {
    return type;
  }

  /** The key id: lowercase hex sha256 of the canonical JSON of the key object. */
  public String keyId() {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(CanonicalJson.encode(json)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /**
   * The public key as DER SubjectPublicKeyInfo re-encoded by the JDK, so that two key objects
   * holding one key (other fields, other PEM line breaks) give equal bytes; empty when the key is
   * of an unsupported type or cannot be decoded. Used to count each key once towards a threshold.
   */
  public byte[] publicKeyInfo() {
    if (type == null) {
      return new byte[0];
    }
    try {
      byte[] der = publicKey().getEncoded();
      return der == null ? new byte[0] : der;
    } catch (GeneralSecurityException | RuntimeException e) {
      return new byte[0];
    }
  }

  /**
   * Checks a signature over data with the JDK's providers: Ed25519 (RFC 8032, SunEC), ECDSA P-256
   * with SHA-256, RSASSA-PSS with SHA-256. Never throws for bad input: malformed keys or signatures
   * and unsupported schemes simply do not verify.
   */
  public boolean verify(byte[] data, byte[] signature) {
    if (type == null) {
      return false;
    }
    try {
      PublicKey pk = publicKey();
      switch (type) {
        case ED25519:
          {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(pk);
            s.update(data);
            return s.verify(signature);
          }
        case ECDSA:
          {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initVerify(pk);
            s.update(data);
            return s.verify(signature);
          }
        case RSA:
          {
            int modBytes = (((RSAPublicKey) pk).getModulus().bitLength() + 7) / 8;
            // securesystemslib and go-tuf sign with salt = digest length; some signers use the
            // maximum.
            for (int salt : new int[] {32, modBytes - 32 - 2}) {
              Signature s = Signature.getInstance("RSASSA-PSS");
              s.setParameter(
                  new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, salt, 1));
              s.initVerify(pk);
              s.update(data);
              if (s.verify(signature)) {
                return true;
              }
            }
            return false;
          }
        default:
          return false;
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Decodes the public value: ed25519 as 32 raw bytes (RFC 8410 SubjectPublicKeyInfo), others as
   * PEM.
   */
  private PublicKey publicKey() throws GeneralSecurityException {
    switch (type) {
      case ED25519:
        {
          byte[] raw = HexFormat.of().parseHex(publicValue);
          if (raw.length != 32) {
            throw new GeneralSecurityException(
                "ed25519 public key must be 32 bytes, found " + raw.length);
          }
          byte[] spki = new byte[ED25519_SPKI_PREFIX.length + 32];
          System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
          System.arraycopy(raw, 0, spki, ED25519_SPKI_PREFIX.length, 32);
          return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        }
      case ECDSA:
        return KeyFactory.getInstance("EC")
            .generatePublic(new X509EncodedKeySpec(pemBody(publicValue)));
      case RSA:
        return KeyFactory.getInstance("RSA")
            .generatePublic(new X509EncodedKeySpec(pemBody(publicValue)));
      default:
        throw new GeneralSecurityException("unsupported key type " + keytype);
    }
  }

  static byte[] pemBody(String pem) throws GeneralSecurityException {
    StringBuilder b64 = new StringBuilder();
    boolean in = false;
    for (String line : pem.split("\r?\n")) {
      String l = line.trim();
      if (l.startsWith("-----BEGIN PUBLIC KEY")) {
        in = true;
      } else if (l.startsWith("-----END")) {
        break;
      } else if (in) {
        b64.append(l);
      }
    }
    if (!in) {
      throw new GeneralSecurityException("not a PEM public key");
    }
    return Base64.getDecoder().decode(b64.toString());
  }

  static String toPem(byte[] spki) {
    String b64 = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(spki);
    return "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Key k && k.json.equals(json);
  }

  @Override
  public int hashCode() {
    return json.hashCode();
  }

  @Override
  public String toString() {
    return keytype + "/" + scheme + " " + keyId();
  }
}
