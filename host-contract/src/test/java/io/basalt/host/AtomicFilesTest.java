package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AtomicFilesTest {
  private final FileSystem fs =
      Jimfs.newFileSystem(
          Configuration.unix().toBuilder().setAttributeViews("basic", "posix").build());

  @AfterEach
  void close() throws IOException {
    fs.close();
  }

  @Test
  void writeCreatesParentsAndReplacesContent() throws IOException {
    Path f = fs.getPath("/var/lib/basalt/state.json");
    AtomicFiles.write(f, "one".getBytes(StandardCharsets.UTF_8));
    AtomicFiles.write(f, "two".getBytes(StandardCharsets.UTF_8));
    assertEquals("two", Files.readString(f));
    assertEquals(List.of("state.json"), names(f.getParent()));
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
  }

  @Test
  void failedContentLeavesTargetAndNoTempFile() throws IOException {
    Path f = fs.getPath("/etc/basalt/update.conf");
    AtomicFiles.write(f, "old".getBytes(StandardCharsets.UTF_8));
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                AtomicFiles.write(
                    f,
                    tmp -> {
                      Files.writeString(tmp, "half");
                      throw new IOException("disk full");
                    }));
    assertEquals("disk full", e.getMessage());
    assertEquals("old", Files.readString(f));
    assertEquals(List.of("update.conf"), names(f.getParent()));
  }

  @Test
  void copyAndWriteOutputReturnResult() throws IOException {
    Path src = fs.getPath("/src.bin");
    Files.write(src, new byte[] {1, 2, 3});
    Path dst = fs.getPath("/efi/basalt/A/vmlinuz");
    AtomicFiles.copy(src, dst);
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(dst));
    long n =
        AtomicFiles.writeOutput(
            fs.getPath("out.img"),
            tmp -> {
              Files.write(tmp, new byte[7]);
              return Files.size(tmp);
            });
    assertEquals(7, n);
    assertEquals(7, Files.size(fs.getPath("out.img")));
  }

  @Test
  void renameReplacesTarget() throws IOException {
    Path a = fs.getPath("/d/a.partial");
    Path b = fs.getPath("/d/a");
    Files.createDirectories(a.getParent());
    Files.writeString(a, "new");
    Files.writeString(b, "old");
    AtomicFiles.rename(a, b);
    assertEquals("new", Files.readString(b));
    assertEquals(List.of("a"), names(b.getParent()));
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
