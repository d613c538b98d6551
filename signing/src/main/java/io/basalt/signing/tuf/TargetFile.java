package io.basalt.signing.tuf;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import java.util.Map;
import java.util.TreeMap;

/**
 * A target as a targets role lists it: path, length, hashes and the optional {@code custom} object
 * (null when absent). Immutable.
 */
public record TargetFile(
    String path, long length, Map<String, String> hashes, Map<String, Object> custom) {

  /** Copies the hashes. */
  public TargetFile {
    hashes = Map.copyOf(hashes);
  }

  /** The target entry: {@code length}, {@code hashes} and {@code custom} when set and not empty. */
  public Map<String, Object> toJson() {
    Map<String, Object> e = CanonicalJson.newObject();
    e.put("length", length);
    e.put("hashes", new TreeMap<String, Object>(hashes));
    if (custom != null && !custom.isEmpty()) {
      e.put("custom", custom);
    }
    return e;
  }

  /**
   * Reads a target entry.
   *
   * @param where names the entry in errors
   * @throws IllegalArgumentException when a field is missing or wrong
   */
  public static TargetFile fromJson(String path, Map<String, Object> m, String where) {
    long len = Json.integer(m, "length", where);
    if (len < 0) {
      throw new IllegalArgumentException(where + ".length: negative");
    }
    Map<String, String> hashes = Hashes.fromJson(Json.object(m, "hashes", where), where);
    Map<String, Object> custom = m.containsKey("custom") ? Json.object(m, "custom", where) : null;
    return new TargetFile(path, len, hashes, custom);
  }
}
