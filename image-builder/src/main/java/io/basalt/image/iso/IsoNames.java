package io.basalt.image.iso;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;

/**
 * File identifiers: ISO 9660 (ECMA-119 7.5, 7.6, interchange level 2: d-characters, a file name and
 * extension of at most 30 characters together, directory names of at most 31) and Joliet (UCS-2
 * big-endian, at most 64 characters). Stateless, thread-safe.
 */
final class IsoNames {
  /** ECMA-119 7.5.1: name + extension at most 30 characters at level 2 (without "." and ";1"). */
  static final int MAX_FILE = 30;

  /** ECMA-119 7.6.3: directory identifiers at most 31 characters. */
  static final int MAX_DIR = 31;

  /** Joliet: identifiers of at most 64 UCS-2 characters. */
  static final int MAX_JOLIET = 64;

  /** ECMA-119 9.3: directory records sorted by identifier as stored (bytes, unsigned). */
  static final Comparator<byte[]> ORDER = Arrays::compareUnsigned;

  private IsoNames() {}

  /** ECMA-119 7.5.1: file name and extension at most 30 characters together at level 2. */
  static final int MAX_EXT = 8;

  /**
   * The level-2 identifier of {@code name}: upper case, characters outside the d-characters {@code
   * A-Z 0-9 _} replaced by {@code _}, cut to the level-2 lengths (extension at most 8 characters,
   * name + extension at most 30; directories 31); a file gets {@code NAME.EXT;1} (the dot even
   * without an extension, ECMA-119 7.5.1), a directory {@code NAME}. {@code n > 0} makes the n-th
   * alternative for a name already taken in its directory: {@code _n} replaces the end of the name.
   */
  static byte[] primary(String name, boolean directory, int n) {
    String suffix = n == 0 ? "" : "_" + n;
    String id;
    if (directory) {
      String d = dChars(name);
      id = cut(d, MAX_DIR - suffix.length()) + suffix;
    } else {
      int dot = name.lastIndexOf('.');
      String base = dChars(dot < 0 ? name : name.substring(0, dot));
      String ext = cut(dChars(dot < 0 ? "" : name.substring(dot + 1)), MAX_EXT);
      id = cut(base, MAX_FILE - ext.length() - suffix.length()) + suffix + "." + ext + ";1";
    }
    return id.getBytes(StandardCharsets.US_ASCII);
  }

  private static String cut(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max);
  }

  private static String dChars(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toUpperCase(Locale.ROOT).toCharArray()) {
      b.append((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ? c : '_');
    }
    return b.toString();
  }

  /**
   * The Joliet identifier of {@code name} in UCS-2 big-endian; files get the version {@code ;1}.
   *
   * @throws IsoFormatException naming {@code path} when the name is too long or holds a character
   *     Joliet forbids ({@code * / : ; ? \}, control characters, characters outside the BMP)
   */
  static byte[] joliet(String path, String name, boolean directory) throws IsoFormatException {
    if (name.length() > MAX_JOLIET) {
      throw new IsoFormatException(
          path + ": name is " + name.length() + " characters; Joliet allows " + MAX_JOLIET);
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || "*/:;?\\".indexOf(c) >= 0 || Character.isSurrogate(c)) {
        throw new IsoFormatException(
            path
                + ": character U+"
                + String.format(Locale.ROOT, "%04X", (int) c)
                + " at index "
                + i
                + " cannot be stored in a Joliet name");
      }
    }
    return (directory ? name : name + ";1").getBytes(StandardCharsets.UTF_16BE);
  }

  /**
   * The volume identifier as d-characters (ECMA-119 8.4.6).
   *
   * @throws IsoFormatException unless it is 1 to 16 characters of {@code A-Z 0-9 _} (16: the Joliet
   *     copy is UCS-2 in the same 32 bytes)
   */
  static String volumeId(String id) throws IsoFormatException {
    if (id == null || id.isEmpty() || id.length() > 16 || !id.equals(dChars(id))) {
      throw new IsoFormatException(
          "volume ID '" + id + "': expected 1 to 16 characters of A-Z, 0-9 and _");
    }
    return id;
  }
}
