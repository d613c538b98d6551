package io.basalt.update.install;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code file:} repository URLs (a mirror on a mounted stick): ranges read from the file. */
class HttpRangeSourceFileTest {
  @TempDir Path dir;

  @Test
  void readsAFileFromAnOffset() throws Exception {
    Path f = dir.resolve("targets/chunks/ab/x");
    Files.createDirectories(f.getParent());
    Files.write(f, new byte[] {1, 2, 3, 4, 5});
    HttpRangeSource s = new HttpRangeSource(Duration.ofSeconds(5));
    RangeSource.Opened o = s.open(f.toUri(), 2, Duration.ofSeconds(5));
    assertEquals(2, o.offset());
    try (InputStream in = o.stream()) {
      assertArrayEquals(new byte[] {3, 4, 5}, in.readAllBytes());
    }
    assertThrows(
        NoSuchFileException.class,
        () -> s.open(dir.resolve("nothing").toUri(), 0, Duration.ofSeconds(5)));
  }
}
