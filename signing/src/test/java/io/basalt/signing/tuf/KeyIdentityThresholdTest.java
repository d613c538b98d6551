package io.basalt.signing.tuf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.Key;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.SigningKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * TUF threshold counting by key, not by key id (spec 4.2 "KEYID", 5.3.4): the same public key
 * listed under two key ids counts once, and a key id that is not the key's own id does not count.
 */
class KeyIdentityThresholdTest {
  private static final SecureRandom RNG = new SecureRandom();
  private final SigningKey key = SigningKey.generate(KeyType.ED25519, RNG);
  private final SigningKey other = SigningKey.generate(KeyType.ED25519, RNG);

  /** A root whose root role lists {@code keys} (key id → key object) with a threshold. */
  private static Map<String, Object> rootSigned(Map<String, Key> keys, int threshold) {
    Map<String, Object> s = CanonicalJson.newObject();
    s.put("_type", "root");
    s.put("spec_version", "1.0.34");
    s.put("version", 1L);
    s.put("expires", "2031-01-01T00:00:00Z");
    s.put("consistent_snapshot", true);
    Map<String, Object> ks = CanonicalJson.newObject();
    keys.forEach((id, k) -> ks.put(id, k.toJson()));
    s.put("keys", ks);
    Map<String, Object> roles = CanonicalJson.newObject();
    for (String r : Root.TOP_LEVEL_ROLES) {
      Map<String, Object> role = CanonicalJson.newObject();
      role.put("keyids", new ArrayList<Object>(keys.keySet()));
      role.put("threshold", (long) threshold);
      roles.put(r, role);
    }
    s.put("roles", roles);
    return s;
  }

  /** Signs {@code signed} with {@code signer} once under each of {@code keyids}. */
  private static Metadata signedUnder(
      Map<String, Object> signed, SigningKey signer, List<String> keyids) throws Exception {
    byte[] sig = signer.sign(CanonicalJson.encode(signed));
    List<Object> sigs = new ArrayList<>();
    for (String id : keyids) {
      Map<String, Object> s = CanonicalJson.newObject();
      s.put("keyid", id);
      s.put("sig", HexFormat.of().formatHex(sig));
      sigs.add(s);
    }
    Map<String, Object> top = CanonicalJson.newObject();
    top.put("signatures", sigs);
    top.put("signed", signed);
    return Metadata.parse(CanonicalJson.encodePretty(top), "root", "root");
  }

  /** The same public key as {@code k} in a key object with one extra field: another key id. */
  private static Key sameKeyOtherJson(SigningKey k) {
    Map<String, Object> json = CanonicalJson.newObject();
    json.putAll(k.publicKey().toJson());
    json.put("x-comment", "the same key again");
    return Key.fromJson(json);
  }

  @Test
  void sameKeyUnderTwoSelfConsistentKeyidsCountsOnce() throws Exception {
    Key copy = sameKeyOtherJson(key);
    assertTrue(!copy.keyId().equals(key.keyId()));
    Map<String, Key> keys = new LinkedHashMap<>();
    keys.put(key.keyId(), key.publicKey());
    keys.put(copy.keyId(), copy);
    Map<String, Object> signed = rootSigned(keys, 2);
    Metadata m = signedUnder(signed, key, List.of(key.keyId(), copy.keyId()));
    Root root = Root.from(m);

    var e = assertThrows(UnsignedMetadataException.class, () -> root.verify("root", m));
    assertEquals(1, e.validSignatures());
    assertEquals(2, e.threshold());
  }

  @Test
  void sameKeyUnderAForeignKeyidDoesNotCount() throws Exception {
    String foreign = "ab".repeat(32);
    Map<String, Key> keys = new LinkedHashMap<>();
    keys.put(key.keyId(), key.publicKey());
    keys.put(foreign, key.publicKey());
    Map<String, Object> signed = rootSigned(keys, 2);
    Metadata m = signedUnder(signed, key, List.of(key.keyId(), foreign));
    Root root = Root.from(m);

    var e = assertThrows(UnsignedMetadataException.class, () -> root.verify("root", m));
    assertEquals(1, e.validSignatures());
    assertTrue(e.getMessage().contains(foreign), e.getMessage());
  }

  @Test
  void keyListedUnderAKeyidThatIsNotItsOwnIsRejected() throws Exception {
    String wrong = other.keyId(); // a real key id, but of another key
    Map<String, Key> keys = new LinkedHashMap<>();
    keys.put(wrong, key.publicKey());
    Map<String, Object> signed = rootSigned(keys, 1);
    Metadata m = signedUnder(signed, key, List.of(wrong));
    Root root = Root.from(m);

    var e = assertThrows(UnsignedMetadataException.class, () -> root.verify("root", m));
    assertEquals(0, e.validSignatures());
    assertTrue(
        e.getMessage().contains(wrong) && e.getMessage().contains(key.keyId()), e.getMessage());
  }

  @Test
  void distinctKeysUnderTheirOwnKeyidsStillMeetTheThreshold() throws Exception {
    Map<String, Key> keys = new LinkedHashMap<>();
    keys.put(key.keyId(), key.publicKey());
    keys.put(other.keyId(), other.publicKey());
    Map<String, Object> signed = rootSigned(keys, 2);
    Metadata m = Metadata.parse(Metadata.sign(signed, List.of(key, other)), "root", "root");
    Root.from(m).verify("root", m);
  }
}
