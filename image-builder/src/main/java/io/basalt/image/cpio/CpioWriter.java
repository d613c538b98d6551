package io.basalt.image.cpio;

import io.basalt.host.AtomicFiles;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/**
 * Writes an image tree as one "newc" cpio archive (the format the Linux kernel unpacks as an
 * initramfs, init/initramfs.c), optionally compressed. Entries come in tree order (a directory
 * before its contents, siblings by UTF-8 bytes); the root is written as {@code "."}, other names
 * without the leading slash. Owner, mode and (unless {@link #withMtime} fixes it) mtime come from
 * the tree, never from the host; inode numbers are assigned in tree order from 1, the device fields
 * are 0. The names of a hard-linked file share an inode number and link count and only the last of
 * them in tree order carries the data, as GNU cpio writes them. Immutable and thread-safe (the
 * configuration; each write is independent).
 */
final class CpioWriter {
  /** Longest path the kernel unpacks: PATH_MAX (4096) including the terminating NUL. */
  public static final int MAX_PATH_BYTES = 4095;

  /** Longest single name component a Linux file system takes (NAME_MAX). */
  public static final int MAX_NAME_BYTES = 255;

  private static final long MAX_U32 = 0xFFFF_FFFFL;
  private static final String TRAILER = "TRAILER!!!";

  private final Compression compression;
  private final int level;
  private final Long mtime;
  private final boolean dropXattrs;

  private CpioWriter(Compression compression, int level, Long mtime, boolean dropXattrs) {
    this.compression = compression;
    this.level = level;
    this.mtime = mtime;
    this.dropXattrs = dropXattrs;
  }

  /** A writer with {@code compression} at its default level, keeping the tree's mtimes. */
  public static CpioWriter of(Compression compression) {
    Objects.requireNonNull(compression, "compression");
    return new CpioWriter(compression, compression.defaultLevel(), null, false);
  }

  /**
   * The same writer at compression level {@code level}.
   *
   * @throws IllegalArgumentException if the level is outside the compressor's range
   */
  public CpioWriter withLevel(int level) {
    compression.checkLevel(level);
    return new CpioWriter(compression, level, mtime, dropXattrs);
  }

  /**
   * The same writer giving every entry the mtime {@code epochSeconds} (e.g. SOURCE_DATE_EPOCH).
   *
   * @throws IllegalArgumentException if the time does not fit newc's unsigned 32-bit field
   */
  public CpioWriter withMtime(long epochSeconds) {
    if (epochSeconds < 0 || epochSeconds > MAX_U32) {
      throw new IllegalArgumentException("cpio mtime " + epochSeconds + " outside 0.." + MAX_U32);
    }
    return new CpioWriter(compression, level, epochSeconds, dropXattrs);
  }

  /**
   * The same writer silently leaving out extended attributes, which newc cannot store; by default
   * an entry with extended attributes is an error.
   */
  public CpioWriter withXattrsDropped() {
    return new CpioWriter(compression, level, mtime, true);
  }

  public Compression compression() {
    return compression;
  }

  public int level() {
    return level;
  }

  /**
   * Writes {@code tree} as one (compressed) archive to {@code out}, which is flushed but not
   * closed. An uncompressed archive is padded to a multiple of 512 bytes, as cpio does.
   *
   * @return the number of bytes written to {@code out}
   * @throws CpioEntryException naming the entry if it cannot be represented or its content cannot
   *     be read or changes while being read (checked for every entry before anything is written,
   *     except content errors)
   * @throws IOException if {@code out} fails
   */
  public long write(FileTree tree, OutputStream out) throws IOException {
    List<Planned> plan = plan(tree);
    Streams.Counting counting = new Streams.Counting(out, false);
    OutputStream compressed =
        compression.wrap(new BufferedOutputStream(counting, 64 * 1024), level);
    try (CpioArchiveOutputStream cpio =
        new CpioArchiveOutputStream(
            compressed,
            CpioConstants.FORMAT_NEW,
            CpioConstants.BLOCK_SIZE,
            StandardCharsets.UTF_8.name())) {
      for (Planned p : plan) {
        writeEntry(cpio, p);
      }
      cpio.finish();
    }
    return counting.count();
  }

  /**
   * Writes {@code tree} as one archive to {@code file}: to a temporary file in the same directory
   * first, moved into place when complete; on failure no file is left at {@code file} (an existing
   * one is kept unchanged) and the temporary file is removed.
   *
   * @return the size of the file
   * @throws CpioEntryException naming the entry that cannot be written
   * @throws IOException if the file cannot be written
   */
  public long write(FileTree tree, Path file) throws IOException {
    return AtomicFile.write(file, out -> write(tree, out));
  }

  private void writeEntry(CpioArchiveOutputStream cpio, Planned p) throws IOException {
    TreeEntry e = p.entry;
    TreeEntry inode = p.inode;
    CpioArchiveEntry c = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, p.name, p.size);
    c.setMode(p.typeBits | inode.mode());
    c.setUID(inode.uid());
    c.setGID(inode.gid());
    c.setTime(mtime != null ? mtime : inode.mtime());
    c.setNumberOfLinks(p.nlink);
    c.setInode(p.ino);
    c.setDeviceMaj(0);
    c.setDeviceMin(0);
    c.setRemoteDeviceMaj(inode.devMajor());
    c.setRemoteDeviceMin(inode.devMinor());
    cpio.putArchiveEntry(c);
    if (p.linkTarget != null) {
      cpio.write(p.linkTarget);
    } else if (p.size > 0) {
      Content content = inode.content();
      try (InputStream in = Content.checked(content.open(), p.size, String.valueOf(content))) {
        in.transferTo(cpio);
      } catch (IOException ex) {
        throw new CpioEntryException(e.path(), "reading " + content + ": " + ex.getMessage(), ex);
      }
    }
    cpio.closeArchiveEntry();
  }

  /** One archive member, checked and with its cpio fields worked out. */
  private static final class Planned {
    TreeEntry entry;
    TreeEntry inode; // the entry whose attributes are stored (a hard link's target)
    String name;
    long typeBits;
    long size;
    long nlink;
    long ino;
    byte[] linkTarget; // symlink body
  }

  private List<Planned> plan(FileTree tree) throws CpioEntryException {
    Map<String, Long> inodes = new HashMap<>();
    Map<String, Integer> linkCount = new HashMap<>();
    Map<String, String> lastName = new HashMap<>();
    Map<String, Integer> subdirs = new HashMap<>();
    long nextIno = 1;
    for (TreeEntry e : tree) {
      if (e.type() != EntryType.HARDLINK) {
        inodes.put(e.path(), nextIno++);
      }
      if (e.type() == EntryType.REGULAR || e.type() == EntryType.HARDLINK) {
        String key = e.type() == EntryType.HARDLINK ? e.linkTarget() : e.path();
        linkCount.merge(key, 1, Integer::sum);
        lastName.put(key, e.path());
      }
      if (e.isDirectory() && e.parent() != null) {
        subdirs.merge(e.parent(), 1, Integer::sum);
      }
    }
    List<Planned> plan = new ArrayList<>(tree.size());
    for (TreeEntry e : tree) {
      Planned p = new Planned();
      p.entry = e;
      p.inode = e.type() == EntryType.HARDLINK ? tree.get(e.linkTarget()) : e;
      p.name = archiveName(e);
      p.ino = inodes.get(p.inode.path());
      p.nlink = 1;
      switch (e.type()) {
        case DIRECTORY:
          p.typeBits = CpioConstants.C_ISDIR;
          p.nlink = 2 + subdirs.getOrDefault(e.path(), 0);
          break;
        case REGULAR:
        case HARDLINK:
          p.typeBits = CpioConstants.C_ISREG;
          p.nlink = linkCount.get(p.inode.path());
          p.size = e.path().equals(lastName.get(p.inode.path())) ? p.inode.size() : 0;
          if (p.size > MAX_U32) {
            throw new CpioEntryException(
                e.path(),
                "file of "
                    + p.size
                    + " bytes; a newc cpio entry holds at most "
                    + MAX_U32
                    + " bytes");
          }
          break;
        case SYMLINK:
          p.typeBits = CpioConstants.C_ISLNK;
          p.linkTarget = e.linkTarget().getBytes(StandardCharsets.UTF_8);
          p.size = p.linkTarget.length;
          if (p.size > MAX_PATH_BYTES) {
            throw new CpioEntryException(
                e.path(),
                "symlink target of "
                    + p.size
                    + " bytes is longer than "
                    + MAX_PATH_BYTES
                    + " (PATH_MAX)");
          }
          break;
        case BLOCK_DEVICE:
          p.typeBits = CpioConstants.C_ISBLK;
          break;
        case CHAR_DEVICE:
          p.typeBits = CpioConstants.C_ISCHR;
          break;
        case FIFO:
          p.typeBits = CpioConstants.C_ISFIFO;
          break;
        case SOCKET:
          p.typeBits = CpioConstants.C_ISSOCK;
          break;
        default:
          throw new CpioEntryException(e.path(), "entry type " + e.type() + " has no cpio form");
      }
      long t = mtime != null ? mtime : p.inode.mtime();
      if (t < 0 || t > MAX_U32) {
        throw new CpioEntryException(
            e.path(),
            "mtime "
                + t
                + " does not fit newc's unsigned 32-bit field"
                + " (use withMtime or clamp the tree)");
      }
      if (p.inode.hasXattrs() && !dropXattrs) {
        throw new CpioEntryException(
            e.path(),
            "has extended attributes "
                + p.inode.xattrs().keySet()
                + ", which newc cpio cannot store (drop them explicitly with withXattrsDropped())");
      }
      plan.add(p);
    }
    return plan;
  }

  private static String archiveName(TreeEntry e) throws CpioEntryException {
    if (e.path().equals("/")) {
      return ".";
    }
    String name = e.path().substring(1);
    int bytes = name.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_PATH_BYTES) {
      throw new CpioEntryException(
          e.path(),
          "path of "
              + bytes
              + " bytes is longer than "
              + MAX_PATH_BYTES
              + " (PATH_MAX): the kernel skips such cpio entries");
    }
    int component = e.name().getBytes(StandardCharsets.UTF_8).length;
    if (component > MAX_NAME_BYTES) {
      throw new CpioEntryException(
          e.path(),
          "name of " + component + " bytes is longer than " + MAX_NAME_BYTES + " (NAME_MAX)");
    }
    if (name.equals(TRAILER)) {
      throw new CpioEntryException(
          e.path(), "the name " + TRAILER + " marks the end of a cpio archive");
    }
    return name;
  }

  /** Writes a file (mode 0644 where supported) through a temporary sibling and an atomic move. */
  static final class AtomicFile {
    private AtomicFile() {}

    interface Body {
      long writeTo(OutputStream out) throws IOException;
    }

    static long write(Path file, Body body) throws IOException {
      return AtomicFiles.writeOutput(
          file,
          tmp -> {
            try (OutputStream out = Files.newOutputStream(tmp)) {
              return body.writeTo(out);
            }
          });
    }
  }
}
