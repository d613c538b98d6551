package io.basalt.image.usr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.tree.EntryType;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class InitUnitsResourcesTest {

  @Test
  void installsUnitsScriptsAndEnablingLinks() throws IOException {
    FileTree t = InitUnitsResources.addTo(FileTree.builder(), 42).build();
    TreeEntry marker = t.get("/usr/lib/systemd/system/basalt-boot-marker.service");
    assertNotNull(marker);
    assertEquals(0644, marker.mode());
    assertEquals(42, marker.mtime());
    String unit;
    try (InputStream in = marker.content().open()) {
      unit = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(unit.contains("ExecStart=/usr/lib/basalt/boot-marker"), unit);
    assertEquals(0755, t.get("/usr/lib/basalt/boot-marker").mode());
    TreeEntry wants =
        t.get("/usr/lib/systemd/system/multi-user.target.wants/basalt-boot-marker.service");
    assertEquals(EntryType.SYMLINK, wants.type());
    assertEquals("../basalt-boot-marker.service", wants.linkTarget());
    assertNotNull(
        t.get("/usr/lib/systemd/system/boot-complete.target.requires/basalt-boot-check.service"));
    // Every link names a unit shipped here or by systemd itself.
    t.stream()
        .filter(e -> e.type() == EntryType.SYMLINK && e.linkTarget().startsWith("../basalt"))
        .forEach(
            e ->
                assertNotNull(
                    t.get("/usr/lib/systemd/system/" + e.linkTarget().substring(3)), e.path()));
  }
}
