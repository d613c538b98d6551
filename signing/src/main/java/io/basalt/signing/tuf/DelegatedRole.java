package io.basalt.signing.tuf;

import io.basalt.signing.json.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A delegation from a targets role: the delegated role's name, keys, threshold, whether it is
 * terminating, and which target paths it may sign ({@code paths} glob patterns or {@code
 * path_hash_prefixes}). Immutable.
 */
public final class DelegatedRole {
  private final String name;
  private final RoleKeys keys;
  private final boolean terminating;
  private final List<String> paths;
  private final List<String> pathHashPrefixes;

  DelegatedRole(
      String name, RoleKeys keys, boolean terminating, List<String> paths, List<String> prefixes) {
    this.name = name;
    this.keys = keys;
    this.terminating = terminating;
    this.paths = paths;
    this.pathHashPrefixes = prefixes;
  }

  /**
   * A delegation by path patterns.
   *
   * @throws IllegalArgumentException if no pattern is given
   */
  public static DelegatedRole withPaths(
      String name, RoleKeys keys, boolean terminating, List<String> paths) {
    if (paths.isEmpty()) {
      throw new IllegalArgumentException(name + ": a delegation needs at least one path pattern");
    }
    return new DelegatedRole(name, keys, terminating, List.copyOf(paths), null);
  }

  /** A copy with other keys and threshold. */
  public DelegatedRole withKeys(RoleKeys newKeys) {
    return new DelegatedRole(name, newKeys, terminating, paths, pathHashPrefixes);
  }

  /** The delegation object as it appears in {@code delegations.roles}. */
  public Map<String, Object> toJson() {
    Map<String, Object> r = keys.toJson();
    r.put("name", name);
    r.put("terminating", terminating);
    if (paths != null) {
      r.put("paths", new ArrayList<Object>(paths));
    } else {
      r.put("path_hash_prefixes", new ArrayList<Object>(pathHashPrefixes));
    }
    return r;
  }

  /**
   * Reads a delegation object.
   *
   * @throws IllegalArgumentException naming {@code where} when a field is missing or wrong
   */
  public static DelegatedRole fromJson(Map<String, Object> m, String where) {
    String name = Json.string(m, "name", where);
    RoleKeys keys = RoleKeys.fromJson(m, where);
    boolean term = Json.bool(m, "terminating", where, false);
    List<String> paths =
        m.containsKey("paths") ? strings(Json.array(m, "paths", where), where + ".paths") : null;
    List<String> pre =
        m.containsKey("path_hash_prefixes")
            ? strings(Json.array(m, "path_hash_prefixes", where), where + ".path_hash_prefixes")
            : null;
    if ((paths == null) == (pre == null)) {
      throw new IllegalArgumentException(
          where + ": exactly one of paths and path_hash_prefixes must be set");
    }
    return new DelegatedRole(name, keys, term, paths, pre);
  }

  private static List<String> strings(List<Object> l, String where) {
    List<String> out = new ArrayList<>();
    for (Object o : l) {
      if (!(o instanceof String s)) {
        throw new IllegalArgumentException(where + ": expected strings");
      }
      out.add(s);
    }
    return List.copyOf(out);
  }

  /** The role name. */
  public String name() {
    return name;
  }

  /** Key ids and threshold. */
  public RoleKeys keys() {
    return keys;
  }

  /** Whether the search stops at this role when it matches a target. */
  public boolean terminating() {
    return terminating;
  }

  /** Whether this role is trusted for the target path. */
  public boolean matches(String targetPath) {
    if (paths != null) {
      for (String p : paths) {
        if (globMatchesPath(p, targetPath)) {
          return true;
        }
      }
      return false;
    }
    String h = Hashes.sha256(targetPath.getBytes(StandardCharsets.UTF_8));
    for (String prefix : pathHashPrefixes) {
      if (h.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  /**
   * TUF path patterns: the pattern and the path must have the same number of '/'-separated parts
   * and each part matches shell-style ({@code *} any run, {@code ?} one character, {@code [..]}
   * classes); so {@code *} never crosses a '/'.
   */
  static boolean globMatchesPath(String pattern, String path) {
    String[] pp = pattern.split("/", -1);
    String[] tp = path.split("/", -1);
    if (pp.length != tp.length) {
      return false;
    }
    for (int i = 0; i < pp.length; i++) {
      if (!fnmatch(pp[i], 0, tp[i], 0)) {
        return false;
      }
    }
    return true;
  }

  private static boolean fnmatch(String p, int pi, String s, int si) {
    while (pi < p.length()) {
      char c = p.charAt(pi);
      if (c == '*') {
        for (int k = s.length(); k >= si; k--) {
          if (fnmatch(p, pi + 1, s, k)) {
            return true;
          }
        }
        return false;
      }
      if (si >= s.length()) {
        return false;
      }
      if (c == '?') {
        pi++;
        si++;
      } else if (c == '[' && p.indexOf(']', pi + 2) > 0) {
        int end = p.indexOf(']', pi + 2);
        String cls = p.substring(pi + 1, end);
        boolean negate = cls.startsWith("!");
        if (negate) {
          cls = cls.substring(1);
        }
        char ch = s.charAt(si);
        boolean in = false;
        for (int k = 0; k < cls.length(); k++) {
          if (k + 2 < cls.length() && cls.charAt(k + 1) == '-') {
            if (ch >= cls.charAt(k) && ch <= cls.charAt(k + 2)) {
              in = true;
            }
            k += 2;
          } else if (cls.charAt(k) == ch) {
            in = true;
          }
        }
        if (in == negate) {
          return false;
        }
        pi = end + 1;
        si++;
      } else {
        if (c != s.charAt(si)) {
          return false;
        }
        pi++;
        si++;
      }
    }
    return si == s.length();
  }
}
