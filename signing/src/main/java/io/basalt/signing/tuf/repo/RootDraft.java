package io.basalt.signing.tuf.repo;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import io.basalt.signing.keys.Key;
import io.basalt.signing.tuf.RoleKeys;
import io.basalt.signing.tuf.Root;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The content of a root role as the repository edits it before signing: consistent snapshots, keys
 * by key id, and the keys and threshold of each top-level role. Mutable; not thread-safe.
 */
final class RootDraft {
  final boolean consistentSnapshot;
  final Map<String, Key> keys = new TreeMap<>(CanonicalJson.CODE_POINT_ORDER);
  final Map<String, RoleKeys> roles = new TreeMap<>(CanonicalJson.CODE_POINT_ORDER);

  RootDraft(boolean consistentSnapshot) {
    this.consistentSnapshot = consistentSnapshot;
  }

  /**
   * Reads the {@code signed} object of a root role.
   *
   * @throws IllegalArgumentException naming the field when one is missing or wrong
   */
  static RootDraft fromSigned(Map<String, Object> s) {
    RootDraft d = new RootDraft(Json.bool(s, "consistent_snapshot", "signed", false));
    for (Map.Entry<String, Object> e : Json.object(s, "keys", "signed").entrySet()) {
      String where = "signed.keys." + e.getKey();
      d.keys.put(e.getKey(), Key.fromJson(Json.asObject(e.getValue(), where)));
    }
    for (Map.Entry<String, Object> e : Json.object(s, "roles", "signed").entrySet()) {
      String where = "signed.roles." + e.getKey();
      d.roles.put(e.getKey(), RoleKeys.fromJson(Json.asObject(e.getValue(), where), where));
    }
    for (String r : Root.TOP_LEVEL_ROLES) {
      if (!d.roles.containsKey(r)) {
        throw new IllegalArgumentException("signed.roles: missing role " + r);
      }
    }
    return d;
  }

  /** Drops keys that no role lists any more (after a revocation). */
  void dropUnusedKeys() {
    Set<String> used = new LinkedHashSet<>();
    for (RoleKeys r : roles.values()) {
      used.addAll(r.keyids());
    }
    keys.keySet().retainAll(used);
  }

  /** The {@code signed} object with the given header fields. */
  Map<String, Object> toSigned(long version, String expires) {
    Map<String, Object> s = Repository.header("root", version, expires);
    s.put("consistent_snapshot", consistentSnapshot);
    Map<String, Object> k = CanonicalJson.newObject();
    keys.forEach((id, key) -> k.put(id, key.toJson()));
    s.put("keys", k);
    Map<String, Object> r = CanonicalJson.newObject();
    roles.forEach((name, rk) -> r.put(name, rk.toJson()));
    s.put("roles", r);
    return s;
  }
}
