package io.basalt.qemu;

import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Reads a host directory into a {@link FileTree} (test helper; device nodes and sockets skipped).
 */
final class DirTrees {
  private DirTrees() {}

  /** Reads {@code root}, leaving out every path starting with one of {@code skipPrefixes}. */
  static FileTree read(Path root, String... skipPrefixes) throws IOException {
    FileTree.Builder b = FileTree.builder();
    List<Path> all;
    try (Stream<Path> s = Files.walk(root)) {
      all = s.collect(Collectors.toList());
    }
    for (Path p : all) {
      String rel = root.relativize(p).toString();
      String path = "/" + rel;
      boolean skip = false;
      for (String prefix : skipPrefixes) {
        skip |= path.startsWith(prefix);
      }
      if (skip) {
        continue;
      }
      Map<String, Object> a =
          Files.readAttributes(p, "unix:mode,uid,gid,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
      int mode = (Integer) a.get("mode") & 07777;
      int uid = (Integer) a.get("uid");
      int gid = (Integer) a.get("gid");
      long mtime = ((FileTime) a.get("lastModifiedTime")).toMillis() / 1000;
      TreeEntry e;
      if (Files.isSymbolicLink(p)) {
        e = TreeEntry.symlink(path, Files.readSymbolicLink(p).toString());
      } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        e = TreeEntry.directory(path).withMode(mode);
      } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        e = TreeEntry.regular(path, Content.ofFile(p)).withMode(mode);
      } else {
        continue;
      }
      b.put(e.withOwner(uid, gid).withMtime(Math.max(0, mtime)));
    }
    return b.build();
  }
}
