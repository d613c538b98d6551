package io.basalt.image.tree;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class FileTreeTest {

  @Test
  void ordersParentsBeforeChildrenAndSiblingsByUtf8Bytes() {
    FileTree t =
        FileTree.builder()
            .putWithParents(TreeEntry.regular("/a/b", Content.ofBytes(new byte[0])))
            .putWithParents(TreeEntry.regular("/a-b", Content.ofBytes(new byte[0])))
            .putWithParents(TreeEntry.regular("/a/\u00e9", Content.ofBytes(new byte[0])))
            .putWithParents(TreeEntry.regular("/a/Z", Content.ofBytes(new byte[0])))
            .build();
    List<String> order = t.stream().map(TreeEntry::path).collect(Collectors.toList());
    assertEquals(List.of("/", "/a", "/a/Z", "/a/b", "/a/\u00e9", "/a-b"), order);
    assertEquals(
        List.of("/a/Z", "/a/b", "/a/\u00e9"),
        t.children("/a").stream().map(TreeEntry::path).collect(Collectors.toList()));
    assertEquals(
        List.of("/a", "/a-b"),
        t.children("/").stream().map(TreeEntry::path).collect(Collectors.toList()));
  }

  @Test
  void sameEntriesInAnyOrderGiveEqualTrees() {
    TreeEntry d = TreeEntry.directory("/etc").withMode(0700);
    TreeEntry f = TreeEntry.regular("/etc/x", Content.ofBytes("x".getBytes(UTF_8)));
    TreeEntry s = TreeEntry.symlink("/etc/y", "x");
    FileTree one = FileTree.builder().put(d).put(f).put(s).build();
    FileTree two = FileTree.builder().put(s).put(f).put(d).build();
    assertEquals(
        one.stream().map(TreeEntry::path).collect(Collectors.toList()),
        two.stream().map(TreeEntry::path).collect(Collectors.toList()));
  }

  @Test
  void buildRejectsMissingParentNamingTheEntry() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> FileTree.builder().put(TreeEntry.fifo("/run/x/fifo")).build());
    assertTrue(
        e.getMessage().startsWith("/run/x/fifo: parent directory /run/x is missing"),
        e.getMessage());
  }

  @Test
  void buildRejectsHardLinkToNonRegular() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                FileTree.builder()
                    .put(TreeEntry.directory("/d"))
                    .put(TreeEntry.hardlink("/h", "/d"))
                    .build());
    assertTrue(e.getMessage().contains("/h: hard link to /d"), e.getMessage());
  }

  @Test
  void normalisesTarStylePathsAndRejectsDotDot() {
    assertEquals("/usr/bin", TreePaths.normalize("./usr//bin/"));
    assertEquals("/", TreePaths.normalize("./"));
    assertThrows(IllegalArgumentException.class, () -> TreePaths.normalize("/usr/../etc"));
  }

  @Test
  void removeDropsSubtree() {
    FileTree t =
        FileTree.builder()
            .putWithParents(TreeEntry.regular("/a/b/c", Content.ofBytes(new byte[1])))
            .putWithParents(TreeEntry.directory("/ab"))
            .remove("/a")
            .build();
    assertEquals(List.of("/", "/ab"), t.stream().map(TreeEntry::path).collect(Collectors.toList()));
  }

  @Test
  void clampMtimesOnlyLowersLaterTimes() {
    FileTree t =
        FileTree.builder()
            .put(TreeEntry.directory("/old").withMtime(10))
            .put(TreeEntry.directory("/new").withMtime(5000))
            .build()
            .clampMtimes(100);
    assertEquals(10, t.get("/old").mtime());
    assertEquals(100, t.get("/new").mtime());
  }

  @Test
  void xattrsAreCopiedDefensively() {
    byte[] cap = {1, 0, 0, 2};
    TreeEntry e =
        TreeEntry.regular("/bin/ping", Content.ofBytes(new byte[0]))
            .withXattrs(Map.of("security.capability", cap));
    cap[0] = 9;
    e.xattrs().get("security.capability")[1] = 9;
    assertArrayEquals(new byte[] {1, 0, 0, 2}, e.xattrs().get("security.capability"));
  }

  @Test
  void fileContentThatChangesSizeIsReportedWithItsName() throws IOException {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path p = fs.getPath("/src");
      Files.write(p, new byte[100]);
      Content c = Content.ofFile(p);
      Files.write(p, new byte[50]);
      ContentChangedException e =
          assertThrows(
              ContentChangedException.class,
              () -> {
                try (InputStream in = c.open()) {
                  in.readAllBytes();
                }
              });
      assertEquals(100, e.expectedSize());
      assertEquals(50, e.actualSize());
      assertTrue(e.getMessage().startsWith("/src: changed while being read"), e.getMessage());
      Files.write(p, new byte[150]);
      assertThrows(
          ContentChangedException.class,
          () -> {
            try (InputStream in = c.open()) {
              in.readAllBytes();
            }
          });
    }
  }
}
