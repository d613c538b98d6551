package io.basalt.image.tree;

import java.nio.charset.StandardCharsets;
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
    if (a.equals(b)) {
      return 0;
    }
    String[] pa = a.equals("/") ? new String[0] : a.substring(1).split("/");
    String[] pb = b.equals("/") ? new String[0] : b.substring(1).split("/");
    int n = Math.min(pa.length, pb.length);
    for (int i = 0; i < n; i++) {
      int c = compareNames(pa[i], pb[i]);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(pa.length, pb.length);
  }

  /** Compares two names as unsigned UTF-8 byte strings (strcmp order). */
  public static int compareNames(String a, String b) {
    byte[] x = a.getBytes(StandardCharsets.UTF_8);
    byte[] y = b.getBytes(StandardCharsets.UTF_8);
    int n = Math.min(x.length, y.length);
    for (int i = 0; i < n; i++) {
      int c = Integer.compare(x[i] & 0xff, y[i] & 0xff);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(x.length, y.length);
  }
}
