package io.basalt.cloudconfig.render;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A directory held open (a descriptor, through {@link SecureDirectoryStream}) with its path and
 * host path, for work in directories a user other than root controls: entries are looked at, opened
 * and replaced relative to the open directory and never through a symbolic link, so renaming a
 * directory or swapping it for a link after the check redirects nothing. Not thread-safe.
 */
final class PinnedDir implements Closeable {

  private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

  final SecureDirectoryStream<Path> stream;
  final Path path;
  final String hostPath;

  private PinnedDir(SecureDirectoryStream<Path> stream, Path path, String hostPath) {
    this.stream = stream;
    this.path = path;
    this.hostPath = hostPath;
  }

  /** Opens {@code root} (trusted: the caller chose it) as the start of a walk. */
  static PinnedDir root(Path root) throws IOException {
    DirectoryStream<Path> ds = Files.newDirectoryStream(root);
    if (!(ds instanceof SecureDirectoryStream<Path> s)) {
      ds.close();
      throw new IOException(
          root
              + ": the file system has no SecureDirectoryStream (openat); refusing to work in"
              + " user directories without it");
    }
    return new PinnedDir(s, root, "/");
  }

  /** The host path of entry {@code name}. */
  String hostPathOf(String name) {
    return hostPath.equals("/") ? "/" + name : hostPath + "/" + name;
  }

  /** The attributes of entry {@code name}, not following a link; null when it does not exist. */
  PosixFileAttributes attributes(String name) throws IOException {
    try {
      return view(name).readAttributes();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /** The attribute view of entry {@code name}, not following a link. */
  PosixFileAttributeView view(String name) {
    return stream.getFileAttributeView(entry(name), PosixFileAttributeView.class, NOFOLLOW);
  }

  /** The attribute view of this directory itself (its descriptor). */
  PosixFileAttributeView view() {
    return stream.getFileAttributeView(PosixFileAttributeView.class);
  }

  /**
   * The subdirectory {@code name}, opened without following a link; made first when {@code create}
   * and it is missing.
   *
   * @throws IOException naming the host path when it is a symbolic link, not a directory, or
   *     missing and not to be made
   */
  PinnedDir child(String name, boolean create) throws IOException {
    String host = hostPathOf(name);
    PosixFileAttributes a = attributes(name);
    if (a == null) {
      if (!create) {
        throw new NoSuchFileException(host);
      }
      // No mkdirat in java.nio: made by path, then opened relative to this directory below, so a
      // directory made elsewhere through a swapped parent is never used.
      Files.createDirectory(path.resolve(name));
      a = attributes(name);
      if (a == null) {
        throw new IOException(host + ": made, then gone (changed while being made)");
      }
    }
    if (a.isSymbolicLink()) {
      throw new IOException(symlinkRefused(host, path.resolve(name)));
    }
    if (!a.isDirectory()) {
      throw new IOException(host + " is not a directory");
    }
    SecureDirectoryStream<Path> s = stream.newDirectoryStream(entry(name), NOFOLLOW);
    return new PinnedDir(s, path.resolve(name), host);
  }

  /** The names in this directory, sorted. */
  List<String> names() throws IOException {
    List<String> out = new ArrayList<>();
    for (Path p : stream) {
      out.add(p.getFileName().toString());
    }
    out.sort(null);
    return out;
  }

  /**
   * Up to {@code limit} bytes of entry {@code name}, opened without following a link ({@code
   * O_NOFOLLOW}); a longer file gives {@code limit + 1} bytes so the caller can tell.
   */
  byte[] read(String name, int limit) throws IOException {
    Set<OpenOption> opts = Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    try (SeekableByteChannel ch = stream.newByteChannel(entry(name), opts)) {
      ByteBuffer b = ByteBuffer.allocate(limit + 1);
      while (b.hasRemaining() && ch.read(b) >= 0) {
        // fill
      }
      byte[] out = new byte[b.position()];
      b.flip();
      b.get(out);
      return out;
    }
  }

  /** A file-system path for entry {@code name} (one component, relative to this directory). */
  Path entry(String name) {
    if (name.isEmpty() || name.contains("/") || name.equals(".") || name.equals("..")) {
      throw new IllegalArgumentException("not a file name: '" + name + "'");
    }
    return path.getFileSystem().getPath(name);
  }

  /** The message for a refused symbolic link at {@code host} ({@code link} on this machine). */
  static String symlinkRefused(String host, Path link) {
    String target;
    try {
      target = Files.readSymbolicLink(link).toString();
    } catch (IOException e) {
      target = "?";
    }
    return host
        + " is a symbolic link (to "
        + target
        + "); cloud-config never writes through a symbolic link: use the real path";
  }

  @Override
  public void close() throws IOException {
    stream.close();
  }
}
