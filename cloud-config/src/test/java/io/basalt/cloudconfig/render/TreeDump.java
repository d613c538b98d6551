package io.basalt.cloudconfig.render;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** A readable, deterministic dump of a directory tree for golden comparisons. */
final class TreeDump {

  private TreeDump() {}

  static String dump(Path root, boolean owners) throws IOException {
    List<Path> all;
    try (Stream<Path> s = Files.walk(root)) {
      all =
          s.filter(p -> !p.equals(root))
              .sorted((a, b) -> a.toString().compareTo(b.toString()))
              .collect(Collectors.toList());
    }
    StringBuilder b = new StringBuilder();
    for (Path p : all) {
      String rel = "/" + root.relativize(p).toString();
      if (Files.isSymbolicLink(p)) {
        b.append("== ").append(rel).append(" -> ").append(Files.readSymbolicLink(p)).append('\n');
        continue;
      }
      if (Files.isDirectory(p)) {
        continue;
      }
      PosixFileAttributes a =
          Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      b.append("== ").append(rel).append(" mode=").append(String.format("%04o", mode(a)));
      if (owners) {
        b.append(" owner=").append(a.owner().getName()).append(':').append(a.group().getName());
      }
      b.append('\n');
      String c = new String(Files.readAllBytes(p), StandardCharsets.UTF_8);
      b.append(c);
      if (!c.isEmpty() && !c.endsWith("\n")) {
        b.append("\\ no newline at end of file\n");
      }
    }
    return b.toString();
  }

  static int mode(PosixFileAttributes a) {
    int m = 0;
    for (PosixFilePermission perm : a.permissions()) {
      m |= 1 << (8 - perm.ordinal());
    }
    return m;
  }
}
