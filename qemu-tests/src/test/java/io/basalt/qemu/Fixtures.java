package io.basalt.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Test fixtures cached under ~/.cache/basalt/test-fixtures, made atomically. */
final class Fixtures {
  static final String SUITE = "trixie";
  static final String MIRROR = "http://deb.debian.org/debian";

  /**
   * What an initramfs needs from a Debian tree (kernel, busybox, cryptsetup, e2fsprogs, fdisk...).
   */
  static final List<String> INITRAMFS_PACKAGES =
      List.of(
          "linux-image-amd64",
          "busybox",
          "cryptsetup-bin",
          "e2fsprogs",
          "kmod",
          "fdisk",
          "util-linux");

  private Fixtures() {}

  static Path cacheDir() {
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base =
        xdg != null && !xdg.isEmpty()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("basalt").resolve("test-fixtures");
  }

  /**
   * A Debian tree with {@link #INITRAMFS_PACKAGES}, made with mmdebstrap on first use and then
   * reused; built in a sibling temp directory and renamed into place, so an interrupted build never
   * looks complete.
   */
  static synchronized Path debianInitramfsTree() throws IOException, InterruptedException {
    String key = SUITE + " " + MIRROR + " " + String.join(",", INITRAMFS_PACKAGES);
    Path dir = cacheDir().resolve(SUITE + "-initramfs-" + sha256(key).substring(0, 12));
    if (Files.isDirectory(dir.resolve("usr/lib/modules"))) {
      return dir;
    }
    Files.createDirectories(dir.getParent());
    Path tmp = dir.resolveSibling(dir.getFileName() + ".tmp-" + ProcessHandle.current().pid());
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "mmdebstrap",
                "--variant=apt",
                "--mode=root",
                "--format=directory",
                "--include=" + String.join(",", INITRAMFS_PACKAGES),
                SUITE,
                tmp.toString(),
                MIRROR));
    Path log = dir.resolveSibling(dir.getFileName() + ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (java.io.InputStream out = p.getInputStream()) {
      Files.copy(out, log, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      if (!p.waitFor(1, TimeUnit.MINUTES)) {
        p.destroyForcibly();
      }
    }
    if (p.exitValue() != 0) {
      throw new IOException("mmdebstrap failed (exit " + p.exitValue() + "); log: " + log);
    }
    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    return dir;
  }

  static String sha256(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
