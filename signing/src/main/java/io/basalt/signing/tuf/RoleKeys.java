package io.basalt.signing.tuf;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The key ids trusted for a role and how many of them must sign. Immutable. */
public record RoleKeys(List<String> keyids, int threshold) {

  /** Validates and copies. */
  public RoleKeys {
    keyids = List.copyOf(keyids);
    if (threshold < 1) {
      throw new IllegalArgumentException("threshold must be >= 1, found " + threshold);
    }
  }

  /**
   * Reads {@code keyids} and {@code threshold} from a role or delegation object.
   *
   * @throws IllegalArgumentException naming {@code where} when a field is missing or wrong
   */
  public static RoleKeys fromJson(Map<String, Object> m, String where) {
    List<Object> ids = Json.array(m, "keyids", where);
    List<String> out = new ArrayList<>();
    for (Object o : ids) {
      if (!(o instanceof String s)) {
        throw new IllegalArgumentException(where + ".keyids: expected strings");
      }
      if (out.contains(s)) {
        throw new IllegalArgumentException(where + ".keyids: duplicate keyid " + s);
      }
      out.add(s);
    }
    long t = Json.integer(m, "threshold", where);
    if (t < 1 || t > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(where + ".threshold: must be >= 1, found " + t);
    }
    return new RoleKeys(out, (int) t);
  }

  /** The role object: {@code keyids} and {@code threshold}. */
  public Map<String, Object> toJson() {
    Map<String, Object> r = CanonicalJson.newObject();
    r.put("keyids", new ArrayList<Object>(keyids));
    r.put("threshold", (long) threshold);
    return r;
  }
}
