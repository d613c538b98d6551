package io.basalt.image.initramfs;

import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.tree.TreePaths;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Finds, inside an image tree, the files an executable needs to run: its program interpreter and
 * the transitive closure of its DT_NEEDED libraries, searched as glibc's ld.so searches (DT_RPATH
 * when there is no DT_RUNPATH, DT_RUNPATH, the ld.so.conf directories of the tree, then the
 * multiarch and default directories; $ORIGIN, $LIB and $PLATFORM expanded; candidates of another
 * ELF class or machine skipped). Not thread-safe (caches parsed files).
 */
final class LibraryResolver {
  private static final long MAX_ELF_BYTES = 1L << 30;

  private final TreeResolver resolver;
  private final Map<String, ElfInfo> parsed = new LinkedHashMap<>();
  private List<String> ldSoConf;

  LibraryResolver(TreeResolver resolver) {
    this.resolver = resolver;
  }

  /**
   * The in-image paths (as asked for, symlinks not yet followed) of every file {@code executable}
   * needs, the executable first; each is later copied with the links leading to it.
   *
   * @throws IOException naming the executable and the library that cannot be found or parsed
   */
  List<String> closure(String executable) throws IOException {
    LinkedHashSet<String> out = new LinkedHashSet<>();
    TreeResolver.Resolved exe = resolver.resolve(executable);
    if (exe == null || regular(exe.entry) == null) {
      throw new java.nio.file.NoSuchFileException(
          executable, null, "not a regular file in the image tree");
    }
    out.add(executable);
    ElfInfo info = elf(executable);
    if (info == null) {
      return new ArrayList<>(out); // a script: its interpreter is the caller's business
    }
    if (info.interpreter() != null) {
      if (resolver.resolve(info.interpreter()) == null) {
        throw new java.nio.file.NoSuchFileException(
            executable,
            info.interpreter(),
            "program interpreter (PT_INTERP) missing from the image tree");
      }
      out.add(info.interpreter());
    }
    // Breadth-first over DT_NEEDED, as the loader does; RPATH of the executable is inherited.
    List<String> queue = new ArrayList<>();
    queue.add(executable);
    Set<String> seen = new LinkedHashSet<>();
    seen.add(canonical(executable));
    for (int i = 0; i < queue.size(); i++) {
      String obj = queue.get(i);
      ElfInfo oi = elf(obj);
      if (oi == null) {
        continue;
      }
      for (String need : oi.needed()) {
        String found = find(need, obj, oi, info, executable);
        if (found == null) {
          throw new java.nio.file.NoSuchFileException(
              obj,
              null,
              "needs " + need + " (DT_NEEDED), found in none of " + searchPath(obj, oi, info));
        }
        if (seen.add(canonical(found))) {
          out.add(found);
          queue.add(found);
        }
      }
    }
    return new ArrayList<>(out);
  }

  private String canonical(String path) {
    TreeResolver.Resolved r = resolver.resolve(path);
    return r == null ? path : regular(r.entry) == null ? path : regular(r.entry).path();
  }

  private String find(String need, String obj, ElfInfo oi, ElfInfo exe, String executable)
      throws IOException {
    if (need.contains("/")) {
      return resolver.resolve(need) != null ? need : null;
    }
    for (String dir : searchPath(obj, oi, exe)) {
      String candidate = dir.equals("/") ? "/" + need : dir + "/" + need;
      TreeResolver.Resolved r = resolver.resolve(candidate);
      if (r == null || regular(r.entry) == null) {
        continue;
      }
      ElfInfo ci = elf(candidate);
      if (ci != null && ci.is64() == exe.is64() && ci.machine() == exe.machine()) {
        return candidate;
      }
    }
    return null;
  }

  private List<String> searchPath(String obj, ElfInfo oi, ElfInfo exe) throws IOException {
    List<String> dirs = new ArrayList<>();
    String origin = TreePaths.parent(canonical(obj));
    if (oi.runpath().isEmpty()) {
      addExpanded(dirs, oi.rpath(), origin, exe);
      if (oi != exe) {
        addExpanded(dirs, exe.rpath(), origin, exe);
      }
    }
    addExpanded(dirs, oi.runpath(), origin, exe);
    dirs.addAll(ldSoConf());
    String multiarch = multiarch(exe);
    if (multiarch != null) {
      dirs.add("/lib/" + multiarch);
      dirs.add("/usr/lib/" + multiarch);
    }
    if (exe.is64()) {
      dirs.add("/lib64");
      dirs.add("/usr/lib64");
    }
    dirs.add("/lib");
    dirs.add("/usr/lib");
    return new ArrayList<>(new LinkedHashSet<>(dirs));
  }

  private static void addExpanded(List<String> dirs, List<String> raw, String origin, ElfInfo exe) {
    for (String d : raw) {
      String x =
          d.replace("${ORIGIN}", origin)
              .replace("$ORIGIN", origin)
              .replace("${LIB}", exe.is64() ? "lib64" : "lib")
              .replace("$LIB", exe.is64() ? "lib64" : "lib")
              .replace("${PLATFORM}", platform(exe))
              .replace("$PLATFORM", platform(exe));
      if (x.startsWith("/")) {
        dirs.add(x);
      }
    }
  }

  private static String platform(ElfInfo e) {
    switch (e.machine()) {
      case 62:
        return "x86_64";
      case 3:
        return "i686";
      case 183:
        return "aarch64";
      default:
        return "unknown";
    }
  }

  /** The Debian multiarch tuple for the executable's machine, or null. */
  static String multiarch(ElfInfo e) {
    switch (e.machine()) {
      case 62:
        return e.is64() ? "x86_64-linux-gnu" : "i386-linux-gnu";
      case 3:
        return "i386-linux-gnu";
      case 183:
        return "aarch64-linux-gnu";
      default:
        return null;
    }
  }

  /** Directories named by /etc/ld.so.conf of the tree, following "include" globs. */
  private List<String> ldSoConf() throws IOException {
    if (ldSoConf == null) {
      List<String> dirs = new ArrayList<>();
      readLdSoConf("/etc/ld.so.conf", dirs, 0);
      ldSoConf = dirs;
    }
    return ldSoConf;
  }

  private void readLdSoConf(String path, List<String> dirs, int depth) throws IOException {
    if (depth > 8) {
      return;
    }
    TreeResolver.Resolved r = resolver.resolve(path);
    if (r == null || regular(r.entry) == null) {
      return;
    }
    String text = new String(bytes(regular(r.entry), path), StandardCharsets.UTF_8);
    for (String line : text.split("\n")) {
      String l = line.replaceAll("#.*", "").trim();
      if (l.isEmpty()) {
        continue;
      }
      if (l.matches("include\\s+.*")) {
        for (String pattern : l.substring(7).trim().split("\\s+")) {
          String abs = pattern.startsWith("/") ? pattern : TreePaths.parent(path) + "/" + pattern;
          for (String f : glob(abs)) {
            readLdSoConf(f, dirs, depth + 1);
          }
        }
      } else if (l.startsWith("/")) {
        dirs.add(l.replaceAll("/+$", ""));
      }
    }
  }

  /**
   * Expands a "*" / "?" glob in the last component only (as ld.so.conf includes use it), sorted.
   */
  private List<String> glob(String pattern) {
    int slash = pattern.lastIndexOf('/');
    String dir = slash == 0 ? "/" : pattern.substring(0, slash);
    String namePattern = pattern.substring(slash + 1);
    Pattern p =
        Pattern.compile(
            ("\\Q" + namePattern + "\\E").replace("*", "\\E.*\\Q").replace("?", "\\E.\\Q"));
    TreeResolver.Resolved d = resolver.resolve(dir);
    List<String> out = new ArrayList<>();
    if (d == null || !d.entry.isDirectory()) {
      return out;
    }
    for (TreeEntry c : resolver.tree().children(d.entry.path())) {
      if (p.matcher(c.name()).matches()) {
        out.add(c.path());
      }
    }
    return out;
  }

  /** The parsed ELF headers of the file at {@code path}, or null when it is not ELF. */
  ElfInfo elf(String path) throws IOException {
    TreeResolver.Resolved r = resolver.resolve(path);
    TreeEntry e = r == null ? null : regular(r.entry);
    if (e == null) {
      throw new java.nio.file.NoSuchFileException(
          path, null, "not a regular file in the image tree");
    }
    if (parsed.containsKey(e.path())) {
      return parsed.get(e.path());
    }
    byte[] head = new byte[4];
    try (InputStream in = e.content().open()) {
      int n = in.readNBytes(head, 0, 4);
      if (n < 4 || !ElfInfo.isElf(head)) {
        parsed.put(e.path(), null);
        return null;
      }
    }
    ElfInfo info = ElfInfo.parse(bytes(e, path), path);
    parsed.put(e.path(), info);
    return info;
  }

  /** For a hard link, the regular file it names; the entry itself when regular; else null. */
  TreeEntry regular(TreeEntry e) {
    if (e.type() == EntryType.REGULAR) {
      return e;
    }
    if (e.type() == EntryType.HARDLINK) {
      TreeEntry t = resolver.tree().get(e.linkTarget());
      return t != null && t.type() == EntryType.REGULAR ? t : null;
    }
    return null;
  }

  private static byte[] bytes(TreeEntry e, String what) throws IOException {
    if (e.size() > MAX_ELF_BYTES) {
      throw new IOException(
          what
              + ": "
              + e.size()
              + " bytes, larger than the "
              + MAX_ELF_BYTES
              + " this reader accepts");
    }
    try (InputStream in = e.content().open()) {
      return in.readAllBytes();
    }
  }
}
