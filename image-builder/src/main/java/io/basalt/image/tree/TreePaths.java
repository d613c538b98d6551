package io.basalt.image.tree;

import java.util.Comparator;

/** Helpers for absolute in-image paths ("/usr/bin/env"); never host paths. Thread-safe. */
public final class TreePaths {
  private TreePaths() {}

  /**
   * Orders paths component by component, each name compared as unsigned UTF-8 bytes (the order
   * squashfs and most writers need): a directory comes before its children, and siblings are
   * contiguous.
   */
  public static final Comparator<String> ORDER = TreePaths::compare;

  /**
   * Normalises {@code path} to the absolute form used in trees: leading "/" (a leading "./" or no
   * slash is accepted, as tar writes them), no trailing slash, no empty, "." or ".." components.
   *
   * @throws IllegalArgumentException naming the path when it has "..", a NUL, or is empty
   */
  public static String normalize(String path) {
    if (path == null || path.isEmpty()) {
      throw new IllegalArgumentException("empty path");
    }
    if (path.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("path contains NUL: " + path.replace('\0', '?'));
    }
    StringBuilder out = new StringBuilder(path.length() + 1);
    for (String part : path.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        throw new IllegalArgumentException("path has a '..' component: " + path);
      }
      out.append('/').append(part);
    }
    return out.length() == 0 ? "/" : out.toString();
  }

  /** The last component of a normalised path, "" for "/". */
  public static String name(String normalized) {
    return normalized.substring(normalized.lastIndexOf('/') + 1);
  }

  /** The parent of a normalised path, null for "/". */
  public static String parent(String normalized) {
    if (normalized.equals("/")) {
      return null;
    }
    int slash = normalized.lastIndexOf('/');
    return slash == 0 ? "/" : normalized.substring(0, slash);
  }

  /** Joins a normalised directory path and a child name. */
  public static String child(String dir, String name) {
    return dir.equals("/") ? "/" + name : dir + "/" + name;
  }

  private static int compare(String a, String b) {
    // Component-wise order = the order of the whole strings with '/' below every other character
    // (a shorter component, or fewer components, sort first), compared as code points (the order
    // of unsigned UTF-8 bytes); no split, no allocation: trees sort tens of thousands of paths.
    return compareChars(a, b, true);
  }

  /** Compares two names as unsigned UTF-8 byte strings (strcmp order). */
  public static int compareNames(String a, String b) {
    return compareChars(a, b, false);
  }

  private static int compareChars(String a, String b, boolean slashLowest) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      char x = a.charAt(i);
      char y = b.charAt(i);
      if (x != y) {
        return Integer.compare(key(x, slashLowest), key(y, slashLowest));
      }
    }
    return Integer.compare(a.length(), b.length());
  }

  /**
   * The sort key of the first differing char: '/' lowest (for paths), surrogates (the first
   * differing char of a supplementary code point) above every BMP char, as in UTF-8 byte order.
   */
  private static int key(char c, boolean slashLowest) {
    if (c == '/' && slashLowest) {
      return -1;
    }
    return Character.isSurrogate(c) ? c + 0x10000 : c;
  }
}
