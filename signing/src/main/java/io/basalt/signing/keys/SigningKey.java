package io.basalt.signing.keys;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.security.spec.RSAKeyGenParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.HexFormat;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;
import org.bouncycastle.jce.spec.ECPublicKeySpec;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCSException;

/**
 * A private signing key with its TUF public {@link Key}. Private keys are stored as encrypted
 * PKCS#8 PEM (PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC), readable by {@code openssl pkey}.
 * Immutable; signing is thread-safe.
 */
public final class SigningKey {

  private static final Provider BC = new BouncyCastleProvider();
  private static final int PBKDF2_ITERATIONS = 200_000;

  private final KeyType type;
  private final PrivateKey privateKey;
  private final Key publicKey;

  private SigningKey(KeyType type, PrivateKey privateKey, Key publicKey) {
    this.type = type;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /**
   * Generates a fresh key (RSA: 3072 bits).
   *
   * @throws IllegalStateException if the platform lacks the algorithm
   */
  public static SigningKey generate(KeyType type, SecureRandom random) {
    try {
      KeyPairGenerator g;
      switch (type) {
        case ED25519 -> {
          g = KeyPairGenerator.getInstance("Ed25519", BC);
          g.initialize(255, random);
        }
        case ECDSA -> {
          g = KeyPairGenerator.getInstance("EC", BC);
          g.initialize(new ECGenParameterSpec("secp256r1"), random);
        }
        case RSA -> {
          g =
              KeyPairGenerator.getInstance(
                  "RSA"); // the JDK's generator is several times faster than BC's
          g.initialize(new RSAKeyGenParameterSpec(3072, RSAKeyGenParameterSpec.F4), random);
        }
        default -> throw new IllegalArgumentException(type.toString());
      }
      KeyPair kp = g.generateKeyPair();
      return fromPrivate(kp.getPrivate());
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot generate " + type + " key", e);
    }
  }

  /** The key type. */
  public KeyType type() {
    return type;
  }

  /** The TUF public key object. */
  public Key publicKey() {
    return publicKey;
  }

  /** The key id of the public key. */
  public String keyId() {
    return publicKey.keyId();
  }

  /**
   * Signs data with this key's scheme.
   *
   * @throws IllegalStateException if the provider fails (should not happen for keys it made)
   */
  public byte[] sign(byte[] data) {
    try {
      Signature s;
      switch (type) {
        case ED25519 -> s = Signature.getInstance("Ed25519", BC);
        case ECDSA -> s = Signature.getInstance("SHA256withECDSA", BC);
        case RSA -> {
          s = Signature.getInstance("RSASSA-PSS", BC);
          s.setParameter(new PSSParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, 32, 1));
        }
        default -> throw new IllegalStateException(type.toString());
      }
      s.initSign(privateKey);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("signing with " + type + " key " + keyId() + " failed", e);
    }
  }

  /**
   * Writes the private key as encrypted PKCS#8 PEM.
   *
   * @throws IllegalArgumentException if the passphrase is empty
   */
  public byte[] toEncryptedPem(char[] passphrase, SecureRandom random) {
    if (passphrase == null || passphrase.length == 0) {
      throw new IllegalArgumentException("an empty passphrase cannot protect a private key");
    }
    try {
      OutputEncryptor enc =
          new JceOpenSSLPKCS8EncryptorBuilder(JcaPKCS8Generator.AES_256_CBC)
              .setProvider(BC)
              .setRandom(random)
              .setPRF(JcaPKCS8Generator.PRF_HMACSHA256)
              .setIterationCount(PBKDF2_ITERATIONS)
              .setPassword(passphrase)
              .build();
      StringWriter sw = new StringWriter();
      try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
        // Plain PKCS#8 v1 (no embedded public key): OpenSSL 3.0 rejects BC's v2 Ed25519 encoding.
        PrivateKeyInfo full = PrivateKeyInfo.getInstance(privateKey.getEncoded());
        PrivateKeyInfo v1 =
            new PrivateKeyInfo(full.getPrivateKeyAlgorithm(), full.parsePrivateKey());
        w.writeObject(new org.bouncycastle.openssl.PKCS8Generator(v1, enc));
      }
      return sw.toString().getBytes(StandardCharsets.US_ASCII);
    } catch (OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot encrypt private key " + keyId(), e);
    }
  }

  /**
   * Reads an encrypted PKCS#8 PEM private key (as written by {@link #toEncryptedPem} or by {@code
   * openssl genpkey ... -aes256}).
   *
   * @param source names the file in error messages
   * @throws WrongPassphraseException if the passphrase does not decrypt the key
   * @throws IOException if the PEM is not an encrypted private key of a supported type
   */
  public static SigningKey fromEncryptedPem(byte[] pem, char[] passphrase, String source)
      throws IOException {
    Object obj;
    try (PEMParser p =
        new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
      obj = p.readObject();
    }
    if (obj instanceof PrivateKeyInfo) {
      throw new IOException(
          source
              + ": private key is not encrypted; Basalt keeps keys encrypted at rest"
              + " (convert with: openssl pkcs8 -topk8 -v2 aes-256-cbc)");
    }
    if (!(obj instanceof PKCS8EncryptedPrivateKeyInfo enc)) {
      throw new IOException(
          source
              + ": expected an ENCRYPTED PRIVATE KEY PEM block, found "
              + (obj == null ? "nothing" : obj.getClass().getSimpleName()));
    }
    PrivateKeyInfo info;
    try {
      info =
          enc.decryptPrivateKeyInfo(
              new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(BC).build(passphrase));
    } catch (PKCSException | OperatorCreationException | RuntimeException e) {
      throw new WrongPassphraseException(source);
    }
    try {
      return fromPrivate(new JcaPEMKeyConverter().setProvider(BC).getPrivateKey(info));
    } catch (GeneralSecurityException | IOException | RuntimeException e) {
      throw new IOException(source + ": unsupported private key (" + e.getMessage() + ")", e);
    }
  }

  private static SigningKey fromPrivate(PrivateKey pk)
      throws GeneralSecurityException, IOException {
    String alg = pk.getAlgorithm();
    if (alg.equals("Ed25519") || alg.equals("EdDSA")) {
      PrivateKeyInfo info = PrivateKeyInfo.getInstance(pk.getEncoded());
      byte[] seed =
          org.bouncycastle.asn1.ASN1OctetString.getInstance(info.parsePrivateKey()).getOctets();
      byte[] pub = new Ed25519PrivateKeyParameters(seed, 0).generatePublicKey().getEncoded();
      return new SigningKey(
          KeyType.ED25519, pk, Key.of(KeyType.ED25519, HexFormat.of().formatHex(pub)));
    }
    if (pk instanceof ECPrivateKey ec) {
      ECNamedCurveParameterSpec spec = ECNamedCurveTable.getParameterSpec("secp256r1");
      if (ec.getParams().getCurve().getField().getFieldSize() != 256) {
        throw new GeneralSecurityException("only NIST P-256 ECDSA keys are supported");
      }
      BigInteger d = ec.getS();
      var q = spec.getG().multiply(d).normalize();
      var pub = KeyFactory.getInstance("EC", BC).generatePublic(new ECPublicKeySpec(q, spec));
      byte[] spki = SubjectPublicKeyInfo.getInstance(pub.getEncoded()).getEncoded();
      // Re-encode through the JDK so the SPKI uses the named-curve form openssl and others expect.
      var jdkPub = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spki));
      return new SigningKey(
          KeyType.ECDSA, pk, Key.of(KeyType.ECDSA, Key.toPem(jdkPub.getEncoded())));
    }
    if (pk instanceof RSAPrivateCrtKey rsa) {
      var pub =
          KeyFactory.getInstance("RSA")
              .generatePublic(new RSAPublicKeySpec(rsa.getModulus(), rsa.getPublicExponent()));
      return new SigningKey(KeyType.RSA, pk, Key.of(KeyType.RSA, Key.toPem(pub.getEncoded())));
    }
    throw new GeneralSecurityException("unsupported private key algorithm " + alg);
  }
}
