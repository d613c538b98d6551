package io.basalt.image.initramfs;

import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import io.basalt.image.tree.TreePaths;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;

/**
 * Resolves in-image paths inside a {@link FileTree} the way the kernel would inside a chroot of it:
 * symbolic links (relative and absolute) and ".." followed component by component, never leaving
 * the tree. Thread-safe (the tree is immutable).
 */
final class TreeResolver {
  private static final int MAX_LINKS = 40;

  private final FileTree tree;

  TreeResolver(FileTree tree) {
    this.tree = tree;
  }

  FileTree tree() {
    return tree;
  }

  /** A resolved path: the entry reached and every symbolic link followed on the way, in order. */
  static final class Resolved {
    final TreeEntry entry;
    final List<TreeEntry> links;

    Resolved(TreeEntry entry, List<TreeEntry> links) {
      this.entry = entry;
      this.links = Collections.unmodifiableList(links);
    }
  }

  /**
   * Resolves {@code path} (absolute; may hold "..") following every symbolic link, the last
   * component included. Returns null when a component is missing, is not a directory where one is
   * needed, or links loop more than 40 times.
   */
  Resolved resolve(String path) {
    List<TreeEntry> links = new ArrayList<>();
    Deque<String> todo = new ArrayDeque<>(components(path));
    String current = "/";
    int hops = 0;
    while (!todo.isEmpty()) {
      String c = todo.pollFirst();
      if (c.equals("..")) {
        String p = TreePaths.parent(current);
        current = p == null ? "/" : p;
        continue;
      }
      String next = TreePaths.child(current, c);
      TreeEntry e = tree.get(next);
      if (e == null) {
        return null;
      }
      if (e.type() == EntryType.SYMLINK) {
        if (++hops > MAX_LINKS) {
          return null;
        }
        links.add(e);
        String target = e.linkTarget();
        List<String> tc = components(target);
        for (int i = tc.size() - 1; i >= 0; i--) {
          todo.addFirst(tc.get(i));
        }
        if (target.startsWith("/")) {
          current = "/";
        }
        continue;
      }
      if (!todo.isEmpty() && !e.isDirectory()) {
        return null;
      }
      current = next;
    }
    TreeEntry end = tree.get(current);
    return end == null ? null : new Resolved(end, links);
  }

  /** The path components of {@code path}, "." and empty ones dropped, ".." kept. */
  static List<String> components(String path) {
    List<String> out = new ArrayList<>();
    for (String part : path.split("/")) {
      if (!part.isEmpty() && !part.equals(".")) {
        out.add(part);
      }
    }
    return out;
  }
}
