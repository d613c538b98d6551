package io.basalt.update.agent;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A release version ordered by Semantic Versioning 2.0 precedence (section 11): numeric core
 * identifiers compared numerically (any count, {@code 2026.11.1} works), a pre-release sorts before
 * its release, build metadata after {@code +} ignored for ordering. Immutable.
 */
public final class SemVer implements Comparable<SemVer> {

  private final String text;
  private final long[] core;
  private final List<String> pre;

  private SemVer(String text, long[] core, List<String> pre) {
    this.text = text;
    this.core = core;
    this.pre = pre;
  }

  /**
   * Parses a version.
   *
   * @throws IllegalArgumentException naming the text when it is not a version
   */
  public static SemVer parse(String text) {
    return tryParse(text)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "not a version (expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]): \""
                        + text
                        + "\""));
  }

  /** Parses a version, empty when the text is not one. */
  public static Optional<SemVer> tryParse(String text) {
    if (text == null
        || !text.matches(
            "v?\\d+(\\.\\d+)*(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?(\\+[0-9A-Za-z.-]+)?")) {
      return Optional.empty();
    }
    String t = text.startsWith("v") ? text.substring(1) : text;
    int plus = t.indexOf('+');
    if (plus >= 0) {
      t = t.substring(0, plus);
    }
    int dash = t.indexOf('-');
    String c = dash >= 0 ? t.substring(0, dash) : t;
    List<String> pre = dash >= 0 ? List.of(t.substring(dash + 1).split("\\.")) : List.of();
    String[] parts = c.split("\\.");
    long[] core = new long[parts.length];
    try {
      for (int i = 0; i < parts.length; i++) {
        core[i] = Long.parseLong(parts[i]);
      }
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    return Optional.of(new SemVer(text, core, new ArrayList<>(pre)));
  }

  @Override
  public int compareTo(SemVer o) {
    int n = Math.max(core.length, o.core.length);
    for (int i = 0; i < n; i++) {
      long a = i < core.length ? core[i] : 0;
      long b = i < o.core.length ? o.core[i] : 0;
      if (a != b) {
        return Long.compare(a, b);
      }
    }
    if (pre.isEmpty() || o.pre.isEmpty()) {
      return Boolean.compare(pre.isEmpty(), o.pre.isEmpty());
    }
    for (int i = 0; i < Math.min(pre.size(), o.pre.size()); i++) {
      String a = pre.get(i);
      String b = o.pre.get(i);
      boolean na = a.matches("\\d+");
      boolean nb = b.matches("\\d+");
      int c;
      if (na && nb) {
        c = new java.math.BigInteger(a).compareTo(new java.math.BigInteger(b));
      } else if (na != nb) {
        c = na ? -1 : 1;
      } else {
        c = a.compareTo(b);
      }
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(pre.size(), o.pre.size());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SemVer s && compareTo(s) == 0;
  }

  @Override
  public int hashCode() {
    long[] trimmed = core;
    int n = trimmed.length;
    while (n > 1 && trimmed[n - 1] == 0) {
      n--;
    }
    return java.util.Arrays.hashCode(java.util.Arrays.copyOf(trimmed, n)) * 31 + pre.hashCode();
  }

  @Override
  public String toString() {
    return text;
  }
}
