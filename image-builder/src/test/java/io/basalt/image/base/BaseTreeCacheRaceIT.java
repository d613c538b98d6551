package io.basalt.image.base;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.spec.ImageSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two builds bootstrapping the same base tree at once, on the host's file system: the second to
 * finish finds the first one's entry in place, where rename(2) fails with ENOTEMPTY (which the JDK
 * reports as a plain FileSystemException, not DirectoryNotEmptyException), and uses it.
 */
class BaseTreeCacheRaceIT {
  @TempDir Path tmp;

  @Test
  void theSecondBuildToFinishUsesTheFirstOnesEntry() throws Exception {
    ImageSpec.Debian debian = ImageSpec.loadDefault().debian();
    Path root = tmp.resolve("base");
    Path winner = root.resolve(BaseTreeCache.key(debian));
    BootstrapRunner runner =
        (d, tar, log) -> {
          Files.write(tar, new byte[] {2});
          // Meanwhile another build finished the same key.
          Files.createDirectories(winner);
          Files.write(winner.resolve(BaseTreeCache.TAR), new byte[] {1});
          Files.writeString(winner.resolve(BaseTreeCache.INPUTS), "the other build's\n");
        };
    List<String> log = new ArrayList<>();
    BaseTreeCache.Entry e = new BaseTreeCache(root, runner).get(debian, log::add);
    assertEquals(winner.resolve(BaseTreeCache.TAR), e.tar());
    assertFalse(e.cached());
    assertArrayEquals(new byte[] {1}, Files.readAllBytes(e.tar()), "the first build's tree");
    assertTrue(log.contains("another build cached " + winner.getFileName() + " first; using it"));
    try (var s = Files.list(root)) {
      assertEquals(List.of(winner), s.toList(), "no partial folder left behind");
    }
  }
}
