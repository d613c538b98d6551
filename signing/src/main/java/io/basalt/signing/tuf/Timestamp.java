package io.basalt.signing.tuf;

import io.basalt.signing.json.Json;
import java.util.Map;

/** The typed view of timestamp metadata: the snapshot entry. Immutable. */
public final class Timestamp {
  private final Metadata metadata;
  private final MetaFile snapshot;

  private Timestamp(Metadata metadata, MetaFile snapshot) {
    this.metadata = metadata;
    this.snapshot = snapshot;
  }

  /**
   * Reads timestamp fields.
   *
   * @throws BadMetadataException if the type or fields are wrong
   */
  public static Timestamp from(Metadata m) throws BadMetadataException {
    if (!m.type().equals("timestamp")) {
      throw new BadMetadataException("timestamp", "expected _type timestamp, found " + m.type());
    }
    try {
      Map<String, Object> meta = Json.object(m.signed(), "meta", "signed");
      if (meta.size() != 1 || !meta.containsKey("snapshot.json")) {
        throw new IllegalArgumentException(
            "signed.meta: must hold exactly snapshot.json, found " + meta.keySet());
      }
      return new Timestamp(
          m,
          MetaFile.fromJson(
              Json.asObject(meta.get("snapshot.json"), "signed.meta.snapshot.json"),
              "signed.meta.snapshot.json"));
    } catch (IllegalArgumentException e) {
      throw new BadMetadataException("timestamp", e.getMessage());
    }
  }

  /** The metadata this view reads. */
  public Metadata metadata() {
    return metadata;
  }

  /** The snapshot entry. */
  public MetaFile snapshot() {
    return snapshot;
  }
}
