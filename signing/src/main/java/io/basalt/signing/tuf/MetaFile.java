package io.basalt.signing.tuf;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import java.util.Map;
import java.util.TreeMap;

/**
 * A METAFILES entry (timestamp's snapshot entry, snapshot's targets entries): version, optional
 * length and hashes. Immutable.
 *
 * @param length the length, or -1 when absent
 */
public record MetaFile(long version, long length, Map<String, String> hashes) {

  /** Copies the hashes. */
  public MetaFile {
    hashes = Map.copyOf(hashes);
  }

  /** The METAFILES entry: {@code version}, and {@code length} and {@code hashes} when set. */
  public Map<String, Object> toJson() {
    Map<String, Object> e = CanonicalJson.newObject();
    e.put("version", version);
    if (length >= 0) {
      e.put("length", length);
    }
    if (!hashes.isEmpty()) {
      e.put("hashes", new TreeMap<String, Object>(hashes));
    }
    return e;
  }

  static MetaFile fromJson(Map<String, Object> m, String where) {
    long v = Json.integer(m, "version", where);
    if (v < 1) {
      throw new IllegalArgumentException(where + ".version: must be >= 1, found " + v);
    }
    long len = -1;
    if (m.containsKey("length")) {
      len = Json.integer(m, "length", where);
      if (len < 0) {
        throw new IllegalArgumentException(where + ".length: negative");
      }
    }
    Map<String, String> hashes = new TreeMap<>();
    if (m.containsKey("hashes")) {
      hashes = Hashes.fromJson(Json.object(m, "hashes", where), where);
    }
    return new MetaFile(v, len, hashes);
  }
}
