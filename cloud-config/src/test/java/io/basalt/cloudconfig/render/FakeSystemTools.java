package io.basalt.cloudconfig.render;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A fake system for applier tests: useradd/groupadd/usermod/chpasswd edit etc/passwd, etc/group and
 * etc/shadow under the root as the shadow-utils tools do; everything else is recorded. Commands
 * whose argv joined by spaces is in {@link #failing} exit 1.
 */
final class FakeSystemTools implements SystemTools {

  final Path root;
  final List<String> commands = new ArrayList<>();
  final List<String> stdins = new ArrayList<>();
  final Set<String> failing = new HashSet<>();

  FakeSystemTools(Path root) throws IOException {
    this.root = root;
    Files.createDirectories(root.resolve("etc"));
    write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    write("etc/group", "root:x:0:\nusers:x:100:\nsudo:x:27:\n");
    write("etc/shadow", "root:*:19000:0:99999:7:::\n");
  }

  /** Seeds a base system in the root (for tests that start from an existing host). */
  private void write(String rel, String content) throws IOException {
    if (!Files.exists(root.resolve(rel))) {
      Files.writeString(root.resolve(rel), content, StandardCharsets.UTF_8);
    }
  }

  @Override
  public Result run(List<String> argv, byte[] stdin) throws IOException {
    String line = String.join(" ", argv);
    commands.add(line);
    if (stdin.length > 0) {
      stdins.add(new String(stdin, StandardCharsets.UTF_8));
    }
    if (failing.contains(line)) {
      return new Result(1, "Job for unit failed");
    }
    switch (argv.get(0)) {
      case "groupadd" -> groupadd(argv);
      case "useradd" -> useradd(argv);
      case "usermod" -> usermod(argv);
      case "chpasswd" -> chpasswd(new String(stdin, StandardCharsets.UTF_8));
      default -> {}
    }
    return new Result(0, "");
  }

  private List<String[]> read(String rel) throws IOException {
    List<String[]> out = new ArrayList<>();
    for (String l : Files.readAllLines(root.resolve(rel))) {
      out.add(l.split(":", -1));
    }
    return out;
  }

  private void append(String rel, String line) throws IOException {
    Files.writeString(root.resolve(rel), line + "\n", StandardOpenOption.APPEND);
  }

  private void rewrite(String rel, List<String[]> rows) throws IOException {
    StringBuilder b = new StringBuilder();
    for (String[] r : rows) {
      b.append(String.join(":", r)).append('\n');
    }
    Files.writeString(root.resolve(rel), b.toString());
  }

  private int nextId(String rel, int field, boolean system) throws IOException {
    int id = system ? 999 : 1000;
    Set<Integer> used = new HashSet<>();
    for (String[] r : read(rel)) {
      used.add(Integer.parseInt(r[field]));
    }
    while (used.contains(id)) {
      id += system ? -1 : 1;
    }
    return id;
  }

  private boolean groupIdFree(int id) throws IOException {
    for (String[] r : read("etc/group")) {
      if (Integer.parseInt(r[2]) == id) {
        return false;
      }
    }
    return true;
  }

  private int gid(String group) throws IOException {
    for (String[] r : read("etc/group")) {
      if (r[0].equals(group)) {
        return Integer.parseInt(r[2]);
      }
    }
    throw new IOException("group " + group + " does not exist");
  }

  private void groupadd(List<String> argv) throws IOException {
    String name = argv.get(argv.size() - 1);
    append("etc/group", name + ":x:" + nextId("etc/group", 2, argv.contains("--system")) + ":");
  }

  private void useradd(List<String> argv) throws IOException {
    String name = argv.get(argv.size() - 1);
    boolean system = argv.contains("--system");
    String home = opt(argv, "--home-dir", "/home/" + name);
    String shell = opt(argv, "--shell", "/bin/sh");
    String gecos = opt(argv, "--comment", "");
    int uid = nextId("etc/passwd", 2, system);
    int gid;
    if (opt(argv, "--gid", null) != null) {
      gid = gid(opt(argv, "--gid", null));
    } else if (argv.contains("--no-user-group")) {
      gid = 100;
    } else {
      gid = groupIdFree(uid) ? uid : nextId("etc/group", 2, system);
      append("etc/group", name + ":x:" + gid + ":");
    }
    append("etc/passwd", name + ":x:" + uid + ":" + gid + ":" + gecos + ":" + home + ":" + shell);
    append("etc/shadow", name + ":!:19000:0:99999:7:::");
    String groups = opt(argv, "--groups", null);
    if (groups != null) {
      addMembers(name, groups.split(","));
    }
    if (argv.contains("--create-home")) {
      Path h = root.resolve(home.substring(1));
      Files.createDirectories(h);
      if (h.getFileSystem() == java.nio.file.FileSystems.getDefault()) {
        Files.setAttribute(h, "unix:uid", uid);
        Files.setAttribute(h, "unix:gid", gid);
      } else {
        Files.setOwner(
            h, h.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(name));
      }
    }
  }

  private void usermod(List<String> argv) throws IOException {
    addMembers(argv.get(argv.size() - 1), opt(argv, "--groups", "").split(","));
  }

  private void addMembers(String user, String[] groups) throws IOException {
    List<String[]> rows = read("etc/group");
    for (String g : groups) {
      boolean found = false;
      for (int i = 0; i < rows.size(); i++) {
        String[] r = rows.get(i);
        if (r[0].equals(g)) {
          found = true;
          String members = r.length > 3 && !r[3].isEmpty() ? r[3] + "," + user : user;
          rows.set(i, new String[] {r[0], r[1], r[2], members});
        }
      }
      if (!found) {
        throw new IOException("group '" + g + "' does not exist");
      }
    }
    rewrite("etc/group", rows);
  }

  private void chpasswd(String input) throws IOException {
    List<String[]> rows = read("etc/shadow");
    for (String l : input.split("\n")) {
      int colon = l.indexOf(':');
      String user = l.substring(0, colon);
      for (String[] r : rows) {
        if (r[0].equals(user)) {
          r[1] = l.substring(colon + 1);
        }
      }
    }
    rewrite("etc/shadow", rows);
  }

  private static String opt(List<String> argv, String name, String dflt) {
    int i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.size() ? argv.get(i + 1) : dflt;
  }
}
