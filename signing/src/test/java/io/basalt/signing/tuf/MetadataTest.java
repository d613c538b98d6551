package io.basalt.signing.tuf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.SigningKey;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MetadataTest {
  private static final SecureRandom RNG = new SecureRandom();
  private final SigningKey key = SigningKey.generate(KeyType.ED25519, RNG);
  private final SigningKey key2 = SigningKey.generate(KeyType.ED25519, RNG);

  /**
   * A hand-written, non-canonical (whitespace, unsorted keys, escapes, unknown fields) timestamp.
   */
  private String signedText() {
    return "{\"_type\": \"timestamp\", \"version\": 3, \"spec_version\": \"1.0.34\",\n"
        + "  \"expires\": \"2031-01-01T00:00:00Z\", \"x-unknown\": {\"z\": 1, \"a\": \"\\u00e9\\n\"},\n"
        + "  \"meta\": {\"snapshot.json\": {\"version\": 7}}}";
  }

  private byte[] envelope(String signedText, String keyid, byte[] sig) {
    return ("{\"signed\": "
            + signedText
            + ", \"signatures\": [{\"keyid\": \""
            + keyid
            + "\", \"sig\": \""
            + HexFormat.of().formatHex(sig)
            + "\"}]}")
        .getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void verifiesOverCanonicalFormOfReceivedSignedObjectKeepingUnknownFields() throws Exception {
    byte[] canonical =
        CanonicalJson.encode(CanonicalJson.parse(signedText().getBytes(StandardCharsets.UTF_8)));
    byte[] raw = envelope(signedText(), key.keyId(), key.sign(canonical));
    Metadata m = Metadata.parse(raw, "timestamp", "timestamp");
    assertArrayEquals(raw, m.bytes());
    assertEquals(3, m.version());
    assertTrue(m.signed().containsKey("x-unknown"));
    SignatureVerifier.verify(
        m,
        "timestamp",
        Map.of(key.keyId(), key.publicKey()),
        new RoleKeys(List.of(key.keyId()), 1),
        "root");
    assertEquals(7, Timestamp.from(m).snapshot().version());

    // Changing only the unknown field invalidates the signature: unknown fields are covered.
    byte[] tampered =
        envelope(signedText().replace("\"z\": 1", "\"z\": 2"), key.keyId(), key.sign(canonical));
    Metadata t = Metadata.parse(tampered, "timestamp");
    var e =
        assertThrows(
            UnsignedMetadataException.class,
            () ->
                SignatureVerifier.verify(
                    t,
                    "timestamp",
                    Map.of(key.keyId(), key.publicKey()),
                    new RoleKeys(List.of(key.keyId()), 1),
                    "root"));
    assertEquals(0, e.validSignatures());
    assertEquals(1, e.threshold());
  }

  @Test
  void thresholdCountsEachKeyOnceAndRejectsDuplicateSignatureKeyids() throws Exception {
    Map<String, Object> signed =
        CanonicalJson.parseObject(signedText().getBytes(StandardCharsets.UTF_8));
    byte[] one = Metadata.sign(signed, List.of(key, key));
    Metadata m = Metadata.parse(one, "timestamp");
    assertEquals(1, m.signatureKeyIds().size());
    var keys = Map.of(key.keyId(), key.publicKey(), key2.keyId(), key2.publicKey());
    var e =
        assertThrows(
            UnsignedMetadataException.class,
            () ->
                SignatureVerifier.verify(
                    m,
                    "timestamp",
                    keys,
                    new RoleKeys(List.of(key.keyId(), key2.keyId()), 2),
                    "root"));
    assertEquals(1, e.validSignatures());
    SignatureVerifier.verify(
        Metadata.parse(Metadata.sign(signed, List.of(key, key2)), "timestamp"),
        "timestamp",
        keys,
        new RoleKeys(List.of(key.keyId(), key2.keyId()), 2),
        "root");

    byte[] canonical = CanonicalJson.encode(signed);
    String sig = HexFormat.of().formatHex(key.sign(canonical));
    String dup =
        "{\"signed\": "
            + signedText()
            + ", \"signatures\": [{\"keyid\": \""
            + key.keyId()
            + "\", \"sig\": \""
            + sig
            + "\"}, {\"keyid\": \""
            + key.keyId()
            + "\", \"sig\": \""
            + sig
            + "\"}]}";
    var bad =
        assertThrows(
            BadMetadataException.class,
            () -> Metadata.parse(dup.getBytes(StandardCharsets.UTF_8), "timestamp"));
    assertTrue(bad.getMessage().contains("more than one signature"), bad.getMessage());
  }

  @Test
  void rejectsMalformedMetadata() {
    String[] bad = {
      "{\"signed\": {}, \"signatures\": []}",
      "{\"signatures\": []}",
      "{\"signed\": {\"_type\": \"timestamp\", \"version\": 1, \"spec_version\": \"2.0.0\", \"expires\": \"2031-01-01T00:00:00Z\"}, \"signatures\": []}",
      "{\"signed\": {\"_type\": \"timestamp\", \"version\": 1, \"spec_version\": \"1.0.0\", \"expires\": \"2031-01-01\"}, \"signatures\": []}",
      "{\"signed\": {\"_type\": \"timestamp\", \"version\": 1.0, \"spec_version\": \"1.0.0\", \"expires\": \"2031-01-01T00:00:00Z\"}, \"signatures\": []}",
    };
    for (String s : bad) {
      assertThrows(
          BadMetadataException.class,
          () -> Metadata.parse(s.getBytes(StandardCharsets.UTF_8), "timestamp"),
          s);
    }
  }

  @Test
  void expiresIsReadExactlyAsInstantParseReadsIt() throws Exception {
    String[] values = {
      "2031-01-01T00:00:00Z",
      "2024-02-29T12:34:56Z",
      "1999-12-31T23:59:59Z",
      "0001-01-01T00:00:00Z",
      "9999-12-31T23:59:59Z",
      "2023-02-29T00:00:00Z",
      "2031-02-30T00:00:00Z",
      "2031-13-01T00:00:00Z",
      "2031-00-10T00:00:00Z",
      "2031-01-01T24:00:00Z",
      "2031-01-01T23:60:00Z",
      "2031-12-31T23:59:60Z",
      "2031-01-01T12:00:60Z"
    };
    for (String v : values) {
      String json =
          "{\"signed\": {\"_type\": \"timestamp\", \"version\": 1, \"spec_version\": \"1.0.31\", "
              + "\"expires\": \""
              + v
              + "\"}, \"signatures\": []}";
      java.time.Instant expected;
      try {
        expected = java.time.Instant.parse(v);
      } catch (java.time.DateTimeException e) {
        assertThrows(
            BadMetadataException.class,
            () -> Metadata.parse(json.getBytes(StandardCharsets.UTF_8), "timestamp"),
            v);
        continue;
      }
      assertEquals(
          expected,
          Metadata.parse(json.getBytes(StandardCharsets.UTF_8), "timestamp").expires(),
          v);
    }
  }

  @Test
  void delegationPathPatternsDoNotCrossSlashes() {
    assertTrue(DelegatedRole.globMatchesPath("stable/*", "stable/x.img"));
    assertTrue(!DelegatedRole.globMatchesPath("stable/*", "stable/a/x.img"));
    assertTrue(DelegatedRole.globMatchesPath("*/x-?.img", "beta/x-1.img"));
    assertTrue(DelegatedRole.globMatchesPath("a/[0-9]*", "a/7z"));
    assertTrue(!DelegatedRole.globMatchesPath("a/[!0-9]*", "a/7z"));
    assertTrue(!DelegatedRole.globMatchesPath("*", "a/b"));
  }
}
