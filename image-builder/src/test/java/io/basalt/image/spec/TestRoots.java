package io.basalt.image.spec;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.keys.SigningKey;
import io.basalt.signing.tuf.Metadata;
import io.basalt.signing.tuf.RoleKeys;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** TUF root metadata made in memory for spec tests: every top-level role uses the root keys. */
public final class TestRoots {
  private TestRoots() {}

  /**
   * A root with {@code keys} ed25519 root keys and {@code threshold}, signed by the first {@code
   * signers} of them.
   */
  public static byte[] root(int keys, int threshold, int signers) {
    SecureRandom random = new SecureRandom();
    List<SigningKey> ks = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      ks.add(SigningKey.generate(KeyType.ED25519, random));
    }
    Map<String, Object> signed = CanonicalJson.newObject();
    signed.put("_type", "root");
    signed.put("spec_version", "1.0.34");
    signed.put("version", 1L);
    signed.put("expires", "2035-01-01T00:00:00Z");
    signed.put("consistent_snapshot", true);
    Map<String, Object> k = CanonicalJson.newObject();
    List<String> ids = new ArrayList<>();
    for (SigningKey s : ks) {
      k.put(s.keyId(), s.publicKey().toJson());
      ids.add(s.keyId());
    }
    signed.put("keys", k);
    Map<String, Object> roles = CanonicalJson.newObject();
    for (String role : List.of("root", "targets", "snapshot", "timestamp")) {
      roles.put(role, new RoleKeys(ids, threshold).toJson());
    }
    signed.put("roles", roles);
    return Metadata.sign(signed, ks.subList(0, signers));
  }
}
