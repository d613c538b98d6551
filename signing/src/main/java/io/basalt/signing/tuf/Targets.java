package io.basalt.signing.tuf;

import io.basalt.signing.json.Json;
import io.basalt.signing.keys.Key;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The typed view of (top-level or delegated) targets metadata: targets and delegations. Immutable.
 */
public final class Targets {
  private final String role;
  private final Metadata metadata;
  private final Map<String, TargetFile> targets;
  private final Map<String, Key> delegationKeys;
  private final List<DelegatedRole> delegations;

  private Targets(
      String role,
      Metadata metadata,
      Map<String, TargetFile> targets,
      Map<String, Key> keys,
      List<DelegatedRole> delegations) {
    this.role = role;
    this.metadata = metadata;
    this.targets = targets;
    this.delegationKeys = keys;
    this.delegations = delegations;
  }

  /**
   * Reads targets fields.
   *
   * @throws BadMetadataException if the type or fields are wrong
   */
  public static Targets from(String role, Metadata m) throws BadMetadataException {
    if (!m.type().equals("targets")) {
      throw new BadMetadataException(role, "expected _type targets, found " + m.type());
    }
    try {
      Map<String, Object> listed = Json.object(m.signed(), "targets", "signed");
      Map<String, TargetFile> targets = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : listed.entrySet()) {
        String where = "signed.targets." + e.getKey();
        targets.put(
            e.getKey(), TargetFile.fromJson(e.getKey(), Json.asObject(e.getValue(), where), where));
      }
      Map<String, Key> keys = new LinkedHashMap<>();
      List<DelegatedRole> roles = new ArrayList<>();
      if (m.signed().containsKey("delegations")) {
        Map<String, Object> d = Json.object(m.signed(), "delegations", "signed");
        for (Map.Entry<String, Object> e :
            Json.object(d, "keys", "signed.delegations").entrySet()) {
          keys.put(
              e.getKey(),
              Key.fromJson(Json.asObject(e.getValue(), "signed.delegations.keys." + e.getKey())));
        }
        if (d.containsKey("succinct_roles")) {
          throw new IllegalArgumentException("signed.delegations.succinct_roles: not supported");
        }
        List<Object> rs = Json.array(d, "roles", "signed.delegations");
        Set<String> names = new HashSet<>();
        for (int i = 0; i < rs.size(); i++) {
          String where = "signed.delegations.roles[" + i + "]";
          DelegatedRole r = DelegatedRole.fromJson(Json.asObject(rs.get(i), where), where);
          if (!names.add(r.name())) {
            throw new IllegalArgumentException(where + ": duplicate role name " + r.name());
          }
          if (Root.TOP_LEVEL_ROLES.contains(r.name())) {
            throw new IllegalArgumentException(
                where + ": a top-level role name cannot be delegated: " + r.name());
          }
          roles.add(r);
        }
      }
      return new Targets(
          role,
          m,
          Collections.unmodifiableMap(targets),
          Collections.unmodifiableMap(keys),
          List.copyOf(roles));
    } catch (IllegalArgumentException e) {
      throw new BadMetadataException(role, e.getMessage());
    }
  }

  /** The role name this metadata was loaded for. */
  public String role() {
    return role;
  }

  /** The metadata this view reads. */
  public Metadata metadata() {
    return metadata;
  }

  /** Targets by path. */
  public Map<String, TargetFile> targets() {
    return targets;
  }

  /** Keys for delegated roles by key id. */
  public Map<String, Key> delegationKeys() {
    return delegationKeys;
  }

  /** Delegated roles in priority order. */
  public List<DelegatedRole> delegations() {
    return delegations;
  }

  /**
   * Checks that a delegated role's metadata carries a threshold of signatures from this role's
   * delegation keys.
   *
   * @throws UnsignedMetadataException if not
   */
  public void verifyDelegate(DelegatedRole delegate, Metadata m) throws UnsignedMetadataException {
    SignatureVerifier.verify(
        m, delegate.name(), delegationKeys, delegate.keys(), role + " v" + metadata.version());
  }
}
