package io.basalt.image.testfixtures;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The shared Debian test fixture: a {@code mmdebstrap --variant=minbase} root of Debian bookworm
 * (plus {@code iputils-ping} and {@code libcap2-bin}, so that {@code /usr/bin/ping} carries a real
 * {@code security.capability} xattr) as an uncompressed tar, made once and cached under {@code
 * ~/.cache/basalt/test-fixtures/}. Building it takes a minute or two and needs mmdebstrap, root (or
 * unprivileged user namespaces) and access to the Debian archive; later calls return the cached
 * file at once. The tar is built to a temporary name and renamed into place, under a file lock, so
 * concurrent test runs never see a partial tar. Thread-safe.
 */
public final class DebianMinbase {
  /** The suite, the variant and the extra packages that make up the fixture. */
  public static final String SUITE = "bookworm";

  public static final List<String> EXTRA_PACKAGES = List.of("libcap2-bin", "iputils-ping");

  /** File name of the cached tar (bump when the recipe changes). */
  public static final String FILE_NAME = "debian-bookworm-minbase-ping-v1.tar";

  private DebianMinbase() {}

  /**
   * The cache directory: {@code $BASALT_FIXTURE_CACHE}, else {@code ~/.cache/basalt/test-fixtures}.
   */
  public static Path cacheDir() {
    String env = System.getenv("BASALT_FIXTURE_CACHE");
    return env != null && !env.isEmpty()
        ? Paths.get(env)
        : Paths.get(System.getProperty("user.home"), ".cache", "basalt", "test-fixtures");
  }

  /**
   * The fixture tar, building it first if it is not cached yet.
   *
   * @throws IOException when mmdebstrap fails (its log's tail is in the message)
   */
  public static synchronized Path tar() throws IOException {
    Path dir = cacheDir();
    Files.createDirectories(dir);
    Path tar = dir.resolve(FILE_NAME);
    if (Files.isRegularFile(tar)) {
      return tar;
    }
    try (FileChannel lockFile =
            FileChannel.open(
                dir.resolve(FILE_NAME + ".lock"),
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock lock = lockFile.lock()) {
      if (Files.isRegularFile(tar)) {
        return tar; // another process built it while we waited
      }
      Path tmp = dir.resolve(FILE_NAME + ".tmp-" + ProcessHandle.current().pid() + ".tar");
      Path log = dir.resolve(FILE_NAME + ".log");
      Files.deleteIfExists(tmp);
      ProcessBuilder pb =
          new ProcessBuilder(
                  "mmdebstrap",
                  "--variant=minbase",
                  "--include=" + String.join(",", EXTRA_PACKAGES),
                  SUITE,
                  tmp.toString())
              .redirectErrorStream(true);
      Process p = pb.start();
      Thread copier =
          new Thread(
              () -> {
                try (var in = p.getInputStream();
                    var out = Files.newOutputStream(log)) {
                  in.transferTo(out);
                } catch (IOException ignored) {
                  // the exit code reports the failure
                }
              },
              "mmdebstrap-log");
      copier.start();
      try {
        p.getOutputStream().close();
        if (!p.waitFor(30, TimeUnit.MINUTES)) {
          throw new IOException("mmdebstrap did not finish within 30 minutes; log: " + log);
        }
        copier.join(10_000);
        if (p.exitValue() != 0) {
          String text = new String(Files.readAllBytes(log), StandardCharsets.UTF_8);
          throw new IOException(
              "mmdebstrap failed (exit "
                  + p.exitValue()
                  + "), log "
                  + log
                  + ":\n"
                  + text.substring(Math.max(0, text.length() - 3000)));
        }
        Files.move(tmp, tar, StandardCopyOption.ATOMIC_MOVE);
        return tar;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while building " + tar, e);
      } finally {
        p.destroyForcibly();
        Files.deleteIfExists(tmp);
      }
    }
  }
}
