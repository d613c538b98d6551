package io.basalt.image.base;

import io.basalt.host.AtomicFiles;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.FileTree;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The cache of Debian base trees: one folder per input key ({@code <root>/<sha256>/base.tar}), made
 * by a {@link BootstrapRunner} in a temporary sibling folder and renamed into place atomically, so
 * an interrupted bootstrap never looks like a cached tree. Thread-safe (concurrent builders of the
 * same key each bootstrap; the first rename wins).
 */
public final class BaseTreeCache {
  /** Bumped when the way base trees are made changes, so old entries are not reused. */
  static final String FORMAT = "basalt-base-2";

  static final String TAR = "base.tar";
  static final String INPUTS = "inputs.txt";

  private final Path root;
  private final BootstrapRunner runner;
  private final boolean refresh;

  public BaseTreeCache(Path root, BootstrapRunner runner) {
    this(root, runner, false);
  }

  private BaseTreeCache(Path root, BootstrapRunner runner, boolean refresh) {
    this.root = root;
    this.runner = runner;
    this.refresh = refresh;
  }

  /**
   * This cache bootstrapping every tree it is asked for again from the archive's current packages
   * ({@code basalt build --refresh-base}: how a Debian point release or security update gets into
   * the next build). The new tree replaces the cached one by an atomic rename once it is complete;
   * a failed bootstrap leaves the cached one as it was.
   */
  public BaseTreeCache refreshing() {
    return new BaseTreeCache(root, runner, true);
  }

  /**
   * The default cache folder: {@code $XDG_CACHE_HOME/basalt/base}, else {@code
   * ~/.cache/basalt/base}.
   */
  public static Path defaultRoot(Map<String, String> env, Path home) {
    String xdg = env.get("XDG_CACHE_HOME");
    Path base =
        xdg != null && !xdg.isEmpty() ? home.getFileSystem().getPath(xdg) : home.resolve(".cache");
    return base.resolve("basalt").resolve("base");
  }

  /** The text the key hashes: every input that changes the base tree, packages sorted. */
  public static String inputs(ImageSpec.Debian d) {
    List<String> pk = new ArrayList<>(d.packages());
    pk.sort(Comparator.naturalOrder());
    StringBuilder sb = new StringBuilder();
    sb.append("format ").append(FORMAT).append('\n');
    sb.append("suite ").append(d.suite()).append('\n');
    sb.append("mirror ").append(d.mirror()).append('\n');
    sb.append("variant ").append(d.variant()).append('\n');
    sb.append("arch amd64\n");
    for (String p : pk) {
      sb.append("package ").append(p).append('\n');
    }
    for (String p : d.pathExclude()) {
      sb.append("path-exclude ").append(p).append('\n');
    }
    for (String p : d.pathInclude()) {
      sb.append("path-include ").append(p).append('\n');
    }
    return sb.toString();
  }

  /** The cache key: sha256 (hex) of {@link #inputs}. */
  public static String key(ImageSpec.Debian d) {
    try {
      byte[] h =
          MessageDigest.getInstance("SHA-256").digest(inputs(d).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(h);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A cached (or just made) base tree. */
  public record Entry(String key, Path tar, boolean cached) {}

  /** The cached base.tar for {@code d} if there is one; reads only, never creates the cache. */
  public java.util.Optional<Path> lookup(ImageSpec.Debian d) {
    Path tar = root.resolve(key(d)).resolve(TAR);
    return Files.isRegularFile(tar) ? java.util.Optional.of(tar) : java.util.Optional.empty();
  }

  /**
   * Returns the cached base tree for {@code d}, bootstrapping it first when missing.
   *
   * @throws IOException if the bootstrap fails or the cache folder cannot be written
   * @throws InterruptedException if interrupted during the bootstrap
   */
  public Entry get(ImageSpec.Debian d, Consumer<String> log)
      throws IOException, InterruptedException {
    String key = key(d);
    Path dir = root.resolve(key);
    Path tar = dir.resolve(TAR);
    if (Files.isRegularFile(tar) && !refresh) {
      index(tar, log);
      return new Entry(key, tar, true);
    }
    Files.createDirectories(root);
    if (Files.isRegularFile(tar)) {
      return replace(d, key, tar, log);
    }
    Path tmp = Files.createTempDirectory(root, key + ".partial-");
    try {
      bootstrap(d, tmp, log);
      Files.writeString(tmp.resolve(INPUTS), inputs(d), StandardCharsets.UTF_8);
      try {
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException(
            "cannot rename " + tmp + " to " + dir + " atomically: " + e.getMessage(), e);
      } catch (FileSystemException raced) {
        // rename(2) onto the folder another build put there first fails with EEXIST or
        // ENOTEMPTY; the JDK reports the latter as a plain FileSystemException.
        if (!Files.isRegularFile(tar)) {
          throw raced;
        }
        log.accept("another build cached " + key + " first; using it");
      }
    } finally {
      deleteRecursively(tmp);
    }
    if (!Files.isRegularFile(tar)) {
      throw new IOException("base tree cache entry " + dir + " has no " + TAR);
    }
    return new Entry(key, tar, false);
  }

  /** Bootstraps {@code d} into {@code tmp}/base.tar and checks that the tar was written. */
  private Path bootstrap(ImageSpec.Debian d, Path tmp, Consumer<String> log)
      throws IOException, InterruptedException {
    Path tmpTar = tmp.resolve(TAR);
    runner.bootstrap(d, tmpTar, log);
    if (!Files.isRegularFile(tmpTar) || Files.size(tmpTar) == 0) {
      throw new IOException("bootstrap finished without writing " + tmpTar);
    }
    index(tmpTar, log);
    return tmpTar;
  }

  /**
   * Makes the tar's content index ({@link FileTree#indexTar}) unless it has one: once per tar, so
   * that the squashfs writer's block cache can name unchanged files without reading them. A failure
   * costs only speed and is logged.
   */
  private static void index(Path tar, Consumer<String> log) {
    try {
      if (FileTree.indexTar(tar)) {
        log.accept("indexed " + tar);
      }
    } catch (IOException e) {
      log.accept("cannot index " + tar + " (" + e.getMessage() + "); builds read every file");
    }
  }

  /** Bootstraps {@code d} again and renames the new tar over the cached {@code tar}. */
  private Entry replace(ImageSpec.Debian d, String key, Path tar, Consumer<String> log)
      throws IOException, InterruptedException {
    Path tmp = Files.createTempDirectory(root, key + ".partial-");
    try {
      Path tmpTar = bootstrap(d, tmp, log);
      // The new tar's index first: it names the new tar (inode, size, mtime), so the old tar has
      // no valid index from here on and the new one has one as soon as it is in place.
      Path tmpIndex = tmpTar.resolveSibling(TAR + FileTree.INDEX_SUFFIX);
      if (Files.isRegularFile(tmpIndex)) {
        AtomicFiles.renameOutput(tmpIndex, tar.resolveSibling(TAR + FileTree.INDEX_SUFFIX));
      }
      // rename(2) replaces the old tar in one step: a build reading it keeps its open file.
      AtomicFiles.renameOutput(tmpTar, tar);
      log.accept("refreshed " + key + " from the archive");
    } finally {
      deleteRecursively(tmp);
    }
    return new Entry(key, tar, false);
  }

  private static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(x);
      }
    }
  }
}
