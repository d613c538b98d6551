package io.basalt.signing.tuf;

import io.basalt.signing.json.Json;
import io.basalt.signing.keys.Key;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The typed view of verified-shape root metadata: keys, role keys/thresholds, consistent snapshots.
 * Immutable.
 */
public final class Root {

  /** The four top-level roles. */
  public static final java.util.List<String> TOP_LEVEL_ROLES =
      java.util.List.of("root", "timestamp", "snapshot", "targets");

  private final Metadata metadata;
  private final Map<String, Key> keys;
  private final Map<String, RoleKeys> roles;
  private final boolean consistentSnapshot;

  private Root(
      Metadata metadata,
      Map<String, Key> keys,
      Map<String, RoleKeys> roles,
      boolean consistentSnapshot) {
    this.metadata = metadata;
    this.keys = keys;
    this.roles = roles;
    this.consistentSnapshot = consistentSnapshot;
  }

  /**
   * Reads the root fields of parsed metadata.
   *
   * @throws BadMetadataException if the type is not root or fields are malformed
   */
  public static Root from(Metadata m) throws BadMetadataException {
    if (!m.type().equals("root")) {
      throw new BadMetadataException("root", "expected _type root, found " + m.type());
    }
    try {
      Map<String, Object> s = m.signed();
      Map<String, Key> keys = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : Json.object(s, "keys", "signed").entrySet()) {
        keys.put(
            e.getKey(), Key.fromJson(Json.asObject(e.getValue(), "signed.keys." + e.getKey())));
      }
      Map<String, RoleKeys> roles = new LinkedHashMap<>();
      Map<String, Object> rj = Json.object(s, "roles", "signed");
      for (String r : TOP_LEVEL_ROLES) {
        if (!rj.containsKey(r)) {
          throw new IllegalArgumentException("signed.roles: missing role " + r);
        }
      }
      for (Map.Entry<String, Object> e : rj.entrySet()) {
        roles.put(
            e.getKey(),
            RoleKeys.fromJson(
                Json.asObject(e.getValue(), "signed.roles." + e.getKey()),
                "signed.roles." + e.getKey()));
      }
      boolean cs = Json.bool(s, "consistent_snapshot", "signed", false);
      return new Root(m, Collections.unmodifiableMap(keys), Collections.unmodifiableMap(roles), cs);
    } catch (IllegalArgumentException e) {
      throw new BadMetadataException("root", e.getMessage());
    }
  }

  /** The metadata this view reads. */
  public Metadata metadata() {
    return metadata;
  }

  /** All keys by key id. */
  public Map<String, Key> keys() {
    return keys;
  }

  /** Keys and threshold of a top-level role. */
  public RoleKeys role(String name) {
    return roles.get(name);
  }

  /** Whether the repository publishes consistent snapshots. */
  public boolean consistentSnapshot() {
    return consistentSnapshot;
  }

  /**
   * Checks that a threshold of this root's keys for {@code role} signed the metadata.
   *
   * @throws UnsignedMetadataException if not
   */
  public void verify(String role, Metadata m) throws UnsignedMetadataException {
    SignatureVerifier.verify(m, role, keys, roles.get(role), "root v" + metadata.version());
  }
}
