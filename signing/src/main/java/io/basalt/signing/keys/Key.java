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
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * A TUF public key object ({@code keytype}, {@code scheme}, {@code keyval.public}, plus any unknown
 * fields, kept). Keys of unsupported types parse but never verify a signature. Immutable and
 * thread-safe.
 */
public final class Key {

  /** DER SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410), followed by the 32 raw bytes. */
  private static final byte[] ED25519_SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  /**
   * Ed25519 signatures verified with the JDK before switching to BouncyCastle's RFC 8032 code:
   * the JDK's needs no class loading from a signed jar (cheap for the few signatures of a usual
   * refresh), BouncyCastle's costs less per signature (cheap for hundreds of delegated roles).
   * Both implement RFC 8032 verification (canonical S, point decoding); see signing/README.md.
   */
  public static final int JDK_ED25519_VERIFICATIONS = 32;

  static final AtomicInteger ED25519_VERIFICATIONS = new AtomicInteger();

  /** Set once BouncyCastle's Ed25519 code is loaded and has verified a known signature. */
  private static volatile boolean bcEd25519Ready;
  private static final AtomicBoolean BC_WARMUP_STARTED = new AtomicBoolean();
  /** Counted down when the warm-up has finished, whether or not it succeeded. */
  private static final CountDownLatch BC_WARMUP_DONE = new CountDownLatch(1);

  /** RFC 8032 section 7.1, TEST 1 (empty message): used to load and exercise BouncyCastle's code. */
  private static final String RFC8032_TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  private static final String RFC8032_TEST1_SIGNATURE = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

  /**
   * Announces that many Ed25519 signatures may follow (a targets role delegating to many roles):
   * loads BouncyCastle's Ed25519 code on a background daemon thread (once per process), so that the
   * ~0.2-0.3 s of CPU it costs at first use (mostly checking the signed jar) overlaps with the
   * client's work instead of stalling it; verifications switch to it as soon as it is ready.
   */
  public static void expectManyEd25519Signatures() {
    if (bcEd25519Ready || !BC_WARMUP_STARTED.compareAndSet(false, true)) {
      return;
    }
    Thread t = new Thread(() -> {
      try {
        warmUpBouncyCastle();
      } finally {
        BC_WARMUP_DONE.countDown();
      }
    }, "basalt-ed25519-warmup");
    t.setDaemon(true);
    t.start();
  }

  /**
   * If a warm-up was started and has not finished, waits for it (so that the signatures of many
   * delegated roles are not checked by the JDK's slower code meanwhile); else returns at once.
   * An interrupt ends the wait early (the interrupt status is kept; verification then proceeds).
   */
  public static void awaitEd25519WarmUp() {
    if (bcEd25519Ready || !BC_WARMUP_STARTED.get()) {
      return;
    }
    try {
      BC_WARMUP_DONE.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void warmUpBouncyCastle() {
    try {
      Ed25519.PublicPoint p = Ed25519.validatePublicKeyPartialExport(HexFormat.of().parseHex(RFC8032_TEST1_PUBLIC), 0);
      byte[] sig = HexFormat.of().parseHex(RFC8032_TEST1_SIGNATURE);
      if (p != null && Ed25519.verify(sig, 0, p, new byte[0], 0, 0)) {
        bcEd25519Ready = true;
      }
    } catch (RuntimeException | LinkageError e) {
      // stays on the JDK's implementation
    }
  }

  private final Map<String, Object> json;
  private final String keytype;
  private final String scheme;
  private final String publicValue;
  private final KeyType type;
  private volatile Object decoded;
  private volatile PublicKey jdkEd25519;
  private volatile Ed25519.PublicPoint bcEd25519;

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
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(CanonicalJson.encode(json)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /**
   * Checks a signature over data. Never throws for bad input: malformed keys or signatures and
   * unsupported schemes simply do not verify.
   */
  public boolean verify(byte[] data, byte[] signature) {
    if (type == null) {
      return false;
    }
    try {
      switch (type) {
        case ED25519: {
          if (signature.length != 64) {
            return false;
          }
          int n = ED25519_VERIFICATIONS.getAndIncrement();
          if (!bcEd25519Ready && n < JDK_ED25519_VERIFICATIONS) {
            // The JDK's EdDSA: nothing is loaded from BouncyCastle's large signed jar (verifying
            // that jar's signature costs ~0.2-0.3 s of CPU at first use). Switches early when the
            // warm-up thread (if one was started) has that done; never more than 32 (~1.5 ms each
            // even compiled, against ~0.3 ms), then waits for BouncyCastle.
            return verifyEd25519Jdk(data, signature);
          }
          // Many signatures (e.g. hundreds of delegated roles): BouncyCastle's RFC 8032 code,
          // called directly (no JCA provider), about 1 ms cheaper per signature in a cold JVM.
          return verifyEd25519Bc(data, signature);
        }
        case ECDSA: {
          Signature s = Signature.getInstance("SHA256withECDSA");
          s.initVerify((PublicKey) decoded());
          s.update(data);
          return s.verify(signature);
        }
        case RSA: {
          RSAPublicKey pk = (RSAPublicKey) decoded();
          int modBytes = (pk.getModulus().bitLength() + 7) / 8;
          // securesystemslib and go-tuf sign with salt = digest length; some signers use the maximum.
          for (int salt : new int[] {32, modBytes - 32 - 2}) {
            Signature s = Signature.getInstance("RSASSA-PSS");
            s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, salt, 1));
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

  /** Ed25519 (RFC 8032) verification by the JDK's SunEC provider; false for anything malformed. */
  boolean verifyEd25519Jdk(byte[] data, byte[] signature) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(jdkEd25519());
      s.update(data);
      return s.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** Ed25519 (RFC 8032) verification by BouncyCastle's rfc8032 code (no JCA provider); false for anything malformed. */
  boolean verifyEd25519Bc(byte[] data, byte[] signature) {
    try {
      return signature.length == 64 && Ed25519.verify(signature, 0, bcEd25519(), data, 0, data.length);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /** Whether the background warm-up of BouncyCastle's Ed25519 code has finished (tests). */
  static boolean bouncyCastleEd25519Ready() {
    return bcEd25519Ready;
  }

  private Object decoded() throws GeneralSecurityException {
    Object d = decoded;
    if (d == null) {
      d = decode();
      decoded = d;
    }
    return d;
  }

  private Object decode() throws GeneralSecurityException {
    switch (type) {
      case ED25519:
        byte[] raw = HexFormat.of().parseHex(publicValue);
        if (raw.length != 32) {
          throw new GeneralSecurityException("ed25519 public key must be 32 bytes, found " + raw.length);
        }
        return raw;
      case ECDSA:
        return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(pemBody(publicValue)));
      case RSA:
        return KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(pemBody(publicValue)));
      default:
        throw new GeneralSecurityException("unsupported key type " + keytype);
    }
  }

  private PublicKey jdkEd25519() throws GeneralSecurityException {
    PublicKey k = jdkEd25519;
    if (k == null) {
      byte[] raw = (byte[]) decoded();
      byte[] spki = new byte[ED25519_SPKI_PREFIX.length + 32];
      System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
      System.arraycopy(raw, 0, spki, ED25519_SPKI_PREFIX.length, 32);
      k = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
      jdkEd25519 = k;
    }
    return k;
  }

  private Ed25519.PublicPoint bcEd25519() throws GeneralSecurityException {
    Ed25519.PublicPoint p = bcEd25519;
    if (p == null) {
      // Decodes the point (RFC 8032 5.1.3), as the JDK does; null when it is not on the curve.
      p = Ed25519.validatePublicKeyPartialExport((byte[]) decoded(), 0);
      if (p == null) {
        throw new GeneralSecurityException("ed25519 public key is not a valid curve point");
      }
      bcEd25519 = p;
    }
    return p;
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
