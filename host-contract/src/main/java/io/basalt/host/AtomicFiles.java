package io.basalt.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;

/**
 * Replaces files so that a reader or a crash sees the old content or the new, never a part: the new
 * content goes to a temp file in the target's folder, is fsynced, renamed over the target
 * atomically, and the folder is fsynced (best effort: some file systems refuse to sync a folder).
 * The temp file is {@code .<name>.<random>.tmp}, mode 0644 where the file system has POSIX
 * permissions, and is deleted when anything fails. Works on any {@link Path} file system (jimfs
 * included). Stateless, thread-safe (two writers of the same target: the last rename wins).
 */
public final class AtomicFiles {

  /** Writes the new content into the temp file it is given (which exists and is empty). */
  @FunctionalInterface
  public interface Content<T> {
    /**
     * Writes the content.
     *
     * @param tmp the temp file to fill
     * @return a result handed back to the caller
     * @throws IOException when writing fails
     */
    T writeTo(Path tmp) throws IOException;
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  private AtomicFiles() {}

  /**
   * Replaces {@code target} with {@code bytes}, durably (fsync of the file and its folder).
   *
   * @throws IOException when a step fails; {@code target} is then unchanged
   */
  public static void write(Path target, byte[] bytes) throws IOException {
    write(target, tmp -> Files.write(tmp, bytes));
  }

  /**
   * Replaces {@code target} with a copy of {@code source}, durably.
   *
   * @throws IOException when a step fails; {@code target} is then unchanged
   */
  public static void copy(Path source, Path target) throws IOException {
    write(target, tmp -> Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING));
  }

  /**
   * Replaces {@code target} with what {@code content} writes, durably; creates missing parent
   * folders.
   *
   * @return what {@code content} returned
   * @throws IOException when a step fails; {@code target} is then unchanged
   */
  public static <T> T write(Path target, Content<T> content) throws IOException {
    return replace(target, content, true);
  }

  /**
   * Replaces a build output with what {@code content} writes: the same temp file and atomic rename,
   * without fsync (a build output is made again after a crash; syncing gigabytes would only slow
   * the build). The target's folder must exist.
   *
   * @return what {@code content} returned
   * @throws IOException when a step fails; {@code target} is then unchanged
   */
  public static <T> T writeOutput(Path target, Content<T> content) throws IOException {
    return replace(target, content, false);
  }

  /**
   * Renames {@code source} over {@code target} atomically (same file system), then fsyncs the
   * target's folder.
   *
   * @throws AtomicMoveNotSupportedException when the two are not on one file system
   * @throws IOException when the rename fails
   */
  public static void rename(Path source, Path target) throws IOException {
    Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    fsyncRenamed(target);
    fsyncDirectory(target.toAbsolutePath().getParent());
  }

  /**
   * Syncs a file just renamed, before its folder. On vfat (the ESP) a rename writes the new
   * directory entry with start cluster 0 and size 0 and leaves the real ones to the inode's later
   * write-back; a folder fsync alone makes that empty entry durable, so a power cut before the
   * write-back leaves the name with no content (seen: a boot entry of 0 bytes after QEMU was
   * killed). Syncing the file writes its entry. On ext4 and others this is cheap: its data was
   * synced before the rename. Folders and links are left to {@link #fsyncDirectory}.
   */
  private static void fsyncRenamed(Path target) throws IOException {
    if (Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
        .isRegularFile()) {
      fsync(target);
    }
  }

  /**
   * Renames a build output or a cache entry over {@code target} atomically (same file system),
   * without fsync: as {@link #writeOutput}, such a file is made again after a crash, and syncing
   * gigabytes of images or cache would only slow the build.
   *
   * @throws AtomicMoveNotSupportedException when the two are not on one file system
   * @throws IOException when the rename fails
   */
  public static void renameOutput(Path source, Path target) throws IOException {
    Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * Replaces {@code link} with a symbolic link to {@code target} (a new link renamed over the old
   * file or link), then fsyncs the folder.
   *
   * @throws IOException when the link cannot be made or renamed; {@code link} is then unchanged
   */
  public static void symlink(Path link, Path target) throws IOException {
    Path abs = link.toAbsolutePath();
    Path tmp = abs.resolveSibling("." + abs.getFileName() + ".link.tmp");
    Files.deleteIfExists(tmp);
    Files.createSymbolicLink(tmp, target);
    try {
      rename(tmp, abs);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Replaces the entry {@code name} of the directory {@code dir} is open on with {@code bytes},
   * durably, without following a symbolic link: the temp file is created (mode 0600, {@code
   * O_NOFOLLOW}), filled, fsynced, given its owner and permissions and renamed relative to the open
   * directory ({@code openat}, {@code fchown}, {@code renameat}), so a directory that another user
   * renames or swaps for a link meanwhile cannot redirect the write. For directories that a user
   * other than the writer controls; set-user/group-ID bits cannot be set this way.
   *
   * @param dir the open target directory
   * @param dirPath the directory's path, for the folder fsync (best effort) and messages
   * @param name the file name in {@code dir} (one component)
   * @param perms the permissions of the new file
   * @param owner the new file's owner, or null to keep the writer's
   * @param group the new file's group, or null to keep the writer's
   * @throws IOException when a step fails; {@code name} is then unchanged
   */
  public static void writeIn(
      SecureDirectoryStream<Path> dir,
      Path dirPath,
      Path name,
      byte[] bytes,
      Set<PosixFilePermission> perms,
      UserPrincipal owner,
      GroupPrincipal group)
      throws IOException {
    if (name.getNameCount() != 1 || name.isAbsolute()) {
      throw new IOException(dirPath + ": not a single file name: " + name);
    }
    byte[] random = new byte[8];
    RANDOM.nextBytes(random);
    Path tmp =
        name.getFileSystem().getPath("." + name + "." + HexFormat.of().formatHex(random) + ".tmp");
    Set<OpenOption> create =
        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    boolean done = false;
    try {
      try (SeekableByteChannel ch =
          dir.newByteChannel(
              tmp,
              create,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
          ch.write(b);
        }
        if (ch instanceof FileChannel fc) {
          fc.force(true);
        }
      }
      PosixFileAttributeView v =
          dir.getFileAttributeView(tmp, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
      if (owner != null) {
        v.setOwner(owner);
      }
      if (group != null) {
        v.setGroup(group);
      }
      v.setPermissions(perms);
      try {
        dir.move(tmp, dir, name);
      } catch (FileAlreadyExistsException e) {
        // renameat(2) replaces; only file systems that refuse to (jimfs) get here: not atomic
        // there.
        dir.deleteFile(name);
        dir.move(tmp, dir, name);
      }
      done = true;
      fsyncDirectory(dirPath);
    } finally {
      if (!done) {
        try {
          dir.deleteFile(tmp);
        } catch (IOException e) {
          // never made, or already gone
        }
      }
    }
  }

  /**
   * Flushes a file's content and metadata to the device (read-only open: fsync needs no write
   * access, so a file already set to mode 0444 can be synced).
   *
   * @throws IOException when the file cannot be opened or synced
   */
  public static void fsync(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /**
   * Flushes a folder's entries (a rename in it) to the device, where the file system allows it:
   * Linux syncs a folder opened read-only; others (jimfs, some FUSE and vfat setups) refuse, and
   * then this does nothing.
   */
  public static void fsyncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // best effort, see above
    }
  }

  private static <T> T replace(Path target, Content<T> content, boolean durable)
      throws IOException {
    Path abs = target.toAbsolutePath();
    Path dir = abs.getParent();
    if (dir == null) {
      throw new IOException(target + ": has no parent folder to hold a temp file");
    }
    if (durable) {
      Files.createDirectories(dir);
    }
    Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
    boolean done = false;
    try {
      // The file system's views, not Files.getFileStore: that reads the mount table and walks up
      // the path on every call (on Linux the answer is the same for every store)
      if (tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        // createTempFile makes 0600; state and outputs are ordinary files (0644 under umask 022)
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      }
      T result = content.writeTo(tmp);
      if (durable) {
        fsync(tmp);
      }
      Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      done = true;
      if (durable) {
        fsyncRenamed(abs);
        fsyncDirectory(dir);
      }
      return result;
    } finally {
      if (!done) {
        Files.deleteIfExists(tmp);
      }
    }
  }
}
