package io.basalt.host;

import io.basalt.testing.PackageCycles;
import org.junit.jupiter.api.Test;

/** Fails the build when two packages of this module's main code depend on each other. */
class PackageCyclesTest {
  @Test
  void packagesAreFreeOfCycles() {
    PackageCycles.assertFree("io.basalt.host");
  }
}
