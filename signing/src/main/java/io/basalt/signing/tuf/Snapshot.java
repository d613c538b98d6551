package io.basalt.signing.tuf;

import io.basalt.signing.json.Json;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The typed view of snapshot metadata: an entry per targets role, keyed {@code ROLE.json}.
 * Immutable.
 */
public final class Snapshot {
  private final Metadata metadata;
  private final Map<String, MetaFile> meta;

  private Snapshot(Metadata metadata, Map<String, MetaFile> meta) {
    this.metadata = metadata;
    this.meta = meta;
  }

  /**
   * Reads snapshot fields.
   *
   * @throws BadMetadataException if the type or fields are wrong
   */
  public static Snapshot from(Metadata m) throws BadMetadataException {
    if (!m.type().equals("snapshot")) {
      throw new BadMetadataException("snapshot", "expected _type snapshot, found " + m.type());
    }
    try {
      Map<String, MetaFile> out = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : Json.object(m.signed(), "meta", "signed").entrySet()) {
        String where = "signed.meta." + e.getKey();
        out.put(e.getKey(), MetaFile.fromJson(Json.asObject(e.getValue(), where), where));
      }
      if (!out.containsKey("targets.json")) {
        throw new IllegalArgumentException("signed.meta: missing targets.json");
      }
      return new Snapshot(m, Collections.unmodifiableMap(out));
    } catch (IllegalArgumentException e) {
      throw new BadMetadataException("snapshot", e.getMessage());
    }
  }

  /** The metadata this view reads. */
  public Metadata metadata() {
    return metadata;
  }

  /** Entries by file name ({@code targets.json}, {@code ROLE.json}). */
  public Map<String, MetaFile> meta() {
    return meta;
  }

  /** The entry of a targets role, or null. */
  public MetaFile role(String roleName) {
    return meta.get(roleName + ".json");
  }
}
