package io.basalt.image.tree;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Test fixture: reads a host directory into a {@link FileTree} without following symlinks: types,
 * permission bits, numeric owners, mtimes and device numbers from the "unix" attribute view, hard
 * links detected by (device, inode) with the first path in {@link TreePaths#ORDER} kept as the
 * regular file, and extended attributes (security.* included, which Java cannot read) from one bulk
 * {@code getfattr} run. File contents are not read here: each regular file gets a {@link
 * Content#ofFile(Path)} that checks its size again when read. Immutable and thread-safe.
 */
public final class DirectoryTreeReader {

  /** How extended attributes are read. */
  public enum Xattrs {
    /**
     * All namespaces through one {@code getfattr -R} run (package "attr"); missing tool = error.
     */
    GETFATTR,
    /** Do not read extended attributes. */
    NONE
  }

  private static final int S_IFMT = 0170000;
  private static final String UNIX_ATTRIBUTES =
      "unix:mode,uid,gid,ino,dev,rdev,nlink,lastModifiedTime";

  private final Xattrs xattrs;

  private DirectoryTreeReader(Xattrs xattrs) {
    this.xattrs = Objects.requireNonNull(xattrs, "xattrs");
  }

  /** A reader that reads xattrs as {@code xattrs} says. */
  public static DirectoryTreeReader create(Xattrs xattrs) {
    return new DirectoryTreeReader(xattrs);
  }

  /**
   * Reads the tree under {@code root} ({@code root} itself becomes "/").
   *
   * @throws IOException naming the path that cannot be examined, an unsupported file type, or
   *     {@code getfattr} missing or failing when xattrs are requested
   */
  public FileTree read(Path root) throws IOException {
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(root + ": not a directory");
    }
    // getfattr runs on its own thread while the tree is walked; its result is applied afterwards
    java.util.concurrent.FutureTask<Map<String, Map<String, byte[]>>> xattrTask = null;
    if (xattrs == Xattrs.GETFATTR) {
      checkDefaultFileSystem(root);
      xattrTask = new java.util.concurrent.FutureTask<>(() -> readXattrs(root));
      Thread t = new Thread(xattrTask, "getfattr-reader");
      t.setDaemon(true);
      t.start();
    }
    FileTree.Builder b = FileTree.builder();
    Map<String, List<String>> linkGroups = new TreeMap<>();
    Files.walkFileTree(
        root,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a)
              throws IOException {
            visit(dir, a);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes a) throws IOException {
            visit(file, a);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
            throw e;
          }

          private void visit(Path p, BasicFileAttributes basic) throws IOException {
            String path = imagePath(root, p);
            // named attributes only: "unix:*" would also look up owner and group names per file
            Map<String, Object> a =
                Files.readAttributes(p, UNIX_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
            int mode = (Integer) a.get("mode");
            if ((mode & S_IFMT) == 0) {
              // file systems such as jimfs give only the permission bits
              mode |=
                  basic.isDirectory()
                      ? 0040000
                      : basic.isRegularFile() ? 0100000 : basic.isSymbolicLink() ? 0120000 : 0;
            }
            TreeEntry e;
            switch (mode & S_IFMT) {
              case 0040000:
                e = TreeEntry.directory(path);
                break;
              case 0100000:
                e = TreeEntry.regular(path, Content.ofFile(p));
                int nlink = (Integer) a.get("nlink");
                if (nlink > 1) {
                  String key = a.get("dev") + ":" + a.get("ino");
                  linkGroups.computeIfAbsent(key, k -> new ArrayList<>()).add(path);
                }
                break;
              case 0120000:
                e = TreeEntry.symlink(path, Files.readSymbolicLink(p).toString());
                break;
              case 0060000:
              case 0020000:
                {
                  long rdev = ((Number) a.get("rdev")).longValue();
                  // glibc gnu_dev_major/gnu_dev_minor
                  int major = (int) (((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL));
                  int minor = (int) ((rdev & 0xff) | ((rdev >>> 12) & ~0xffL));
                  e =
                      TreeEntry.device(
                          path,
                          (mode & S_IFMT) == 0060000
                              ? EntryType.BLOCK_DEVICE
                              : EntryType.CHAR_DEVICE,
                          major,
                          minor);
                  break;
                }
              case 0010000:
                e = TreeEntry.fifo(path);
                break;
              case 0140000:
                e = TreeEntry.socket(path);
                break;
              default:
                throw new IOException(
                    p + ": unsupported file type, mode " + Integer.toOctalString(mode));
            }
            FileTime mtime = (FileTime) a.get("lastModifiedTime");
            e =
                e.withMode(mode & 07777)
                    .withOwner((Integer) a.get("uid"), (Integer) a.get("gid"))
                    .withMtime(mtime.to(TimeUnit.SECONDS));
            b.put(e);
          }
        });
    if (xattrTask != null) {
      for (Map.Entry<String, Map<String, byte[]>> x : join(xattrTask, root).entrySet()) {
        TreeEntry e = b.get(x.getKey());
        if (e != null && !x.getValue().isEmpty()) {
          b.put(e.withXattrs(x.getValue()));
        }
      }
    }
    for (List<String> group : linkGroups.values()) {
      if (group.size() < 2) {
        continue;
      }
      group.sort(TreePaths.ORDER);
      String target = group.get(0);
      for (String other : group.subList(1, group.size())) {
        TreeEntry o = b.get(other);
        TreeEntry link =
            TreeEntry.hardlink(other, target)
                .withMode(o.mode())
                .withOwner(o.uid(), o.gid())
                .withMtime(o.mtime());
        b.put(o.hasXattrs() ? link.withXattrs(o.xattrs()) : link);
      }
    }
    return b.build();
  }

  private static Map<String, Map<String, byte[]>> join(
      java.util.concurrent.FutureTask<Map<String, Map<String, byte[]>>> task, Path root)
      throws IOException {
    try {
      return task.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while reading the xattrs of " + root);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof IOException) {
        throw (IOException) c;
      }
      throw new IOException("reading the xattrs of " + root + " failed: " + c, c);
    }
  }

  private static void checkDefaultFileSystem(Path root) throws IOException {
    if (root.getFileSystem() != FileSystems.getDefault()) {
      throw new IOException(
          root
              + ": xattrs through getfattr need a directory on the default file system; use Xattrs.NONE");
    }
  }

  private static String imagePath(Path root, Path p) throws IOException {
    Path rel = root.relativize(p);
    StringBuilder s = new StringBuilder();
    for (Path part : rel) {
      String name = part.toString();
      if (name.isEmpty()) {
        continue;
      }
      if (name.indexOf('\uFFFD') >= 0) {
        throw new IOException(
            p
                + ": file name is not valid in the JVM's file-name encoding ("
                + System.getProperty("sun.jnu.encoding")
                + "); run Java with a UTF-8 locale, e.g. LC_ALL=C.UTF-8");
      }
      s.append('/').append(name);
    }
    return s.length() == 0 ? "/" : s.toString();
  }

  /** Runs {@code getfattr} once over the tree; returns in-image path to xattrs. */
  private static Map<String, Map<String, byte[]>> readXattrs(Path root) throws IOException {
    checkDefaultFileSystem(root);
    String abs = root.toAbsolutePath().normalize().toString();
    ProcessBuilder pb =
        new ProcessBuilder(
                "getfattr", "-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", abs)
            .redirectInput(ProcessBuilder.Redirect.PIPE);
    pb.environment().put("LC_ALL", "C");
    Process proc;
    try {
      proc = pb.start();
    } catch (IOException e) {
      throw new IOException(
          "cannot run getfattr to read extended attributes of "
              + root
              + " (install the 'attr' package, or read with Xattrs.NONE): "
              + e.getMessage(),
          e);
    }
    try {
      proc.getOutputStream().close();
      CompletableFuture<byte[]> err =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return proc.getErrorStream().readAllBytes();
                } catch (IOException e) {
                  return new byte[0];
                }
              });
      byte[] out = proc.getInputStream().readAllBytes();
      int rc = proc.waitFor();
      if (rc != 0) {
        throw new IOException(
            "getfattr on "
                + root
                + " failed (exit "
                + rc
                + "): "
                + new String(err.join(), StandardCharsets.UTF_8).strip());
      }
      return parseGetfattr(out, abs);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while running getfattr");
    } finally {
      proc.destroyForcibly();
    }
  }

  /**
   * Parses {@code getfattr -d -e hex --absolute-names} output for the tree rooted at {@code root}.
   */
  static Map<String, Map<String, byte[]>> parseGetfattr(byte[] text, String root)
      throws IOException {
    Map<String, Map<String, byte[]>> result = new HashMap<>();
    Map<String, byte[]> current = null;
    int i = 0;
    while (i < text.length) {
      int nl = i;
      while (nl < text.length && text[nl] != '\n') {
        nl++;
      }
      String line = new String(text, i, nl - i, StandardCharsets.ISO_8859_1);
      i = nl + 1;
      if (line.startsWith("# file: ")) {
        String file = unescape(line.substring(8));
        String path;
        if (file.equals(root)) {
          path = "/";
        } else if (file.startsWith(root.endsWith("/") ? root : root + "/")) {
          path = TreePaths.normalize(file.substring(root.length()));
        } else {
          throw new IOException("getfattr reported " + file + ", outside " + root);
        }
        current = new TreeMap<>();
        result.put(path, current);
      } else if (!line.isEmpty() && !line.startsWith("#")) {
        if (current == null) {
          throw new IOException("unexpected getfattr output line: " + line);
        }
        int eq = line.indexOf('=');
        String name = unescape(eq < 0 ? line : line.substring(0, eq));
        String value = eq < 0 ? "" : line.substring(eq + 1);
        current.put(name, decodeValue(value, name));
      }
    }
    return result;
  }

  private static byte[] decodeValue(String v, String name) throws IOException {
    if (v.isEmpty() || v.equals("\"\"")) {
      return new byte[0];
    }
    if (!v.startsWith("0x") || v.length() % 2 != 0) {
      throw new IOException("xattr " + name + ": expected a hex value from getfattr, found " + v);
    }
    byte[] out = new byte[(v.length() - 2) / 2];
    for (int k = 0; k < out.length; k++) {
      out[k] = (byte) Integer.parseInt(v.substring(2 + 2 * k, 4 + 2 * k), 16);
    }
    return out;
  }

  /**
   * Undoes getfattr's quoting (backslash-octal for unprintable bytes, doubled backslash), as UTF-8.
   */
  private static String unescape(String s) {
    ByteArrayOutputStream b = new ByteArrayOutputStream(s.length());
    for (int k = 0; k < s.length(); k++) {
      char c = s.charAt(k);
      if (c == '\\' && k + 1 < s.length()) {
        char n = s.charAt(k + 1);
        if (n == '\\') {
          b.write('\\');
          k++;
          continue;
        }
        if (k + 3 < s.length()
            && isOctal(n)
            && isOctal(s.charAt(k + 2))
            && isOctal(s.charAt(k + 3))) {
          b.write(Integer.parseInt(s.substring(k + 1, k + 4), 8));
          k += 3;
          continue;
        }
      }
      b.write((byte) c);
    }
    return new String(b.toByteArray(), StandardCharsets.UTF_8);
  }

  private static boolean isOctal(char c) {
    return c >= '0' && c <= '7';
  }
}
