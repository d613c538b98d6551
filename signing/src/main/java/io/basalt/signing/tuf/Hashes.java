package io.basalt.signing.tuf;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Hash algorithm names as TUF spells them and checking of data against a hashes object. Stateless.
 */
public final class Hashes {
  private Hashes() {}

  /**
   * A fresh digest for a TUF algorithm name (sha224, sha256, sha384, sha512), or null when
   * unsupported.
   */
  public static MessageDigest digest(String algorithm) {
    String jca =
        switch (algorithm) {
          case "sha224" -> "SHA-224";
          case "sha256" -> "SHA-256";
          case "sha384" -> "SHA-384";
          case "sha512" -> "SHA-512";
          default -> null;
        };
    if (jca == null) {
      return null;
    }
    try {
      return MessageDigest.getInstance(jca);
    } catch (NoSuchAlgorithmException e) {
      return null;
    }
  }

  /** Digests for every algorithm named, in order; unsupported ones map to null. */
  public static Map<String, MessageDigest> digests(Map<String, String> hashes) {
    Map<String, MessageDigest> out = new LinkedHashMap<>();
    for (String a : hashes.keySet()) {
      out.put(a, digest(a));
    }
    return out;
  }

  /**
   * Compares finished digests with the expected hex values.
   *
   * @throws HashMismatchException on the first mismatch or unsupported algorithm
   */
  public static void check(
      String what, Map<String, String> expected, Map<String, MessageDigest> digests)
      throws HashMismatchException {
    for (Map.Entry<String, String> e : new TreeMap<>(expected).entrySet()) {
      MessageDigest d = digests.get(e.getKey());
      if (d == null) {
        throw new HashMismatchException(what, e.getKey(), e.getValue(), null);
      }
      String actual = HexFormat.of().formatHex(d.digest());
      if (!actual.equals(e.getValue().toLowerCase(Locale.ROOT))) {
        throw new HashMismatchException(what, e.getKey(), e.getValue(), actual);
      }
    }
  }

  /**
   * Checks bytes against expected hashes.
   *
   * @throws HashMismatchException on mismatch or unsupported algorithm
   */
  public static void check(String what, Map<String, String> expected, byte[] data)
      throws HashMismatchException {
    Map<String, MessageDigest> ds = digests(expected);
    for (MessageDigest d : ds.values()) {
      if (d != null) {
        d.update(data);
      }
    }
    check(what, expected, ds);
  }

  /** Hex sha256 of data. */
  public static String sha256(byte[] data) {
    return HexFormat.of().formatHex(digest("sha256").digest(data));
  }

  /**
   * Checks a hashes object (at least one entry, string values) and returns an unmodifiable copy.
   *
   * @param where names the entry holding the hashes object, for errors
   */
  static Map<String, String> fromJson(Map<String, Object> m, String where) {
    if (m.isEmpty()) {
      throw new IllegalArgumentException(where + ".hashes: must name at least one hash");
    }
    for (Map.Entry<String, Object> e : m.entrySet()) {
      if (!(e.getValue() instanceof String)) {
        throw new IllegalArgumentException(
            where + ".hashes." + e.getKey() + ": expected a hex string");
      }
    }
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, Object> e : m.entrySet()) {
      out.put(e.getKey(), (String) e.getValue());
    }
    return Map.copyOf(out);
  }
}
