package io.basalt.signing.tuf.client;

import io.basalt.signing.json.CanonicalJson;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A target found by {@link Updater#getTargetInfo}: its path, length, hashes, {@code custom} object
 * and the role that listed it. Immutable.
 */
public final class TargetInfo {
  private final String path;
  private final long length;
  private final Map<String, String> hashes;
  private final Map<String, Object> custom;
  private final String role;

  TargetInfo(
      String path,
      long length,
      Map<String, String> hashes,
      Map<String, Object> custom,
      String role) {
    this.path = path;
    this.length = length;
    this.hashes = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(hashes));
    this.custom = custom == null ? Map.of() : custom;
    this.role = role;
  }

  /** The target path as in the metadata. */
  public String path() {
    return path;
  }

  /** The exact length in bytes. */
  public long length() {
    return length;
  }

  /** Hex digests by TUF algorithm name. */
  public Map<String, String> hashes() {
    return hashes;
  }

  /**
   * The {@code custom} object (empty when absent). Values are {@code Map}, {@code List}, {@code
   * String}, {@code Long}, {@code Boolean} or {@link CanonicalJson#NULL}.
   */
  public Map<String, Object> custom() {
    return custom;
  }

  /** A string field of {@code custom}, or null when absent or not a string. */
  public String customString(String key) {
    return custom.get(key) instanceof String s ? s : null;
  }

  /** The {@code custom} object as canonical JSON text. */
  public String customJson() {
    return new String(CanonicalJson.encode(custom), StandardCharsets.UTF_8);
  }

  /** The targets role that listed this target. */
  public String role() {
    return role;
  }

  @Override
  public String toString() {
    return path + " (" + length + " bytes, from " + role + ")";
  }
}
