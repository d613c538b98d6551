package io.basalt.signing.tuf;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.Key;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The one place where metadata signatures are checked (TUF 5.3.4, 5.4.2, 5.5.3, 5.6.3): in one
 * plain pass on the calling thread, over the canonical JSON of the received {@code signed} object,
 * each distinct key counted once. A key id counts only when it is the key's own id (the sha256 of
 * its canonical JSON, TUF 4.2 "KEYID"), and one public key listed under several key ids counts
 * once. Stateless and thread-safe.
 */
final class SignatureVerifier {
  private SignatureVerifier() {}

  /**
   * Checks that a threshold of the role's distinct keys signed the metadata.
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
    // public key (DER, hex) -> the key id it was first counted under
    Map<String, String> counted = new LinkedHashMap<>();
    List<String> notes = new ArrayList<>();
    for (String keyid : new LinkedHashSet<>(roleKeys.keyids())) {
      Key key = keys.get(keyid);
      if (key == null) {
        continue;
      }
      String ownId = key.keyId();
      if (!ownId.equals(keyid)) {
        notes.add("key id " + keyid + " ignored: its key's id is " + ownId);
        continue;
      }
      byte[] sig = m.signature(keyid);
      if (sig == null || !key.verify(data, sig)) {
        continue;
      }
      byte[] der = key.publicKeyInfo();
      String identity = der.length == 0 ? "id:" + keyid : HexFormat.of().formatHex(der);
      String first = counted.putIfAbsent(identity, keyid);
      if (first != null) {
        notes.add("key id " + keyid + " is the same key as " + first + ", counted once");
      }
    }
    if (counted.size() < roleKeys.threshold()) {
      throw new UnsignedMetadataException(
          role, roleKeys.threshold(), counted.size(), signer, String.join("; ", notes));
    }
  }
}
