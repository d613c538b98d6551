package io.basalt.image.base;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.image.spec.ImageSpec;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BaseTreeCacheTest {
  private final ImageSpec.Debian debian = ImageSpec.loadDefault().debian();

  @Test
  void secondGetUsesTheCacheWithoutRunningTheBootstrap() throws Exception {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      AtomicInteger runs = new AtomicInteger();
      BootstrapRunner runner =
          (d, tar, log) -> {
            runs.incrementAndGet();
            Files.write(tar, new byte[] {1, 2, 3});
          };
      BaseTreeCache cache = new BaseTreeCache(fs.getPath("/cache/basalt/base"), runner);
      BaseTreeCache.Entry first = cache.get(debian, s -> {});
      assertFalse(first.cached());
      BaseTreeCache.Entry second = cache.get(debian, s -> {});
      assertTrue(second.cached());
      assertEquals(1, runs.get());
      assertEquals(first.tar(), second.tar());
      assertEquals(
          fs.getPath("/cache/basalt/base", BaseTreeCache.key(debian), "base.tar"), second.tar());
      try (var s = Files.list(fs.getPath("/cache/basalt/base"))) {
        assertEquals(1, s.count(), "no partial folders left behind");
      }
    }
  }

  @Test
  void failedBootstrapLeavesNothingThatLooksCached() throws Exception {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      BootstrapRunner runner =
          (d, tar, log) -> {
            Files.write(tar, new byte[] {1});
            throw new IOException("mirror unreachable");
          };
      Path root = fs.getPath("/c");
      BaseTreeCache cache = new BaseTreeCache(root, runner);
      IOException e = assertThrows(IOException.class, () -> cache.get(debian, s -> {}));
      assertEquals("mirror unreachable", e.getMessage());
      try (var s = Files.list(root)) {
        assertEquals(0, s.count());
      }
    }
  }

  @Test
  void keyDependsOnSortedPackagesSuiteAndMirrorOnly() {
    ImageSpec.Debian reordered =
        new ImageSpec.Debian(
            debian.suite(),
            debian.mirror(),
            debian.variant(),
            reversed(debian.packages()),
            debian.pathExclude(),
            debian.pathInclude());
    assertEquals(BaseTreeCache.key(debian), BaseTreeCache.key(reordered));
    ImageSpec.Debian otherMirror =
        new ImageSpec.Debian(
            debian.suite(),
            "http://example.invalid/debian",
            debian.variant(),
            debian.packages(),
            debian.pathExclude(),
            debian.pathInclude());
    assertNotEquals(BaseTreeCache.key(debian), BaseTreeCache.key(otherMirror));
    ImageSpec.Debian otherSuite =
        new ImageSpec.Debian(
            debian.suite().equals("trixie") ? "bookworm" : "trixie",
            debian.mirror(),
            debian.variant(),
            debian.packages(),
            debian.pathExclude(),
            debian.pathInclude());
    assertNotEquals(BaseTreeCache.key(debian), BaseTreeCache.key(otherSuite));
    List<String> more = new ArrayList<>(debian.packages());
    more.add("htop");
    ImageSpec.Debian morePkgs =
        new ImageSpec.Debian(
            debian.suite(),
            debian.mirror(),
            debian.variant(),
            more,
            debian.pathExclude(),
            debian.pathInclude());
    assertNotEquals(BaseTreeCache.key(debian), BaseTreeCache.key(morePkgs));
  }

  @Test
  void defaultRootFollowsXdgCacheHome() {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path home = fs.getPath("/home/u");
      assertEquals(
          fs.getPath("/home/u/.cache/basalt/base"), BaseTreeCache.defaultRoot(Map.of(), home));
      assertEquals(
          fs.getPath("/x/basalt/base"),
          BaseTreeCache.defaultRoot(Map.of("XDG_CACHE_HOME", "/x"), home));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void mmdebstrapCommandCarriesTheInputs() {
    List<String> cmd = new MmdebstrapRunner().command(debian, Path.of("/tmp/x.tar"));
    assertEquals("mmdebstrap", cmd.get(0));
    assertTrue(cmd.contains("--format=tar"));
    assertTrue(cmd.contains("--variant=essential"));
    assertEquals("trixie", debian.suite());
    assertEquals("trixie", cmd.get(cmd.size() - 3));
    assertTrue(cmd.get(cmd.size() - 1).equals("http://deb.debian.org/debian"));
    assertTrue(
        cmd.stream().anyMatch(s -> s.startsWith("--include=") && s.contains("linux-image-amd64")));
  }

  private static List<String> reversed(List<String> l) {
    List<String> r = new ArrayList<>(l);
    java.util.Collections.reverse(r);
    return r;
  }
}
