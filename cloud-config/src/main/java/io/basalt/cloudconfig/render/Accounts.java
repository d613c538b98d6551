package io.basalt.cloudconfig.render;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of etc/passwd, etc/group and etc/shadow under a root, read fresh whenever the applier
 * needs it (the system tools change them). Not thread-safe.
 */
final class Accounts {

  /** A passwd entry. */
  record Passwd(String name, int uid, int gid, String home) {}

  /** A group entry. */
  record Group(String name, int gid, List<String> members) {}

  final Map<String, Passwd> users = new LinkedHashMap<>();
  final Map<String, Group> groups = new LinkedHashMap<>();
  final Map<String, String> shadow = new LinkedHashMap<>();

  static Accounts read(Path root) throws IOException {
    Accounts a = new Accounts();
    for (String[] f : fields(root.resolve("etc/passwd"))) {
      if (f.length >= 6) {
        a.users.put(f[0], new Passwd(f[0], parse(f[2]), parse(f[3]), f[5]));
      }
    }
    for (String[] f : fields(root.resolve("etc/group"))) {
      if (f.length >= 3) {
        List<String> members = new ArrayList<>();
        if (f.length >= 4 && !f[3].isEmpty()) {
          members.addAll(List.of(f[3].split(",")));
        }
        a.groups.put(f[0], new Group(f[0], parse(f[2]), members));
      }
    }
    for (String[] f : fields(root.resolve("etc/shadow"))) {
      if (f.length >= 2) {
        a.shadow.put(f[0], f[1]);
      }
    }
    return a;
  }

  String groupName(int gid) {
    for (Group g : groups.values()) {
      if (g.gid() == gid) {
        return g.name();
      }
    }
    return null;
  }

  /** Whether {@code user} is in {@code group}, as a member or by primary group. */
  boolean inGroup(String user, String group) {
    Group g = groups.get(group);
    if (g == null) {
      return false;
    }
    Passwd p = users.get(user);
    return g.members().contains(user) || (p != null && p.gid() == g.gid());
  }

  private static int parse(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static List<String[]> fields(Path file) throws IOException {
    List<String[]> out = new ArrayList<>();
    if (!Files.exists(file)) {
      return out;
    }
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (!line.isBlank() && !line.startsWith("#")) {
        out.add(line.split(":", -1));
      }
    }
    return out;
  }
}
