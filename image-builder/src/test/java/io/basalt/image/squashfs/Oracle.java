package io.basalt.image.squashfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.basalt.image.testfixtures.HostTool;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs the reference tools (unsquashfs, stat, sha256sum, getfattr) and compares with trees. */
final class Oracle {
  private Oracle() {}

  /**
   * Runs a command (in {@code dir} unless null, {@code LC_ALL=C}); returns stdout; fails the test
   * with stderr on a non-zero exit.
   */
  static byte[] run(Path dir, String... cmd) throws IOException, InterruptedException {
    HostTool t = HostTool.run(TimeUnit.MINUTES.toSeconds(20), Map.of("LC_ALL", "C"), dir, cmd);
    if (t.exit != 0) {
      fail(String.join(" ", cmd) + ": exit " + t.exit + ": " + t.err);
    }
    return t.out;
  }

  static String runText(Path dir, String... cmd) throws IOException, InterruptedException {
    return new String(run(dir, cmd), StandardCharsets.UTF_8);
  }

  private static final Pattern LLS =
      Pattern.compile(
          "^(\\S{10}) (\\d+)/(\\d+)\\s+(\\d+|\\d+,\\s*\\d+) (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d) squashfs-root(.*)$");

  /**
   * {@code unsquashfs -lln} of the image, as path to "mode uid/gid size-or-dev date[ -> target]".
   */
  static Map<String, String> listing(Path image) throws IOException, InterruptedException {
    String out = runText(null, "unsquashfs", "-lln", image.toString());
    Map<String, String> m = new TreeMap<>();
    for (String line : out.split("\n")) {
      Matcher x = LLS.matcher(line);
      if (!x.matches()) {
        continue;
      }
      String rest = x.group(6);
      String path = rest;
      String target = "";
      if (x.group(1).startsWith("l")) {
        int arrow = rest.indexOf(" -> ");
        path = rest.substring(0, arrow);
        target = rest.substring(arrow);
      }
      String size = x.group(1).startsWith("d") ? "-" : x.group(4).replaceAll("\\s+", "");
      m.put(
          path.isEmpty() ? "/" : path,
          x.group(1)
              + " "
              + x.group(2)
              + "/"
              + x.group(3)
              + " "
              + size
              + " "
              + x.group(5)
              + target);
    }
    return m;
  }

  /** What {@code unsquashfs -lln} should print for {@code tree} built with mtime {@code mtime}. */
  static Map<String, String> expectedListing(FileTree tree, long mtime) {
    String date =
        DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")
            .format(Instant.ofEpochSecond(mtime).atZone(ZoneOffset.UTC));
    Map<String, String> m = new TreeMap<>();
    for (TreeEntry e : tree) {
      TreeEntry t = e.type() == EntryType.HARDLINK ? tree.get(e.linkTarget()) : e;
      String size;
      switch (t.type()) {
        case DIRECTORY:
          size = "-";
          break;
        case REGULAR:
          size = Long.toString(t.size());
          break;
        case SYMLINK:
          size = Integer.toString(t.linkTarget().getBytes(StandardCharsets.UTF_8).length);
          break;
        case BLOCK_DEVICE:
        case CHAR_DEVICE:
          {
            // unsquashfs prints the encoded rdev as (rdev >> 8, rdev & 0xff)
            long rdev;
            try {
              rdev = SquashfsWriter.encodeDev(t.devMajor(), t.devMinor(), t.path());
            } catch (IOException ex) {
              throw new IllegalStateException(ex);
            }
            size = (rdev >> 8) + "," + (rdev & 0xff);
            break;
          }
        default:
          size = "0";
      }
      m.put(
          e.path(),
          modeString(t)
              + " "
              + t.uid()
              + "/"
              + t.gid()
              + " "
              + size
              + " "
              + date
              + (t.type() == EntryType.SYMLINK ? " -> " + t.linkTarget() : ""));
    }
    return m;
  }

  static String modeString(TreeEntry e) {
    char type;
    switch (e.type()) {
      case DIRECTORY:
        type = 'd';
        break;
      case SYMLINK:
        type = 'l';
        break;
      case BLOCK_DEVICE:
        type = 'b';
        break;
      case CHAR_DEVICE:
        type = 'c';
        break;
      case FIFO:
        type = 'p';
        break;
      case SOCKET:
        type = 's';
        break;
      default:
        type = '-';
    }
    int m = e.mode();
    StringBuilder s = new StringBuilder().append(type);
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      s.append((m & (0400 >> i)) != 0 ? rwx.charAt(i) : '-');
    }
    if ((m & 04000) != 0) s.setCharAt(3, s.charAt(3) == 'x' ? 's' : 'S');
    if ((m & 02000) != 0) s.setCharAt(6, s.charAt(6) == 'x' ? 's' : 'S');
    if ((m & 01000) != 0) s.setCharAt(9, s.charAt(9) == 'x' ? 't' : 'T');
    return s.toString();
  }

  /**
   * A byte-exact description of the directory tree under {@code dir} made by the Linux tools: per
   * path its type, mode, owner, size (files), device numbers, link count, symlink target, hard-link
   * group, sha256 of its content, and all its xattrs.
   */
  static List<String> manifest(Path dir) throws IOException, InterruptedException {
    List<String> rows = new ArrayList<>();
    String stat =
        runText(
            dir,
            "sh",
            "-c",
            "find . -print0 | sort -z | xargs -0 stat --printf '%F|%a|%u|%g|%s|%t:%T|%h|%i|%N\\n'");
    Map<String, String> firstByInode = new TreeMap<>();
    for (String line : stat.split("\n")) {
      if (line.isEmpty()) continue;
      String[] f = line.split("\\|", 9);
      if (f[0].equals("directory")) {
        f[4] = "-";
      }
      String leader =
          f[0].equals("regular file") || f[0].equals("regular empty file")
              ? firstByInode.computeIfAbsent(f[7], k -> f[8])
              : "";
      rows.add(String.join("|", f[0], f[1], f[2], f[3], f[4], f[5], f[6], leader, f[8]));
    }
    for (String line :
        runText(dir, "sh", "-c", "find . -type f -print0 | sort -z | xargs -0 -r sha256sum")
            .split("\n")) {
      if (!line.isEmpty()) rows.add("sha256 " + line);
    }
    // getfattr walks in readdir order: regroup its blocks by file, sorted
    Map<String, String> x = new TreeMap<>();
    String cur = null;
    StringBuilder sb = new StringBuilder();
    for (String line :
        runText(dir, "getfattr", "-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", ".").split("\n")) {
      if (line.startsWith("# file: ")) {
        if (cur != null) x.put(cur, sb.toString());
        cur = line.substring(8);
        sb.setLength(0);
      } else if (!line.isEmpty()) {
        sb.append(line).append(';');
      }
    }
    if (cur != null) x.put(cur, sb.toString());
    x.forEach((k, v) -> rows.add("xattr " + k + " " + v));
    return rows;
  }

  /** Asserts two manifests are equal, reporting the first few differing rows. */
  static void assertSameManifest(List<String> expected, List<String> actual) {
    if (expected.equals(actual)) {
      return;
    }
    List<String> missing = new ArrayList<>(expected);
    missing.removeAll(actual);
    List<String> extra = new ArrayList<>(actual);
    extra.removeAll(expected);
    assertEquals(
        expected.size() + " rows, missing " + head(missing),
        actual.size() + " rows, unexpected " + head(extra));
  }

  private static List<String> head(List<String> l) {
    return l.subList(0, Math.min(10, l.size()));
  }

  static void deleteTree(Path p) throws IOException, InterruptedException {
    if (p != null && Files.exists(p)) {
      run(null, "rm", "-rf", p.toString());
    }
  }
}
