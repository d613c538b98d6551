package io.basalt.update.lock;

import java.nio.charset.StandardCharsets;

/**
 * One etcd key with its value and revisions, as read at some store revision. Immutable (the value
 * array is not copied: do not modify it) and thread-safe.
 *
 * @param key the key
 * @param value the raw value bytes
 * @param createRevision the store revision of the key's creation
 * @param modRevision the store revision of the key's last modification (the compare-and-swap token)
 * @param version how many times the key was written since it was created
 */
public record KeyValue(
    String key, byte[] value, long createRevision, long modRevision, long version) {

  /** The value decoded as UTF-8. */
  public String valueAsString() {
    return new String(value, StandardCharsets.UTF_8);
  }
}
