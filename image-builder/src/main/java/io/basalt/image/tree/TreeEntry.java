package io.basalt.image.tree;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One entry of an image tree: an absolute in-image path (never a host {@code Path}), its type,
 * permission bits, owner, modification time, extended attributes and type-specific data. Immutable
 * and thread-safe; the {@code with...} methods return modified copies.
 */
public final class TreeEntry {
  private final String path;
  private final EntryType type;
  private final int mode;
  private final int uid;
  private final int gid;
  private final long mtime;
  private final SortedMap<String, byte[]> xattrs;
  private final String linkTarget;
  private final int devMajor;
  private final int devMinor;
  private final Content content;

  private TreeEntry(
      String path,
      EntryType type,
      int mode,
      int uid,
      int gid,
      long mtime,
      SortedMap<String, byte[]> xattrs,
      String linkTarget,
      int devMajor,
      int devMinor,
      Content content) {
    this.path = TreePaths.normalize(path);
    this.type = Objects.requireNonNull(type, "type");
    if ((mode & ~07777) != 0) {
      throw new IllegalArgumentException(
          path + ": mode " + Integer.toOctalString(mode) + " has bits beyond 07777");
    }
    if (uid < 0 || gid < 0) {
      throw new IllegalArgumentException(path + ": negative uid/gid " + uid + "/" + gid);
    }
    this.mode = mode;
    this.uid = uid;
    this.gid = gid;
    this.mtime = mtime;
    this.xattrs = xattrs;
    this.linkTarget = linkTarget;
    this.devMajor = devMajor;
    this.devMinor = devMinor;
    this.content = content;
  }

  private static TreeEntry of(String path, EntryType type, int mode) {
    return new TreeEntry(path, type, mode, 0, 0, 0, Collections.emptySortedMap(), null, 0, 0, null);
  }

  /** A directory, mode 0755, owned by root, mtime 0. */
  public static TreeEntry directory(String path) {
    return of(path, EntryType.DIRECTORY, 0755);
  }

  /** A regular file, mode 0644, owned by root, mtime 0. */
  public static TreeEntry regular(String path, Content content) {
    Objects.requireNonNull(content, "content");
    return new TreeEntry(
        path, EntryType.REGULAR, 0644, 0, 0, 0, Collections.emptySortedMap(), null, 0, 0, content);
  }

  /** A symbolic link to {@code target} (kept verbatim, relative or absolute), mode 0777. */
  public static TreeEntry symlink(String path, String target) {
    if (target == null || target.isEmpty()) {
      throw new IllegalArgumentException(path + ": empty symlink target");
    }
    return new TreeEntry(
        path, EntryType.SYMLINK, 0777, 0, 0, 0, Collections.emptySortedMap(), target, 0, 0, null);
  }

  /** A hard link: a second name for the regular file at absolute in-image path {@code target}. */
  public static TreeEntry hardlink(String path, String target) {
    return new TreeEntry(
        path,
        EntryType.HARDLINK,
        0644,
        0,
        0,
        0,
        Collections.emptySortedMap(),
        TreePaths.normalize(target),
        0,
        0,
        null);
  }

  /** A block or character device node. */
  public static TreeEntry device(String path, EntryType type, int major, int minor) {
    if (type != EntryType.BLOCK_DEVICE && type != EntryType.CHAR_DEVICE) {
      throw new IllegalArgumentException(path + ": " + type + " is not a device type");
    }
    if (major < 0 || minor < 0) {
      throw new IllegalArgumentException(path + ": negative device number " + major + ":" + minor);
    }
    return new TreeEntry(
        path, type, 0600, 0, 0, 0, Collections.emptySortedMap(), null, major, minor, null);
  }

  /** A named pipe, mode 0644. */
  public static TreeEntry fifo(String path) {
    return of(path, EntryType.FIFO, 0644);
  }

  /** A Unix socket node, mode 0755. */
  public static TreeEntry socket(String path) {
    return of(path, EntryType.SOCKET, 0755);
  }

  public TreeEntry withPath(String newPath) {
    return new TreeEntry(
        newPath, type, mode, uid, gid, mtime, xattrs, linkTarget, devMajor, devMinor, content);
  }

  /** Sets the permission bits (including setuid, setgid and sticky: at most 07777). */
  public TreeEntry withMode(int newMode) {
    return new TreeEntry(
        path, type, newMode, uid, gid, mtime, xattrs, linkTarget, devMajor, devMinor, content);
  }

  public TreeEntry withOwner(int newUid, int newGid) {
    return new TreeEntry(
        path, type, mode, newUid, newGid, mtime, xattrs, linkTarget, devMajor, devMinor, content);
  }

  /** Sets the modification time in seconds since the epoch. */
  public TreeEntry withMtime(long seconds) {
    return new TreeEntry(
        path, type, mode, uid, gid, seconds, xattrs, linkTarget, devMajor, devMinor, content);
  }

  /** Replaces the extended attributes (name, e.g. {@code security.capability}, to raw value). */
  public TreeEntry withXattrs(Map<String, byte[]> newXattrs) {
    TreeMap<String, byte[]> copy = new TreeMap<>();
    newXattrs.forEach((k, v) -> copy.put(Objects.requireNonNull(k), v.clone()));
    return new TreeEntry(
        path,
        type,
        mode,
        uid,
        gid,
        mtime,
        Collections.unmodifiableSortedMap(copy),
        linkTarget,
        devMajor,
        devMinor,
        content);
  }

  /** Replaces the content of a regular file. */
  public TreeEntry withContent(Content newContent) {
    if (type != EntryType.REGULAR) {
      throw new IllegalStateException(path + ": only regular files have content, this is " + type);
    }
    return new TreeEntry(
        path, type, mode, uid, gid, mtime, xattrs, linkTarget, devMajor, devMinor, newContent);
  }

  /** The absolute, normalised in-image path ("/" for the root). */
  public String path() {
    return path;
  }

  /** The last path component ("" for the root). */
  public String name() {
    return TreePaths.name(path);
  }

  /** The parent's path, or null for the root. */
  public String parent() {
    return TreePaths.parent(path);
  }

  public EntryType type() {
    return type;
  }

  public boolean isDirectory() {
    return type == EntryType.DIRECTORY;
  }

  /** Permission bits, at most 07777 (the file type is {@link #type()}). */
  public int mode() {
    return mode;
  }

  public int uid() {
    return uid;
  }

  public int gid() {
    return gid;
  }

  /** Modification time, seconds since the epoch. */
  public long mtime() {
    return mtime;
  }

  /** Extended attributes sorted by name; values are copies. */
  public SortedMap<String, byte[]> xattrs() {
    TreeMap<String, byte[]> copy = new TreeMap<>();
    xattrs.forEach((k, v) -> copy.put(k, v.clone()));
    return copy;
  }

  public boolean hasXattrs() {
    return !xattrs.isEmpty();
  }

  /** Symlink target (verbatim) or hard-link target (absolute in-image path); null otherwise. */
  public String linkTarget() {
    return linkTarget;
  }

  public int devMajor() {
    return devMajor;
  }

  public int devMinor() {
    return devMinor;
  }

  /** Content of a regular file; null for every other type. */
  public Content content() {
    return content;
  }

  /** Size in bytes of a regular file's content, 0 otherwise. */
  public long size() {
    return content == null ? 0 : content.size();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof TreeEntry)) {
      return false;
    }
    TreeEntry e = (TreeEntry) o;
    if (!(path.equals(e.path)
        && type == e.type
        && mode == e.mode
        && uid == e.uid
        && gid == e.gid
        && mtime == e.mtime
        && Objects.equals(linkTarget, e.linkTarget)
        && devMajor == e.devMajor
        && devMinor == e.devMinor
        && Objects.equals(content, e.content)
        && xattrs.keySet().equals(e.xattrs.keySet()))) {
      return false;
    }
    for (Map.Entry<String, byte[]> x : xattrs.entrySet()) {
      if (!Arrays.equals(x.getValue(), e.xattrs.get(x.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return Objects.hash(path, type, mode, uid, gid, mtime, linkTarget);
  }

  @Override
  public String toString() {
    return type
        + " "
        + path
        + " "
        + Integer.toOctalString(mode)
        + " "
        + uid
        + ":"
        + gid
        + (linkTarget != null ? " -> " + linkTarget : "")
        + (content != null ? " (" + content.size() + " bytes)" : "");
  }
}
