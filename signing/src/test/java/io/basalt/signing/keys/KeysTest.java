package io.basalt.signing.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.tuf.Hashes;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

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
    assertTrue(
        new String(pem, StandardCharsets.US_ASCII)
            .startsWith("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    SigningKey back = SigningKey.fromEncryptedPem(pem, "correct horse".toCharArray(), "keys/x.pem");
    assertEquals(k.keyId(), back.keyId());
    byte[] data = {1, 2, 3};
    assertTrue(k.publicKey().verify(data, back.sign(data)));
    var e =
        assertThrows(
            WrongPassphraseException.class,
            () -> SigningKey.fromEncryptedPem(pem, "wrong".toCharArray(), "keys/x.pem"));
    assertTrue(
        e.getMessage().contains("keys/x.pem") && e.getMessage().contains("wrong passphrase"),
        e.getMessage());
  }

  /**
   * Ed25519 (the JDK's RFC 8032 code) accepts the RFC 8032 test vector and valid signatures and
   * rejects tampered, truncated and non-canonical (S + L) ones.
   */
  @Test
  void ed25519AcceptsValidAndRejectsTamperedTruncatedAndNonCanonicalSignatures() throws Exception {
    Key rfc =
        Key.of(KeyType.ED25519, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    byte[] rfcSig =
        java.util.HexFormat.of()
            .parseHex(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
                    + "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    assertTrue(rfc.verify(new byte[0], rfcSig), "RFC 8032 test 1");
    assertFalse(rfc.verify(new byte[] {0}, rfcSig), "RFC 8032 test 1, other message");
    SigningKey k = SigningKey.generate(KeyType.ED25519, RNG);
    Key pub = k.publicKey();
    byte[] l =
        java.util.HexFormat.of()
            .parseHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    for (int i = 0; i < 8; i++) {
      byte[] data = ("message " + i).getBytes(StandardCharsets.UTF_8);
      byte[] sig = k.sign(data);
      assertTrue(pub.verify(data, sig), "round " + i);
      byte[] flipped = sig.clone();
      flipped[i * 8] ^= 1;
      assertFalse(pub.verify(data, flipped), "flipped bit, round " + i);
      assertFalse(pub.verify(data, java.util.Arrays.copyOf(sig, 63)), "short, round " + i);
      // S + L (little-endian): the same point equation, but a non-canonical scalar (RFC 8032
      // 5.1.7).
      byte[] malleable = sig.clone();
      int carry = 0;
      for (int j = 0; j < 32; j++) {
        int sum = (malleable[32 + j] & 0xff) + (l[j] & 0xff) + carry;
        malleable[32 + j] = (byte) sum;
        carry = sum >> 8;
      }
      assertFalse(pub.verify(data, malleable), "S + L, round " + i);
    }
  }

  @Test
  void keyIdIsSha256OfCanonicalKeyObject() throws Exception {
    Key k = Key.of(KeyType.ED25519, "ab".repeat(32));
    String canonical =
        "{\"keytype\":\"ed25519\",\"keyval\":{\"public\":\""
            + "ab".repeat(32)
            + "\"},\"scheme\":\"ed25519\"}";
    assertEquals(Hashes.sha256(canonical.getBytes(StandardCharsets.UTF_8)), k.keyId());
    Key parsed =
        Key.fromJson(CanonicalJson.parseObject(canonical.getBytes(StandardCharsets.UTF_8)));
    assertEquals(k.keyId(), parsed.keyId());
  }

  @Test
  void unknownKeyTypeParsesButNeverVerifies() throws Exception {
    Key k =
        Key.fromJson(
            CanonicalJson.parseObject(
                "{\"keytype\":\"x448\",\"scheme\":\"x\",\"keyval\":{\"public\":\"00\"},\"extra\":1}"
                    .getBytes(StandardCharsets.UTF_8)));
    assertFalse(k.verify(new byte[1], new byte[64]));
    assertEquals(null, k.type());
    assertTrue(((Map<?, ?>) k.toJson()).containsKey("extra"));
  }
}
