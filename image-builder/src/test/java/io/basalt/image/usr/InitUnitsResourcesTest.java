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
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

  /**
   * An etcd member (coreos.etcd2) may bind the address of the machine's own networkd unit, so a
   * failed start is retried; every boot does not wait for networkd's links (Debian enables etcd on
   * every machine); its data stays in /var/lib/etcd on ROOT.
   */
  @Test
  void etcdRetriesAFailedStartAndKeepsItsDataOnRoot() throws IOException {
    FileTree t = InitUnitsResources.addTo(FileTree.builder(), 42).build();
    String network = text(t, "/usr/lib/systemd/system/etcd.service.d/10-basalt-network.conf");
    String settings =
        network.lines().filter(l -> !l.startsWith("#")).reduce("", (a, b) -> a + b + "\n");
    assertTrue(!settings.contains("wait-online") && !settings.contains("network-online"), network);
    assertTrue(network.contains("\nRestart=on-failure\n"), network);
    assertTrue(network.contains("\nStartLimitIntervalSec=0\n"), network);
    String state = text(t, "/usr/lib/systemd/system/etcd.service.d/10-basalt-state.conf");
    assertTrue(state.contains("\nStateDirectory=etcd\n"), state);
    // Debian's etcd.service sets ETCD_DATA_DIR=/var/lib/etcd/default; nothing here moves it off
    // ROOT.
    assertTrue(!network.contains("ETCD_DATA_DIR") && !state.contains("ETCD_DATA_DIR"));
  }

  private static String text(FileTree t, String path) throws IOException {
    TreeEntry e = t.get(path);
    assertNotNull(e, path);
    assertEquals(0644, e.mode());
    try (InputStream in = e.content().open()) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void everyBasaltScriptAUnitRunsIsInstalledExecutable() throws IOException {
    // Scripts directly under /usr/lib/basalt; the Java runtime below it comes from the base tree.
    FileTree t = InitUnitsResources.addTo(FileTree.builder(), 42).build();
    List<String> units =
        t.stream()
            .filter(e -> e.type() == EntryType.REGULAR && e.path().endsWith(".service"))
            .map(TreeEntry::path)
            .toList();
    assertTrue(
        units.contains("/usr/lib/systemd/system/basalt-update-fallback.service"), "" + units);
    for (String u : units) {
      String text;
      try (InputStream in = t.get(u).content().open()) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      Matcher m =
          Pattern.compile("(?m)^Exec\\w+=[-@:+!]*(/usr/lib/basalt/[^ /\\n]+)(?=\\s|$)")
              .matcher(text);
      while (m.find()) {
        TreeEntry script = t.get(m.group(1));
        assertNotNull(script, u + " runs " + m.group(1) + ", which init-units does not install");
        assertEquals(0755, script.mode(), m.group(1));
      }
    }
    String fallback;
    try (InputStream in =
        t.get("/usr/lib/systemd/system/basalt-update-fallback.service").content().open()) {
      fallback = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(fallback.contains("ExecStart=/usr/lib/basalt/boot-fallback\n"), fallback);
  }
}
