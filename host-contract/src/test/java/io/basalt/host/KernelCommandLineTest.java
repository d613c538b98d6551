package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KernelCommandLineTest {
  @Test
  void slotArgumentsInContractOrder() {
    Map<String, String> a = KernelCommandLine.slotArguments("1b2c", "ab12", 4096, "A", "1.0");
    assertEquals(
        List.of(
            "mount.usr=PARTUUID=1b2c",
            "usrhash=ab12",
            "basalt.usr.hashoffset=4096",
            "basalt.slot=A",
            "basalt.version=1.0"),
        words(a));
    Map<String, String> l = KernelCommandLine.liveArguments("ab12", 8192, "1.0");
    assertEquals(
        List.of("basalt.live", "usrhash=ab12", "basalt.usr.hashoffset=8192", "basalt.version=1.0"),
        words(l));
  }

  private static List<String> words(Map<String, String> args) {
    return args.entrySet().stream()
        .map(e -> KernelCommandLine.argument(e.getKey(), e.getValue()))
        .toList();
  }

  @Test
  void parseKeepsOrderAndLastValue() {
    Map<String, String> m =
        KernelCommandLine.parse(" basalt.live  usrhash=1 mount.usr=PARTUUID=x=y usrhash=2\n");
    assertEquals(List.of("basalt.live", "usrhash", "mount.usr"), List.copyOf(m.keySet()));
    assertEquals("", m.get("basalt.live"));
    assertEquals("2", m.get("usrhash"));
    assertEquals("PARTUUID=x=y", m.get("mount.usr"));
  }
}
