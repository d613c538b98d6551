package io.basalt.image.fat;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

/**
 * VFAT name rules: long-name validation, 8.3 short-name generation with "~n" numeric tails
 * (Microsoft FAT specification, "FAT Long Directory Entries", basis-name generation and
 * numeric-tail generation), and the short-name checksum stored in every long-name entry.
 * Thread-safe.
 */
final class Names {
  /** A long name is at most 255 UTF-16 code units. */
  static final int MAX_LONG = 255;

  /** Characters allowed in a short name besides A-Z, 0-9 (the spec's list; space handled apart). */
  private static final String SHORT_SPECIAL = "$%'-_@~`!(){}^#&";

  private Names() {}

  /**
   * Checks {@code name} can be stored as a VFAT long name and read back by Linux and Windows.
   *
   * @throws FatFormatException naming {@code path} otherwise
   */
  static void checkLongName(String path, String name) throws FatFormatException {
    if (name.isEmpty() || name.equals(".") || name.equals("..")) {
      throw new FatFormatException(path + ": '" + name + "' is not a usable file name");
    }
    if (name.length() > MAX_LONG) {
      throw new FatFormatException(
          path
              + ": name is "
              + name.length()
              + " UTF-16 code units long; VFAT allows at most "
              + MAX_LONG);
    }
    char lastChar = name.charAt(name.length() - 1);
    if (lastChar == '.' || lastChar == ' ') {
      throw new FatFormatException(
          path
              + ": name ends with '"
              + lastChar
              + "', which FAT drivers strip (the file could not be opened by its name)");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || "\"*/:<>?\\|".indexOf(c) >= 0 || c == 0x7f) {
        throw new FatFormatException(
            path
                + ": character "
                + String.format(Locale.ROOT, "U+%04X", (int) c)
                + " at index "
                + i
                + " is not allowed in a FAT long name (control characters and \" * / : < > ? \\ | are not)");
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < name.length()
          && Character.isLowSurrogate(name.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new FatFormatException(
            path
                + ": unpaired UTF-16 surrogate at index "
                + i
                + " cannot be stored in a long name");
      }
    }
  }

  /** The key two names collide on in a FAT directory (FAT lookups ignore case). */
  static String foldCase(String name) {
    return name.toUpperCase(Locale.ROOT);
  }

  /**
   * The 11-byte short name of {@code name} if it is itself a valid upper-case 8.3 name needing no
   * long name (e.g. "EFI", "BOOTX64.EFI"), else null.
   */
  static byte[] exactShortName(String name) {
    int dot = name.lastIndexOf('.');
    String base = dot < 0 ? name : name.substring(0, dot);
    String ext = dot < 0 ? "" : name.substring(dot + 1);
    if (base.isEmpty() || base.length() > 8 || ext.length() > 3 || (dot >= 0 && ext.isEmpty())) {
      return null;
    }
    if (base.charAt(0) == ' '
        || !allShortChars(base)
        || !allShortChars(ext)
        || base.indexOf(' ') >= 0
        || ext.indexOf(' ') >= 0) {
      return null;
    }
    return pack(base, ext);
  }

  private static boolean allShortChars(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || SHORT_SPECIAL.indexOf(c) >= 0)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Generates a short name for {@code name} not in {@code taken} (11-byte keys as ISO-8859-1
   * strings) following the spec's basis-name steps: upper-case; characters not allowed become '_';
   * spaces and leading periods are dropped; base = up to 8 characters before the last period, ext =
   * up to 3 after it; then "~n" (n = 1, 2, ...) replaces the base's end until unique. A numeric
   * tail is always added, as the name also gets a long-name entry, unless the basis was exact.
   */
  static byte[] generate(String name, Set<String> taken) {
    String up = name.toUpperCase(Locale.ROOT);
    StringBuilder cleaned = new StringBuilder();
    boolean lossy = false;
    for (int i = 0; i < up.length(); i++) {
      char c = up.charAt(i);
      if (c == ' ') {
        lossy = true;
        continue;
      }
      if (c == '.'
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || SHORT_SPECIAL.indexOf(c) >= 0) {
        cleaned.append(c);
      } else {
        if (Character.isHighSurrogate(c)) {
          i++; // one '_' per code point
        }
        cleaned.append('_');
        lossy = true;
      }
    }
    int lead = 0;
    while (lead < cleaned.length() && cleaned.charAt(lead) == '.') {
      lead++;
    }
    String s = cleaned.substring(lead);
    lossy |= lead > 0;
    int dot = s.lastIndexOf('.');
    String base = (dot < 0 ? s : s.substring(0, dot)).replace(".", "");
    String ext = dot < 0 ? "" : s.substring(dot + 1);
    boolean fits =
        base.length() <= 8 && ext.length() <= 3 && !(dot >= 0 && s.substring(0, dot).contains("."));
    if (base.isEmpty()) {
      base = "_";
      lossy = true;
    }
    if (ext.length() > 3) {
      ext = ext.substring(0, 3);
    }
    if (!lossy && fits) {
      byte[] exact = pack(base, ext);
      if (!taken.contains(key(exact))) {
        return exact;
      }
    }
    for (int n = 1; n < 1_000_000; n++) {
      String tail = "~" + n;
      String b = base.length() + tail.length() > 8 ? base.substring(0, 8 - tail.length()) : base;
      byte[] candidate = pack(b + tail, ext);
      if (!taken.contains(key(candidate))) {
        return candidate;
      }
    }
    throw new IllegalStateException(
        "no free short name for " + name); // 999999 siblings: unreachable
  }

  /** An 11-byte, space-padded short name (ASCII only by construction). */
  static byte[] pack(String base, String ext) {
    byte[] out = new byte[11];
    java.util.Arrays.fill(out, (byte) ' ');
    byte[] b = base.getBytes(StandardCharsets.US_ASCII);
    byte[] e = ext.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, out, 0, b.length);
    System.arraycopy(e, 0, out, 8, e.length);
    return out;
  }

  static String key(byte[] shortName) {
    return new String(shortName, StandardCharsets.ISO_8859_1);
  }

  /** The checksum of an 11-byte short name kept in its long-name entries (FAT spec, ChkSum()). */
  static int checksum(byte[] shortName) {
    int sum = 0;
    for (int i = 0; i < 11; i++) {
      sum = (((sum & 1) << 7) + (sum >> 1) + (shortName[i] & 0xff)) & 0xff;
    }
    return sum;
  }

  /**
   * Checks and normalises a volume label: at most 11 characters allowed in short names (or spaces),
   * letters upper-cased; "" means no label ("NO NAME" in the boot sector, no root entry).
   *
   * @throws FatFormatException naming the label otherwise
   */
  static String label(String label) throws FatFormatException {
    String up = label.toUpperCase(Locale.ROOT);
    if (up.length() > 11) {
      throw new FatFormatException(
          "volume label '"
              + label
              + "' is "
              + label.length()
              + " characters; FAT allows at most 11");
    }
    for (int i = 0; i < up.length(); i++) {
      char c = up.charAt(i);
      if (!((c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == ' '
          || SHORT_SPECIAL.indexOf(c) >= 0)) {
        throw new FatFormatException(
            "volume label '"
                + label
                + "': character '"
                + label.charAt(i)
                + "' is not allowed (A-Z, 0-9, space and "
                + SHORT_SPECIAL
                + ")");
      }
    }
    if (!up.isEmpty() && up.charAt(0) == ' ') {
      throw new FatFormatException("volume label '" + label + "' starts with a space");
    }
    return up;
  }
}
