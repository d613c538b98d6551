package io.basalt.signing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class KeysTest {
  private static final SecureRandom RNG = new SecureRandom();

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void signsAndVerifies(KeyType type) {
    SigningKey k = SigningKey.generate(type, RNG);
    byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
    byte[] sig = k.sign(data);
    assertTrue(k.publicKey().verify(data, sig));
    assertFalse(k.publicKey().verify("hellO".getBytes(StandardCharsets.UTF_8), sig));
    sig[sig.length / 2] ^= 1;
    assertFalse(k.publicKey().verify(data, sig));
    assertEquals(type.keytype(), k.publicKey().keytype());
    assertEquals(type.scheme(), k.publicKey().scheme());
  }

  @ParameterizedTest
  @EnumSource(KeyType.class)
  void encryptedPemRoundTripsAndWrongPassphraseIsClear(KeyType type) throws Exception {
    SigningKey k = SigningKey.generate(type, RNG);
    byte[] pem = k.toEncryptedPem("correct horse".toCharArray(), RNG);
    assertTrue(new String(pem, StandardCharsets.US_ASCII).startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    SigningKey back = SigningKey.fromEncryptedPem(pem, "correct horse".toCharArray(), "keys/x.pem");
    assertEquals(k.keyId(), back.keyId());
    byte[] data = {1, 2, 3};
    assertTrue(k.publicKey().verify(data, back.sign(data)));
    var e = assertThrows(WrongPassphraseException.class,
        () -> SigningKey.fromEncryptedPem(pem, "wrong".toCharArray(), "keys/x.pem"));
    assertTrue(e.getMessage().contains("keys/x.pem") && e.getMessage().contains("wrong passphrase"), e.getMessage());
  }

  @Test
  void keyIdIsSha256OfCanonicalKeyObject() throws Exception {
    Key k = Key.of(KeyType.ED25519, "ab".repeat(32));
    String canonical = "{\"keytype\":\"ed25519\",\"keyval\":{\"public\":\"" + "ab".repeat(32)
        + "\"},\"scheme\":\"ed25519\"}";
    assertEquals(Hashes.sha256(canonical.getBytes(StandardCharsets.UTF_8)), k.keyId());
    Key parsed = Key.fromJson(CanonicalJson.parseObject(canonical.getBytes(StandardCharsets.UTF_8)));
    assertEquals(k.keyId(), parsed.keyId());
  }

  @Test
  void unknownKeyTypeParsesButNeverVerifies() throws Exception {
    Key k = Key.fromJson(CanonicalJson.parseObject(
        "{\"keytype\":\"x448\",\"scheme\":\"x\",\"keyval\":{\"public\":\"00\"},\"extra\":1}".getBytes(StandardCharsets.UTF_8)));
    assertFalse(k.verify(new byte[1], new byte[64]));
    assertEquals(null, k.type());
    assertTrue(((Map<?, ?>) k.toJson()).containsKey("extra"));
  }
}
