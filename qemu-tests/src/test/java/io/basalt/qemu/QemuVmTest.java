package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The network rules {@link QemuVm#start} enforces before QEMU runs (no QEMU is started). */
class QemuVmTest {
  @TempDir Path dir;

  @Test
  void networksThatCouldLeaveLoopbackAreRefusedBeforeQemuStarts() {
    for (String netdev :
        List.of(
            "user,id=n0",
            "stream,id=lan,addr.type=inet,addr.host=10.1.2.3,addr.port=1234",
            "stream,id=lan,server=off",
            "dgram,id=lan,local.type=unix,local.path=/tmp/a,remote.type=inet,remote.host=1.2.3.4",
            "socket,id=lan,connect=127.0.0.1:1234")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> QemuVm.start("t", List.of("-netdev", netdev), dir.resolve("t.log")),
              netdev);
      assertTrue(e.getMessage().contains(netdev), e.getMessage());
    }
  }

  @Test
  void tcgByDefaultTheCallersTcgOptionsWhenGivenAndNoOtherAccelerator() {
    List<String> plain = QemuVm.command(List.of("-m", "1G"));
    assertEquals(List.of("-accel", "tcg"), plain.subList(1, 3));
    List<String> single = QemuVm.command(List.of("-accel", "tcg,thread=single", "-m", "1G"));
    assertEquals(1, single.stream().filter("-accel"::equals).count(), single.toString());
    assertTrue(single.contains("tcg,thread=single"), single.toString());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> QemuVm.command(List.of("-accel", "kvm")));
    assertTrue(e.getMessage().contains("kvm"), e.getMessage());
  }
}
