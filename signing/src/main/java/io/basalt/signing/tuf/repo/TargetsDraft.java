package io.basalt.signing.tuf.repo;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import io.basalt.signing.keys.Key;
import io.basalt.signing.tuf.DelegatedRole;
import io.basalt.signing.tuf.TargetFile;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The content of a targets role (top-level or delegated) as the repository edits it before signing:
 * targets by path, and the delegations (keys and roles in priority order), or none. Mutable; not
 * thread-safe.
 */
final class TargetsDraft {
  final Map<String, TargetFile> targets = new TreeMap<>(CanonicalJson.CODE_POINT_ORDER);

  /** Null when the role delegates nothing (no {@code delegations} object). */
  Delegations delegations;

  /** The {@code delegations} object: keys by key id and roles in priority order. */
  static final class Delegations {
    final Map<String, Key> keys = new TreeMap<>(CanonicalJson.CODE_POINT_ORDER);
    final List<DelegatedRole> roles = new ArrayList<>();
  }

  /**
   * Reads the {@code signed} object of a targets role.
   *
   * @throws IllegalArgumentException naming the field when one is missing or wrong
   */
  static TargetsDraft fromSigned(Map<String, Object> s) {
    TargetsDraft d = new TargetsDraft();
    for (Map.Entry<String, Object> e : Json.object(s, "targets", "signed").entrySet()) {
      String where = "signed.targets." + e.getKey();
      Map<String, Object> entry = Json.asObject(e.getValue(), where);
      d.targets.put(e.getKey(), TargetFile.fromJson(e.getKey(), entry, where));
    }
    if (s.containsKey("delegations")) {
      Map<String, Object> dj = Json.object(s, "delegations", "signed");
      d.delegations = new Delegations();
      for (Map.Entry<String, Object> e : Json.object(dj, "keys", "signed.delegations").entrySet()) {
        d.delegations.keys.put(
            e.getKey(),
            Key.fromJson(Json.asObject(e.getValue(), "signed.delegations.keys." + e.getKey())));
      }
      List<Object> roles = Json.array(dj, "roles", "signed.delegations");
      for (int i = 0; i < roles.size(); i++) {
        String where = "signed.delegations.roles[" + i + "]";
        d.delegations.roles.add(DelegatedRole.fromJson(Json.asObject(roles.get(i), where), where));
      }
    }
    return d;
  }

  /** The delegation to a role, or null. */
  DelegatedRole delegation(String role) {
    if (delegations != null) {
      for (DelegatedRole r : delegations.roles) {
        if (r.name().equals(role)) {
          return r;
        }
      }
    }
    return null;
  }

  /** The names of the delegated roles in priority order. */
  List<String> delegatedRoleNames() {
    List<String> out = new ArrayList<>();
    if (delegations != null) {
      delegations.roles.forEach(r -> out.add(r.name()));
    }
    return out;
  }

  /** The {@code signed} object with the given header fields. */
  Map<String, Object> toSigned(long version, String expires) {
    Map<String, Object> s = Repository.header("targets", version, expires);
    Map<String, Object> t = CanonicalJson.newObject();
    targets.forEach((path, f) -> t.put(path, f.toJson()));
    s.put("targets", t);
    if (delegations != null) {
      Map<String, Object> d = CanonicalJson.newObject();
      Map<String, Object> k = CanonicalJson.newObject();
      delegations.keys.forEach((id, key) -> k.put(id, key.toJson()));
      d.put("keys", k);
      List<Object> r = new ArrayList<>();
      delegations.roles.forEach(role -> r.add(role.toJson()));
      d.put("roles", r);
      s.put("delegations", d);
    }
    return s;
  }
}
