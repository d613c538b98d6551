package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class BootEntryTest {
  @Test
  void freshEntryNameAndText() {
    BootEntry e = BootEntry.fresh("1.2.0-rc.1", "B");
    assertEquals("basalt-1.2.0-rc.1-B+3.conf", e.fileName());
    assertEquals(
        "title Basalt 1.2.0-rc.1 (B)\nversion 1.2.0-rc.1\nlinux /basalt/B/vmlinuz\n"
            + "initrd /basalt/B/initramfs\noptions usrhash=ab\n",
        e.text("usrhash=ab"));
    assertEquals(Optional.of("usrhash=ab"), BootEntry.options(e.text("usrhash=ab")));
    assertEquals(Optional.empty(), BootEntry.options("title x\r\n"));
  }

  @Test
  void parseRoundTripsEveryCounterForm() {
    for (String n :
        new String[] {
          "basalt-1.0.0-A.conf", "basalt-1.0.0-A+2.conf", "basalt-2.0.0-rc.1-B+0-3.conf"
        }) {
      assertEquals(n, BootEntry.parse(n).orElseThrow().fileName());
    }
    BootEntry bad = BootEntry.parse("basalt-2.0.0-rc.1-B+0-3.conf").orElseThrow();
    assertEquals("2.0.0-rc.1", bad.version());
    assertFalse(bad.bootable());
    assertTrue(BootEntry.parse("basalt-1.0.0-A.conf").orElseThrow().blessed());
    assertTrue(BootEntry.parse("other.conf").isEmpty());
    assertTrue(BootEntry.parse("basalt-1.0.0-C+3.conf").isEmpty());
  }

  @Test
  void markedBadKeepsTheCount() {
    assertEquals("basalt-1-A+0-3.conf", BootEntry.fresh("1", "A").markedBad().fileName());
    assertEquals("basalt-1-A+0-1.conf", new BootEntry("1", "A", null, null).markedBad().fileName());
    assertEquals("basalt-1-A+0-3.conf", new BootEntry("1", "A", 1, 2).markedBad().fileName());
  }

  @Test
  void slotMustBeAOrB() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BootEntry.fresh("1", "C"));
    assertEquals("slot must be A or B, found C", e.getMessage());
  }
}
