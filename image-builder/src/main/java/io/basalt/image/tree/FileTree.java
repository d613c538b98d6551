package io.basalt.image.tree;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * An immutable image tree: entries keyed by absolute in-image path in {@link TreePaths#ORDER}
 * (parents before children, siblings sorted by UTF-8 bytes), so every writer walks it in the same
 * order whatever order the entries were added in. Every entry's parent exists and is a directory;
 * every hard link names a regular file of the tree. Thread-safe.
 */
public final class FileTree implements Iterable<TreeEntry> {
  private final NavigableMap<String, TreeEntry> entries;

  private FileTree(NavigableMap<String, TreeEntry> entries) {
    this.entries = entries;
  }

  /**
   * Reads a tar archive (GNU or pax, as {@code tar --xattrs} writes it) as a tree without
   * extracting it: each file's content is read from the tar when needed, so {@code tar} must stay
   * unchanged while the tree is in use.
   *
   * @throws IOException naming the tar and entry when the archive is malformed or holds an entry
   *     the tree cannot represent (sparse files, unknown types, a hard link to a non-file)
   */
  public static FileTree readTar(Path tar) throws IOException {
    return TarTreeReader.read(tar);
  }

  /**
   * Makes the content index of {@code tar} ({@code <tar>.index}: SHA-256 of every file, so that
   * {@link Content#sha256()} of the trees {@link #readTar} reads from it is known without reading
   * the files) unless a valid one is there. Only for a tar that never changes afterwards.
   *
   * @return whether an index was made
   * @throws IOException if the tar cannot be read or the index not written
   */
  public static boolean indexTar(Path tar) throws IOException {
    return TarIndex.ensure(tar);
  }

  /** The content index of a tar is {@code <tar>} followed by this. */
  public static final String INDEX_SUFFIX = TarIndex.SUFFIX;

  /** A new, empty builder (the root directory "/" is added on build if missing). */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this tree's entries, to derive a modified tree. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.entries.putAll(entries);
    return b;
  }

  /** The entry at {@code path} (normalised first), or null. */
  public TreeEntry get(String path) {
    return entries.get(TreePaths.normalize(path));
  }

  public boolean contains(String path) {
    return get(path) != null;
  }

  /** The root directory entry. */
  public TreeEntry root() {
    return entries.get("/");
  }

  /** The direct children of directory {@code dir}, sorted by name (UTF-8 byte order). */
  public List<TreeEntry> children(String dir) {
    String d = TreePaths.normalize(dir);
    List<TreeEntry> out = new ArrayList<>();
    String prefix = d.equals("/") ? "/" : d + "/";
    for (TreeEntry e : entries.tailMap(d, false).values()) {
      if (!e.path().startsWith(prefix)) {
        break;
      }
      if (e.parent().equals(d)) {
        out.add(e);
      }
    }
    return out;
  }

  /** Number of entries, the root included. */
  public int size() {
    return entries.size();
  }

  /** All entries in tree order. */
  public Stream<TreeEntry> stream() {
    return entries.values().stream();
  }

  @Override
  public Iterator<TreeEntry> iterator() {
    return Collections.unmodifiableCollection(entries.values()).iterator();
  }

  /** Total bytes of regular-file content (hard links not counted twice). */
  public long contentBytes() {
    long sum = 0;
    for (TreeEntry e : entries.values()) {
      sum = Math.addExact(sum, e.size());
    }
    return sum;
  }

  /** A copy with {@code f} applied to every entry; {@code f} must keep each entry's path. */
  public FileTree map(UnaryOperator<TreeEntry> f) {
    Builder b = new Builder();
    for (TreeEntry e : entries.values()) {
      TreeEntry m = Objects.requireNonNull(f.apply(e), "mapped entry");
      if (!m.path().equals(e.path())) {
        throw new IllegalArgumentException("map changed path " + e.path() + " to " + m.path());
      }
      b.put(m);
    }
    return b.build();
  }

  /**
   * A copy in which every mtime later than {@code epochSeconds} is clamped to it (the
   * SOURCE_DATE_EPOCH convention for reproducible builds).
   */
  public FileTree clampMtimes(long epochSeconds) {
    return map(e -> e.mtime() > epochSeconds ? e.withMtime(epochSeconds) : e);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FileTree && ((FileTree) o).entries.equals(entries);
  }

  @Override
  public int hashCode() {
    return entries.hashCode();
  }

  /** Collects entries for a {@link FileTree}; later puts replace earlier ones. Not thread-safe. */
  public static final class Builder {
    private final TreeMap<String, TreeEntry> entries = new TreeMap<>(TreePaths.ORDER);

    private Builder() {}

    /** Adds or replaces the entry at {@code entry.path()}. */
    public Builder put(TreeEntry entry) {
      entries.put(entry.path(), entry);
      return this;
    }

    /** Adds {@code entry}, first creating missing parent directories (0755 root:root, mtime 0). */
    public Builder putWithParents(TreeEntry entry) {
      String p = entry.parent();
      List<String> missing = new ArrayList<>();
      while (p != null && !entries.containsKey(p)) {
        missing.add(p);
        p = TreePaths.parent(p);
      }
      for (int i = missing.size() - 1; i >= 0; i--) {
        entries.put(missing.get(i), TreeEntry.directory(missing.get(i)));
      }
      return put(entry);
    }

    /** Removes {@code path} and, for a directory, everything under it. */
    public Builder remove(String path) {
      String p = TreePaths.normalize(path);
      entries.remove(p);
      String prefix = p.equals("/") ? "/" : p + "/";
      entries.keySet().removeIf(k -> k.startsWith(prefix));
      return this;
    }

    /** The entry currently at {@code path}, or null. */
    public TreeEntry get(String path) {
      return entries.get(TreePaths.normalize(path));
    }

    /**
     * Checks and freezes the tree.
     *
     * @throws IllegalStateException naming the first entry whose parent is missing or not a
     *     directory, or whose hard link does not name a regular file of the tree
     */
    public FileTree build() {
      TreeMap<String, TreeEntry> copy = new TreeMap<>(TreePaths.ORDER);
      copy.putAll(entries);
      copy.putIfAbsent("/", TreeEntry.directory("/"));
      TreeEntry root = copy.get("/");
      if (!root.isDirectory()) {
        throw new IllegalStateException("/: the root must be a directory, found " + root.type());
      }
      for (Map.Entry<String, TreeEntry> me : copy.entrySet()) {
        TreeEntry e = me.getValue();
        if (e.parent() == null) {
          continue;
        }
        TreeEntry parent = copy.get(e.parent());
        if (parent == null) {
          throw new IllegalStateException(
              e.path() + ": parent directory " + e.parent() + " is missing");
        }
        if (!parent.isDirectory()) {
          throw new IllegalStateException(
              e.path() + ": parent " + e.parent() + " is a " + parent.type() + ", not a directory");
        }
        if (e.type() == EntryType.HARDLINK) {
          TreeEntry target = copy.get(e.linkTarget());
          if (target == null || target.type() != EntryType.REGULAR) {
            throw new IllegalStateException(
                e.path()
                    + ": hard link to "
                    + e.linkTarget()
                    + ", which is "
                    + (target == null ? "missing" : "a " + target.type() + ", not a regular file"));
          }
        }
      }
      return new FileTree(Collections.unmodifiableNavigableMap(copy));
    }
  }
}
