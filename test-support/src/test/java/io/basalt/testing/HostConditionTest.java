package io.basalt.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HostConditionTest {
  @QemuLongTest(orWhenSet = "basalt.test.input")
  static final class LongScenario {}

  @EnabledIfHost(
      paths = "/nonexistent/basalt-test",
      filesystems = "basalt-no-such-fs",
      tools = "basalt-no-such-tool",
      reason = "a test of the test")
  static final class NeedsMissingThings {}

  @EnabledIfHost(paths = "/", tools = "sh")
  static final class NeedsWhatEveryHostHas {}

  @AfterEach
  void clearProperties() {
    System.clearProperty(Tiers.QEMU_LONG_PROPERTY);
    System.clearProperty("basalt.test.input");
  }

  @Test
  void longScenarioIsOffUntilItsSwitchOrAnInputIsGiven() {
    QemuLongTest test = LongScenario.class.getAnnotation(QemuLongTest.class);
    assertEquals(
        Optional.of(
            "long QEMU scenario (tier qemu-long): set -Dbasalt.qemu.long=true"
                + " or -Dbasalt.test.input=..."),
        HostCondition.longSwitchOff(test));
    System.setProperty(Tiers.QEMU_LONG_PROPERTY, "true");
    assertEquals(Optional.empty(), HostCondition.longSwitchOff(test));
    System.clearProperty(Tiers.QEMU_LONG_PROPERTY);
    System.setProperty("basalt.test.input", "/some/dir");
    assertEquals(Optional.empty(), HostCondition.longSwitchOff(test));
  }

  @Test
  void missingRequirementsAreNamedInOneReason() {
    EnabledIfHost host = NeedsMissingThings.class.getAnnotation(EnabledIfHost.class);
    assertEquals(
        List.of(
            "needs /nonexistent/basalt-test, basalt-no-such-fs in /proc/filesystems,"
                + " basalt-no-such-tool on PATH (a test of the test)"),
        HostCondition.missingOnHost(host));
  }

  @Test
  void presentRequirementsGiveNoReason() {
    EnabledIfHost host = NeedsWhatEveryHostHas.class.getAnnotation(EnabledIfHost.class);
    assertTrue(HostCondition.missingOnHost(host).isEmpty());
  }
}
