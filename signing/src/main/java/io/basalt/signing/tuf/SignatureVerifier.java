package io.basalt.signing.tuf;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.Key;
import java.util.LinkedHashSet;
import java.util.Map;

/**
 * The one place where metadata signatures are checked (TUF 5.3.4, 5.4.2, 5.5.3, 5.6.3): in one
 * plain pass on the calling thread, over the canonical JSON of the received {@code signed} object,
 * each distinct key id of the role counted once. Stateless and thread-safe.
 */
final class SignatureVerifier {
  private SignatureVerifier() {}

  /**
   * Checks that a threshold of the role's keys signed the metadata.
   *
   * @param role the role being verified, for the error
   * @param keys the keys of the signing authority by key id (root keys or delegation keys)
   * @param roleKeys the role's key ids and threshold
   * @param signer names the delegating metadata in the error message
   * @throws UnsignedMetadataException if fewer than threshold distinct keys verify
   */
  static void verify(
      Metadata m, String role, Map<String, Key> keys, RoleKeys roleKeys, String signer)
      throws UnsignedMetadataException {
    byte[] data = CanonicalJson.encode(m.signed());
    int valid = 0;
    for (String keyid : new LinkedHashSet<>(roleKeys.keyids())) {
      Key key = keys.get(keyid);
      byte[] sig = m.signature(keyid);
      if (key != null && sig != null && key.verify(data, sig)) {
        valid++;
      }
    }
    if (valid < roleKeys.threshold()) {
      throw new UnsignedMetadataException(role, roleKeys.threshold(), valid, signer);
    }
  }
}
