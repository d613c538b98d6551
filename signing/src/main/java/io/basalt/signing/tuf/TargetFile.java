package io.basalt.signing.tuf;

import io.basalt.signing.json.Json;
import java.util.Map;

/**
 * A target as a targets role lists it: path, length, hashes and the optional {@code custom} object
 * (null when absent). Immutable.
 */
public record TargetFile(String path, long length, Map<String, String> hashes, Map<String, Object> custom) {

  /** Copies the hashes (kept as they are when already an unmodifiable parsed object). */
  public TargetFile {
    hashes = Hashes.immutable(hashes);
  }

  /** Reads a target entry; {@code where} is built only for an error message. */
  static TargetFile fromJson(String path, Map<String, Object> m, java.util.function.Supplier<String> where) {
    Object len = m.get("length");
    Object hashes = m.get("hashes");
    Object custom = m.get("custom");
    if (len instanceof Long l && l >= 0 && hashes instanceof Map<?, ?> h && (custom == null || custom instanceof Map)) {
      @SuppressWarnings("unchecked")
      Map<String, Object> hm = (Map<String, Object>) h;
      @SuppressWarnings("unchecked")
      Map<String, Object> cm = (Map<String, Object>) custom;
      return new TargetFile(path, l, Hashes.fromJson(hm, where), cm);
    }
    return fromJson(path, m, where.get()); // the checks again, naming what is wrong
  }

  static TargetFile fromJson(String path, Map<String, Object> m, String where) {
    long len = Json.integer(m, "length", where);
    if (len < 0) {
      throw new IllegalArgumentException(where + ".length: negative");
    }
    Map<String, String> hashes = Hashes.fromJson(Json.object(m, "hashes", where), where);
    Map<String, Object> custom = m.containsKey("custom") ? Json.object(m, "custom", where) : null;
    return new TargetFile(path, len, hashes, custom);
  }
}
